/**
 * What the simulated lab harnesses (Raft and key/value) share: the lab's failure type, its
 * per-test time limit, and the way one test runs on a fresh simulation from its seed.
 *
 * @module
 */
import { errorText } from "../util/error_text.ts";
import { Simulation } from "../sim/simulation.ts";
import type { TestContext } from "./suite.ts";

/** Every test must finish within this much (virtual) time, as in the lab. */
export const TEST_TIME_LIMIT_MS = 120_000;
/** Virtual time a run may take before the simulation gives up on it (past the lab's limit). */
const RUN_LIMIT_MS = TEST_TIME_LIMIT_MS + 10_000;

/** A lab failure: the test stops with the lab's message. */
export class LabFailure extends Error {
  /** Creates the failure with the lab's message. */
  constructor(message: string) {
    super(message);
    this.name = "LabFailure";
  }
}

/** A harness configuration that can release everything it started. */
export interface LabConfig {
  /** Kills every server and shuts the network; called however the test ends. */
  cleanup(): void;
}

/**
 * Runs one lab test: a fresh simulation from the context's seed, the configuration `makeConfig`
 * builds on it, and `body` on virtual time; cleans up whatever happens. A failure carries the
 * seed, the virtual time and the trace hash, so a replay with the same seed can be confirmed.
 */
export async function runOnSimulation<Config extends LabConfig>(
  context: TestContext,
  makeConfig: (simulation: Simulation) => Config,
  body: (config: Config) => Promise<void>,
): Promise<void> {
  const simulation = new Simulation(context.seed);
  simulation.recorder = context.recorder ?? null;
  try {
    await simulation.run(async () => {
      const config = makeConfig(simulation);
      try {
        await body(config);
      } finally {
        config.cleanup();
      }
    }, { maxVirtualMs: RUN_LIMIT_MS });
  } catch (error) {
    const where = `at ${
      simulation.now().toFixed(1)
    } virtual ms, seed ${context.seed}, trace ${simulation.traceHash()}`;
    context.recorder?.failed(simulation.now(), errorText(error));
    throw new LabFailure(`${errorText(error)} (${where})`);
  }
}
