/**
 * Which reduce task a key goes to: FNV-1a-32 over the key's UTF-8 bytes, masked to 31 bits,
 * modulo the number of reduce tasks — the lab's `ihash`, so outputs land in the same
 * `mr-out-Y` files as the lab's would.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a-32 of the UTF-8 encoding of `text`, as an unsigned 32-bit integer. Encodes on the fly
 * instead of calling `TextEncoder`, because word count hashes every word of the corpus. A lone
 * surrogate hashes as U+FFFD, the character `TextEncoder` writes for it.
 */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  const mix = (byte: number) => {
    hash = Math.imul(hash ^ byte, FNV_PRIME);
  };
  for (let index = 0; index < text.length; index++) {
    let codePoint = text.charCodeAt(index);
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) {
      const next = index + 1 < text.length ? text.charCodeAt(index + 1) : 0;
      if (codePoint <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (next - 0xdc00);
        index++;
      } else {
        codePoint = 0xfffd;
      }
    }
    if (codePoint < 0x80) {
      mix(codePoint);
    } else if (codePoint < 0x800) {
      mix(0xc0 | (codePoint >> 6));
      mix(0x80 | (codePoint & 0x3f));
    } else if (codePoint < 0x10000) {
      mix(0xe0 | (codePoint >> 12));
      mix(0x80 | ((codePoint >> 6) & 0x3f));
      mix(0x80 | (codePoint & 0x3f));
    } else {
      mix(0xf0 | (codePoint >> 18));
      mix(0x80 | ((codePoint >> 12) & 0x3f));
      mix(0x80 | ((codePoint >> 6) & 0x3f));
      mix(0x80 | (codePoint & 0x3f));
    }
  }
  return hash >>> 0;
}

/** The reduce task (0 ≤ result < `reduceCount`) that `key` belongs to. */
export function partitionOf(key: string, reduceCount: number): number {
  assert(
    Number.isSafeInteger(reduceCount) && reduceCount > 0,
    `Cannot partition into ${reduceCount} reduce tasks: need a positive whole number`,
  );
  return (fnv1a32(key) & 0x7fffffff) % reduceCount;
}
