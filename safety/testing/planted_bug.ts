/**
 * The check every planted-bug test makes: a seed runs clean with the real core and breaks an
 * invariant with the bug planted.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import { runSafetySimulation, type SafetySimulationOptions } from "../simulation.ts";
import { mutantCore, type Mutation } from "./mutant_core.ts";

/** A simulation run of a planted-bug test: its seed, profile and trace length. */
export type PlantedRun = Omit<SafetySimulationOptions, "createCore">;

/**
 * Runs `given` with the real core, then with `mutations` made, and returns the first violation;
 * fails when the real core breaks an invariant or the mutant does not. New leaders append no
 * entry of their own unless the profile says so, as when the pinned seeds were found.
 */
export async function firstViolation(
  given: PlantedRun,
  mutations: readonly Mutation[],
): Promise<string> {
  const run = { ...given, profile: { noOpOnElection: false, ...given.profile } };
  const real = runSafetySimulation(run).violations;
  assert(real.length === 0, `Seed ${run.seed} breaks the real core: ${real[0]}`);
  const Mutant = await mutantCore(mutations);
  const { violations } = runSafetySimulation({
    ...run,
    createCore: (config) => new Mutant(config),
  });
  assert(violations.length > 0, `Seed ${run.seed} did not catch the planted bug`);
  return violations[0];
}
