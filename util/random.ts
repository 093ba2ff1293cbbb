/**
 * Randomness as components see it: always passed in, never taken from `Math.random`, so that a
 * simulation run replays exactly from its seed.
 *
 * @module
 */
import { assert } from "./assert.ts";

/** A source of uniformly distributed random numbers. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, bound). */
  int(bound: number): number;
}

/**
 * A small, fast seeded generator (sfc32: 128 bits of state, passes PractRand to large sizes).
 * The same seed gives the same sequence on every platform.
 */
export class SeededRandom implements Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Creates a generator from a 32-bit (or safe-integer) seed. */
  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), `Seed ${seed} is not a whole number`);
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = (seed >>> 0) ^ Math.floor(seed / 0x100000000);
    // Discard the first outputs: they still carry the shape of the seed.
    for (let round = 0; round < 15; round++) this.#nextUint32();
  }

  /** Returns the next 32 random bits as an unsigned integer. */
  #nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.#nextUint32() / 0x100000000;
  }

  /** An integer in [0, bound). */
  int(bound: number): number {
    assert(Number.isSafeInteger(bound) && bound > 0, `Cannot draw below ${bound}`);
    return Math.floor(this.next() * bound);
  }
}

/** A generator seeded from the platform's secure random source, for real runs. */
export function unseededRandom(): Random {
  return new SeededRandom(crypto.getRandomValues(new Uint32Array(1))[0]);
}
