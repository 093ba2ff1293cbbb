/**
 * The appends a leader has sent to one follower in the replicate state and not yet seen
 * acknowledged: a bounded window, by count and by bytes, so pipelining cannot flood a slow
 * follower or the network.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/**
 * A first-in, first-out window of appends in flight, each remembered by the last index it
 * carried and its estimated bytes.
 *
 * Invariants: the last indexes increase from the oldest append to the newest; at most
 * `countMax` appends are held; `bytes` is the sum of their sizes. The window is full at
 * `countMax` appends or at `bytesMax` bytes: an append is admitted while the window is not
 * full, so a single append larger than `bytesMax` still goes out alone (the caller caps each
 * append's bytes separately).
 */
export class Inflights {
  readonly #countMax: number;
  readonly #bytesMax: number;
  /** Ring buffer of last indexes and sizes; `#start` is the oldest. */
  readonly #lastIndexes: number[];
  readonly #sizes: number[];
  #start = 0;
  #count = 0;
  #bytes = 0;

  /** An empty window admitting up to `countMax` appends and about `bytesMax` bytes. */
  constructor(countMax: number, bytesMax: number) {
    assert(
      Number.isSafeInteger(countMax) && countMax > 0,
      `An inflight window of ${countMax} appends is not a positive whole number`,
    );
    assert(
      Number.isSafeInteger(bytesMax) && bytesMax > 0,
      `An inflight window of ${bytesMax} bytes is not a positive whole number`,
    );
    this.#countMax = countMax;
    this.#bytesMax = bytesMax;
    this.#lastIndexes = new Array(countMax).fill(0);
    this.#sizes = new Array(countMax).fill(0);
  }

  /** Appends in flight. */
  get count(): number {
    return this.#count;
  }

  /** Estimated bytes in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The last index of the newest append in flight, or 0 when none is. */
  get lastIndex(): number {
    if (this.#count === 0) return 0;
    return this.#lastIndexes[(this.#start + this.#count - 1) % this.#countMax];
  }

  /** Whether no further append may be sent until some are acknowledged. */
  full(): boolean {
    return this.#count === this.#countMax || this.#bytes >= this.#bytesMax;
  }

  /** Records an append carrying entries up to `lastIndex`, of about `sizeBytes` bytes. */
  add(lastIndex: number, sizeBytes: number): void {
    assert(!this.full(), `Cannot send an append up to entry ${lastIndex}: the window is full`);
    assert(
      lastIndex > this.lastIndex,
      `Cannot send an append up to entry ${lastIndex}: appends up to ${this.lastIndex} are in flight`,
    );
    assert(sizeBytes >= 0, `An append of ${sizeBytes} bytes has no size`);
    const slot = (this.#start + this.#count) % this.#countMax;
    this.#lastIndexes[slot] = lastIndex;
    this.#sizes[slot] = sizeBytes;
    this.#count++;
    this.#bytes += sizeBytes;
  }

  /** Forgets every append whose entries all lie at or below `index` (they were acknowledged). */
  freeUpTo(index: number): void {
    // Bounded by countMax.
    while (this.#count > 0 && this.#lastIndexes[this.#start] <= index) {
      this.#bytes -= this.#sizes[this.#start];
      this.#start = (this.#start + 1) % this.#countMax;
      this.#count--;
    }
    if (this.#count === 0) this.#start = 0;
    assert(this.#bytes >= 0, `The window counts ${this.#bytes} bytes in flight`);
  }

  /** Forgets everything in flight. */
  reset(): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}
