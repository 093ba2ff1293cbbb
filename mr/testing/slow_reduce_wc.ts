/**
 * Word count whose first reduce call in a process can be held up, for tests that need a worker
 * stuck in a reduce: with `DSYS_TEST_REDUCE_MARKER` set, that call creates the marker file (so
 * the test knows the worker has taken a reduce, and so that every map is done) and then waits
 * `DSYS_TEST_REDUCE_DELAY_MS`. Without the variables it is plain word count.
 *
 * @module
 */
import type { KeyValue } from "../../apps/app.ts";
import { map as wcMap, reduce as wcReduce } from "../../apps/wc.ts";

let held = false;

/** Word count's map. */
export function map(filename: string, contents: string): KeyValue[] {
  return wcMap(filename, contents);
}

/** Word count's reduce, the process's first call held up when asked. */
export async function reduce(key: string, values: string[]): Promise<string> {
  const marker = Deno.env.get("DSYS_TEST_REDUCE_MARKER");
  if (marker !== undefined && !held) {
    held = true;
    await Deno.writeTextFile(marker, `${Deno.pid}\n`);
    const delayMs = Number(Deno.env.get("DSYS_TEST_REDUCE_DELAY_MS") ?? "60000");
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  return wcReduce(key, values);
}
