/**
 * One lab test run with a {@linkcode TraceRecorder} attached, written out as a timeline page:
 * what `dsys test --trace FILE.html` does, and what the runner does for a failing run (replaying
 * its seed, which gives the same run, now recorded).
 *
 * @module
 */
import { errorText } from "../util/error_text.ts";
import type { LabTest } from "../labs/suite.ts";
import { TraceRecorder } from "./trace_recorder.ts";
import { tracePage } from "./page.ts";

/** What a traced run produced. */
export interface TracedRun {
  /** Whether the test passed. */
  readonly passed: boolean;
  /** The failure's text; empty when the test passed. */
  readonly failure: string;
  /** Rows the page holds. */
  readonly rows: number;
}

/**
 * Runs `test` at `seed` with a recorder, writes its page to `path` (with `title` and `replay` on
 * it) and says how it went; the test's own lines go to `log`.
 */
export async function runTraced(
  test: LabTest,
  seed: number,
  header: { readonly title: string; readonly replay: string },
  path: string,
  log: (line: string) => void,
): Promise<TracedRun> {
  const recorder = new TraceRecorder();
  let failure = "";
  try {
    await test.run({ seed, log, recorder });
  } catch (error) {
    failure = errorText(error);
  }
  const data = recorder.data({ ...header, seed });
  // A test that is not run on the simulation (or fails outside it) still shows its failure.
  const withFailure = failure !== "" && data.failure === null
    ? { ...data, failure: { atMs: lastRowMs(data.rows), message: failure } }
    : data;
  await Deno.writeTextFile(path, tracePage(withFailure));
  return { passed: failure === "", failure, rows: data.rows.length };
}

function lastRowMs(rows: readonly { 1: number }[]): number {
  return rows.length === 0 ? 0 : rows[rows.length - 1][1];
}
