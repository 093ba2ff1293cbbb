/**
 * A fixed-size set of small integers (which operations are linearized so far) that keeps a hash
 * of its contents up to date as bits change. The hash is the exclusive-or of one random 64-bit
 * word (two 32-bit halves) per member (Zobrist hashing), so setting or clearing a bit costs O(1)
 * instead of rehashing every word at each search step.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { SeededRandom } from "../util/random.ts";

/** The seed of the per-member hash words; fixed so that runs are reproducible. */
const ZOBRIST_SEED = 0x5eed_b175;

/** A set of the integers `0 .. size - 1`, with an incrementally maintained hash. */
export class Bitset {
  /** The number of integers the set can hold. */
  readonly size: number;
  /** One bit per member, 32 members per word. */
  readonly words: Uint32Array;
  readonly #lowWords: Uint32Array;
  readonly #highWords: Uint32Array;
  #hashLow = 0;
  #hashHigh = 0;
  #count = 0;

  /** Creates an empty set able to hold `0 .. size - 1`. */
  constructor(size: number) {
    assert(Number.isSafeInteger(size) && size >= 0, `Cannot make a bitset of size ${size}`);
    this.size = size;
    this.words = new Uint32Array(Math.ceil(size / 32));
    this.#lowWords = new Uint32Array(size);
    this.#highWords = new Uint32Array(size);
    const random = new SeededRandom(ZOBRIST_SEED);
    for (let member = 0; member < size; member++) {
      this.#lowWords[member] = random.int(0x100000000);
      this.#highWords[member] = random.int(0x100000000);
    }
  }

  /** The low 32 bits of the hash of the current contents. */
  get hashLow(): number {
    return this.#hashLow;
  }

  /** The high 32 bits of the hash of the current contents. */
  get hashHigh(): number {
    return this.#hashHigh;
  }

  /** How many members the set holds. */
  get count(): number {
    return this.#count;
  }

  /** Whether `member` is in the set. */
  has(member: number): boolean {
    return (this.words[member >>> 5] & (1 << (member & 31))) !== 0;
  }

  /** Adds `member`, which must not be in the set yet. */
  add(member: number): void {
    assert(member >= 0 && member < this.size, `Member ${member} is outside 0..${this.size - 1}`);
    assert(!this.has(member), `Member ${member} is already in the set`);
    this.#toggle(member);
    this.#count++;
  }

  /** Removes `member`, which must be in the set. */
  delete(member: number): void {
    assert(member >= 0 && member < this.size, `Member ${member} is outside 0..${this.size - 1}`);
    assert(this.has(member), `Member ${member} is not in the set`);
    this.#toggle(member);
    this.#count--;
  }

  /** A copy of the member words, for storing a snapshot of the set. */
  snapshotWords(): Uint32Array {
    return this.words.slice();
  }

  /** Whether the set holds exactly the members recorded in `snapshot`. */
  equalsWords(snapshot: Uint32Array): boolean {
    const words = this.words;
    if (snapshot.length !== words.length) return false;
    for (let index = 0; index < words.length; index++) {
      if (snapshot[index] !== words[index]) return false;
    }
    return true;
  }

  #toggle(member: number): void {
    this.words[member >>> 5] ^= 1 << (member & 31);
    this.#hashLow = (this.#hashLow ^ this.#lowWords[member]) >>> 0;
    this.#hashHigh = (this.#hashHigh ^ this.#highWords[member]) >>> 0;
  }
}
