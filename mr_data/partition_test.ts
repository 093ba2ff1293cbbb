import assert from "node:assert/strict";
import { fnv1a32, partitionOf } from "./partition.ts";

/** The textbook definition over `TextEncoder` bytes, to check the fast path against. */
function referenceFnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash;
}

Deno.test("fnv1a32 matches the published FNV-1a-32 test vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

Deno.test("fnv1a32 hashes the UTF-8 bytes of every kind of character", () => {
  const samples = [
    "café",
    "Straße",
    "русский",
    "日本語",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "a\ud800b",
    "\udc00",
    "x\ud83d",
  ];
  for (const sample of samples) {
    assert.equal(fnv1a32(sample), referenceFnv1a32(sample), `hash of ${JSON.stringify(sample)}`);
  }
});

Deno.test("partitionOf masks to 31 bits before taking the remainder", () => {
  // fnv1a32("a") = 0xe40c292c has the top bit set; the lab's ihash clears it.
  assert.equal(partitionOf("a", 10), (0xe40c292c & 0x7fffffff) % 10);
  assert.equal(partitionOf("a", 1), 0);
  assert.throws(() => partitionOf("a", 0), /Cannot partition into 0 reduce tasks/);
});
