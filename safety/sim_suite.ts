/**
 * `dsys test sim`: the randomized safety simulation of the Raft core as a lab suite. Each run
 * of its one test simulates one random group for the run's seed, so `dsys test sim --count
 * 10000 --parallel 2` explores 10,000 seeds and `--seed S` replays seed S exactly.
 *
 * @module
 */
import { runSafetySimulation } from "./mod.ts";
import type { LabTest, TestContext } from "../labs/suite.ts";

/**
 * Simulates one random group for `context.seed` and rejects with every broken invariant (each
 * naming the seed, the event number and the last events before it).
 */
export function checkSeed(context: Pick<TestContext, "seed" | "recorder">): void {
  const { violations } = runSafetySimulation({ seed: context.seed, recorder: context.recorder });
  if (violations.length > 0) throw new Error(violations.join("\n\n"));
}

/** The sim suite: one test, one random group per seed. */
export const simSuite: readonly LabTest[] = [
  {
    name: "Raft core keeps its invariants in a random group under random faults",
    part: "sim",
    run(context: TestContext): Promise<void> {
      checkSeed(context);
      return Promise.resolve();
    },
  },
];
