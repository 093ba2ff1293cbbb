/**
 * The lab's inverted index: for each word, how many documents contain it and which, as
 * `count doc1,doc2,…` with the names sorted. A document larger than the split size reaches map
 * in several pieces, each naming the document, so reduce counts each document once.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";

const WORD_PATTERN = /\p{L}+/gu;

/** Emits `(word, document)` once for each distinct word of the document. */
export function map(document: string, contents: string): KeyValue[] {
  const words = new Set(contents.match(WORD_PATTERN) ?? []);
  return [...words].map((word) => ({ key: word, value: document }));
}

/** `count doc1,doc2,…` over the distinct documents that contain the word, sorted by name. */
export function reduce(_key: string, values: string[]): string {
  const documents = [...new Set(values)].sort();
  return `${documents.length} ${documents.join(",")}`;
}
