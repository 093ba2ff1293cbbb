/**
 * The lab's job counter: every map call leaves a marker file `mr-worker-jobcount-<pid>-<n>` and
 * takes 2–5 s; reduce counts the markers, so the output is the number of map calls that ran —
 * more than the number of input files means a task ran twice without a failure.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";

const MARKER_PREFIX = "mr-worker-jobcount";
/** More entries than any job makes; a folder beyond this is not one we made. */
const MAX_FOLDER_ENTRIES = 1_000_000;

let mapCallCount = 0;

/** Leaves a marker for this call, sleeps 2–5 s and emits `("a", "x")`. */
export async function map(_filename: string, _contents: string): Promise<KeyValue[]> {
  const markerName = `${MARKER_PREFIX}-${Deno.pid}-${mapCallCount}`;
  mapCallCount++;
  await Deno.writeTextFile(markerName, "x");
  const delayMs = 2000 + Math.floor(Math.random() * 3000);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  return [{ key: "a", value: "x" }];
}

/** The number of map calls, counted from the markers in the current folder. */
export async function reduce(_key: string, _values: string[]): Promise<string> {
  let markers = 0;
  let seen = 0;
  for await (const entry of Deno.readDir(".")) {
    seen++;
    if (seen > MAX_FOLDER_ENTRIES) {
      throw new Error(`Cannot count job markers: over ${MAX_FOLDER_ENTRIES} files here`);
    }
    if (entry.name.startsWith(MARKER_PREFIX)) markers++;
  }
  return String(markers);
}
