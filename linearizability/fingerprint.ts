/**
 * Fingerprints of strings that can be joined in constant time: the checker's model state is a
 * string that grows by appends, and hashing the whole string at every search step would cost
 * time proportional to its length. Two polynomial hashes modulo 2^32 (odd bases, 32-bit integer
 * multiplication) make 64 bits that are cheap to compute and to join.
 *
 * Fingerprints only say "maybe equal": callers must compare the strings when they match. (The
 * histories checked are not crafted against these hashes; a collision costs time, never a
 * wrong verdict.)
 *
 * @module
 */

/** The bases: odd, so that multiplying by them is invertible modulo 2^32. */
const FIRST_BASE = 0x01000193;
const SECOND_BASE = 0x5bd1e995;

/** The fingerprint of a string, and what appending it does to another string's fingerprint. */
export interface Fragment {
  /** The first hash of the string (a signed 32-bit integer). */
  readonly first: number;
  /** The second hash of the string (a signed 32-bit integer). */
  readonly second: number;
  /** The first base raised to the string's length, modulo 2^32. */
  readonly firstShift: number;
  /** The second base raised to the string's length, modulo 2^32. */
  readonly secondShift: number;
}

/** The fingerprint of the empty string. */
export const EMPTY_FRAGMENT: Fragment = { first: 0, second: 0, firstShift: 1, secondShift: 1 };

/** Fingerprints `text`, in time proportional to its length. */
export function fragmentOf(text: string): Fragment {
  let first = 0;
  let second = 0;
  let firstShift = 1;
  let secondShift = 1;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index) + 1;
    first = (Math.imul(first, FIRST_BASE) + unit) | 0;
    second = (Math.imul(second, SECOND_BASE) + unit) | 0;
    firstShift = Math.imul(firstShift, FIRST_BASE);
    secondShift = Math.imul(secondShift, SECOND_BASE);
  }
  return { first, second, firstShift, secondShift };
}

/** The first hash of `prefix + suffix`, given the first hash of `prefix`. */
export function joinFirst(prefixFirst: number, suffix: Fragment): number {
  return (Math.imul(prefixFirst, suffix.firstShift) + suffix.first) | 0;
}

/** The second hash of `prefix + suffix`, given the second hash of `prefix`. */
export function joinSecond(prefixSecond: number, suffix: Fragment): number {
  return (Math.imul(prefixSecond, suffix.secondShift) + suffix.second) | 0;
}
