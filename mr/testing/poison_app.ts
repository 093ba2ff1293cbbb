/**
 * A test application with a bad record: word count (as `wc`), except that map throws on any
 * text holding {@linkcode POISON_MARKER}, as an application meeting a malformed line would.
 * Workers load it by path (`dsys worker mr/testing/poison_app.ts`).
 *
 * @module
 */
import type { KeyValue } from "../../apps/app.ts";
import { map as countWords, reduce as countValues } from "../../apps/wc.ts";

/** The text that makes map throw; tests put it on a line of its own. */
export const POISON_MARKER = "<<poisoned record>>";

/** `wc`'s map, throwing on text that holds {@linkcode POISON_MARKER}. */
export function map(filename: string, contents: string): KeyValue[] {
  if (contents.includes(POISON_MARKER)) throw new Error(`poisoned record in ${filename}`);
  return countWords(filename, contents);
}

/** `wc`'s reduce. */
export const reduce = countValues;
