/**
 * What file storage remembers about the live log without holding its entries (the core holds
 * them): each live entry's term and the bytes of its record, so it can follow truncations and
 * compactions exactly as a replay of the file would, and say how many bytes are live.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { MAX_LIVE_ENTRIES } from "./log_file.ts";

/** Terms and record sizes of the live entries `compactedIndex + 1 … lastIndex`. */
export class EntrySizes {
  #compactedIndex: number;
  #compactedTerm: number;
  /** Slots before `#head` are dropped; they are reclaimed once they are half the arrays. */
  #terms: number[] = [];
  #sizes: number[] = [];
  #head = 0;
  #totalBytes = 0;

  /** Starts after a snapshot at `compactedIndex` (0 for none) whose last entry has that term. */
  constructor(compactedIndex: number, compactedTerm: number) {
    this.#compactedIndex = compactedIndex;
    this.#compactedTerm = compactedTerm;
  }

  /** The last index a snapshot covers. */
  get compactedIndex(): number {
    return this.#compactedIndex;
  }

  /** Live entries. */
  get count(): number {
    return this.#terms.length - this.#head;
  }

  /** Index of the last entry, or the compacted index when there is none. */
  get lastIndex(): number {
    return this.#compactedIndex + this.count;
  }

  /** Bytes of the live entries' records. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Adds the next entry. */
  push(term: number, recordBytes: number): void {
    assert(this.count < MAX_LIVE_ENTRIES, `Cannot hold more than ${MAX_LIVE_ENTRIES} live entries`);
    this.#terms.push(term);
    this.#sizes.push(recordBytes);
    this.#totalBytes += recordBytes;
  }

  /** Drops every entry above `index`. */
  truncateAfter(index: number): void {
    assert(
      index >= this.#compactedIndex,
      `Cannot truncate after entry ${index}: entries up to ${this.#compactedIndex} are compacted`,
    );
    const keep = this.#head + Math.min(this.count, index - this.#compactedIndex);
    for (let slot = keep; slot < this.#sizes.length; slot++) this.#totalBytes -= this.#sizes[slot];
    this.#terms.length = keep;
    this.#sizes.length = keep;
  }

  /**
   * Records a durable snapshot up to `index` with `term`: entries up to it go, and so does
   * every entry after it unless the entry at `index` has `term` (as a replay does).
   */
  compact(index: number, term: number): void {
    assert(
      index >= this.#compactedIndex,
      `Cannot compact to entry ${index}: entries up to ${this.#compactedIndex} are compacted`,
    );
    const position = index - this.#compactedIndex - 1;
    const leadingTerm = position < 0
      ? this.#compactedTerm
      : position < this.count
      ? this.#terms[this.#head + position]
      : undefined;
    const drop = leadingTerm === term ? Math.max(0, position + 1) : this.count;
    for (let slot = this.#head; slot < this.#head + drop; slot++) {
      this.#totalBytes -= this.#sizes[slot];
    }
    this.#head += drop;
    this.#compactedIndex = index;
    this.#compactedTerm = term;
    if (this.#head > this.#terms.length / 2) {
      this.#terms = this.#terms.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
  }
}
