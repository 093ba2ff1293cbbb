/**
 * The lab's early-exit probe: one key per input file, and reduce takes 3 s for files whose name
 * contains "sherlock" or "tom", so a worker or coordinator that exits while a reduce is still
 * running leaves an output that changes afterwards.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";

const SLOW_REDUCE_MS = 3000;

/** Emits `(filename, "1")`. */
export function map(filename: string, _contents: string): KeyValue[] {
  return [{ key: filename, value: "1" }];
}

/** The number of values, after a 3 s pause for the slow keys. */
export async function reduce(key: string, values: string[]): Promise<string> {
  if (key.includes("sherlock") || key.includes("tom")) {
    await new Promise((resolve) => setTimeout(resolve, SLOW_REDUCE_MS));
  }
  return String(values.length);
}
