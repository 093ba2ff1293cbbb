/**
 * Recognises written values that can be told apart inside any concatenation of them, as test
 * clients usually write them (`x 3 17 y`, `[3.17]`): every non-empty value starts with a marker
 * character that occurs nowhere else in any value, values are distinct, and none is a prefix of
 * another. Then a value read splits at the markers into exactly the non-empty values it is made
 * of, so whether a write's effect is in a read value can be answered by looking, not by
 * searching. Empty values (a put of "" to start a key) are allowed and never found.
 *
 * @module
 */

/** Tells which writes a read value is made of, for values that have markers. */
export class TokenIndex {
  readonly #writerOf: Map<string, number>;
  readonly #markers: Set<number>;

  private constructor(writerOf: Map<string, number>, markers: Set<number>) {
    this.#writerOf = writerOf;
    this.#markers = markers;
  }

  /**
   * Builds the index of the written values (`values[i]` is what operation `i` wrote, or null
   * for a read); null unless the values have markers as described in the module comment.
   */
  static build(values: readonly (string | null)[]): TokenIndex | null {
    const writerOf = new Map<string, number>();
    const markers = new Set<number>();
    for (let operation = 0; operation < values.length; operation++) {
      const value = values[operation];
      if (value === null || value.length === 0) continue;
      if (writerOf.has(value)) return null;
      writerOf.set(value, operation);
      markers.add(value.charCodeAt(0));
    }
    for (const value of writerOf.keys()) {
      for (let index = 1; index < value.length; index++) {
        if (markers.has(value.charCodeAt(index))) return null;
      }
    }
    // In sorted order a value is followed by the values it is a prefix of, if any.
    const sorted = [...writerOf.keys()].sort();
    for (let index = 1; index < sorted.length; index++) {
      if (sorted[index].startsWith(sorted[index - 1])) return null;
    }
    return new TokenIndex(writerOf, markers);
  }

  /** The operations whose value occurs in `text` between markers (or at its end). */
  writersIn(text: string): Set<number> {
    const writers = new Set<number>();
    this.forEachWriterIn(text, 0, (writer) => writers.add(writer));
    return writers;
  }

  /**
   * Calls `found` with each operation whose value occurs in `text` from `start` on, which must
   * be 0 or the position of a marker.
   */
  forEachWriterIn(text: string, start: number, found: (writer: number) => void): void {
    let pieceStart = -1;
    for (let index = start; index <= text.length; index++) {
      if (index < text.length && !this.#markers.has(text.charCodeAt(index))) continue;
      if (pieceStart !== -1) {
        const writer = this.#writerOf.get(text.slice(pieceStart, index));
        if (writer !== undefined) found(writer);
      }
      pieceStart = index;
    }
  }

  /** The operation whose value `text` starts with (up to the next marker), or -1. */
  firstWriterIn(text: string): number {
    if (text.length === 0 || !this.#markers.has(text.charCodeAt(0))) return -1;
    let end = 1;
    while (end < text.length && !this.#markers.has(text.charCodeAt(end))) end++;
    return this.#writerOf.get(text.slice(0, end)) ?? -1;
  }

  /** Whether `index` is the position of a marker in `text`. */
  isMarkerAt(text: string, index: number): boolean {
    return index < text.length && this.#markers.has(text.charCodeAt(index));
  }
}
