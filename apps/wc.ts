/**
 * Word count, the lab's `wc`: a word is a maximal run of letters (Unicode category L, as Go's
 * `unicode.IsLetter`); the output is each word and how many times it occurs.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";

const WORD_PATTERN = /\p{L}+/gu;

/** Emits `(word, "1")` for every word of `contents`; the file name plays no part. */
export function map(_filename: string, contents: string): KeyValue[] {
  const words = contents.match(WORD_PATTERN) ?? [];
  return words.map((word) => ({ key: word, value: "1" }));
}

/** The number of occurrences of the word. */
export function reduce(_key: string, values: string[]): string {
  return String(values.length);
}
