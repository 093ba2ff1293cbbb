/**
 * The lab's `nocrash`: the crash application's output without the crashes, the reference the
 * crash test compares against.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";
import { crashMap, crashReduce } from "./crash_output.ts";

/** Four pairs describing the file; see `crash_output.ts`. */
export function map(filename: string, contents: string): KeyValue[] {
  return crashMap(filename, contents);
}

/** The values sorted and joined by spaces. */
export function reduce(_key: string, values: string[]): string {
  return crashReduce(values);
}
