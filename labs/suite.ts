/**
 * The shape every ported lab suite takes, so that one test body serves both `deno test` (each
 * `*_test.ts` registers the suite's tests) and `dsys test` (which runs them from the single
 * program, with `--run`, `--count`, `--seed` and `--parallel`).
 *
 * @module
 */
import type { SimRecorder } from "../sim/recorder.ts";

/** What a test is given when it runs. */
export interface TestContext {
  /** The seed of this run; simulated tests derive every random choice from it. */
  readonly seed: number;
  /** Prints one line of the test's own output (the lab's result line, for instance). */
  log(line: string): void;
  /** Hears the run's simulation when it is traced (`dsys test --trace`); absent otherwise. */
  readonly recorder?: SimRecorder;
}

/** One test of a lab suite. */
export interface LabTest {
  /** The lab's name for the test, for example `initial election`. */
  readonly name: string;
  /** The lab's part, for example `2A`; empty for MapReduce. */
  readonly part: string;
  /** Runs the test; rejects (with a message that says what went wrong) when it fails. */
  run(context: TestContext): Promise<void>;
}

/** The full label of a test, as the lab prints it: `Test (2A): initial election`. */
export function testLabel(test: LabTest): string {
  return test.part === "" ? `Test: ${test.name}` : `Test (${test.part}): ${test.name}`;
}
