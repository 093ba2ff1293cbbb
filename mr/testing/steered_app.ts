/**
 * A word count whose map a test can steer per worker process through environment variables,
 * so that one worker of a job behaves differently from the others:
 *
 * - `DSYS_TEST_MAP_DELAY_MS`: every map call first sleeps this long (a straggler);
 * - `DSYS_TEST_MAP_MARKERS`: every map call first leaves an empty file `<pid> <input name>`
 *   (URI-encoded) in this folder, so a test sees who mapped what, and when mapping began;
 * - `DSYS_TEST_MAP_GATE`: a map of an input whose name contains `gated` waits until this file
 *   exists, so a test can hold a job in the middle.
 *
 * Without them it is plain word count, which is what `dsys sequential` runs for the reference.
 *
 * @module
 */
import type { KeyValue } from "../../apps/app.ts";
import { map as countWords, reduce as sumWords } from "../../apps/wc.ts";

/** How often a gated map looks for its gate. */
const GATE_POLL_MS = 20;
/** Longest a gated map waits; a test that never opens the gate fails rather than hangs. */
const GATE_WAIT_MAX_MS = 60_000;

function pause(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

async function waitForGate(path: string): Promise<void> {
  for (let waitedMs = 0; waitedMs < GATE_WAIT_MAX_MS; waitedMs += GATE_POLL_MS) {
    try {
      await Deno.stat(path);
      return;
    } catch {
      await pause(GATE_POLL_MS);
    }
  }
  throw new Error(`Gate ${path} did not open within ${GATE_WAIT_MAX_MS} ms`);
}

/** Word count's map, after the marker, delay and gate the environment asks for. */
export async function map(filename: string, contents: string): Promise<KeyValue[]> {
  const markers = Deno.env.get("DSYS_TEST_MAP_MARKERS");
  if (markers !== undefined) {
    await Deno.writeTextFile(`${markers}/${Deno.pid} ${encodeURIComponent(filename)}`, "");
  }
  const delayMs = Number(Deno.env.get("DSYS_TEST_MAP_DELAY_MS") ?? "0");
  if (delayMs > 0) await pause(delayMs);
  const gate = Deno.env.get("DSYS_TEST_MAP_GATE");
  if (gate !== undefined && filename.includes("gated")) await waitForGate(gate);
  return countWords(filename, contents);
}

/** Word count's reduce. */
export const reduce: (key: string, values: string[]) => string = sumWords;
