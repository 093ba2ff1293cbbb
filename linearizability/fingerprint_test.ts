import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { EMPTY_FRAGMENT, fragmentOf, joinFirst, joinSecond } from "./fingerprint.ts";

function randomText(random: SeededRandom): string {
  let text = "";
  for (let length = random.int(30); length > 0; length--) {
    text += String.fromCharCode(
      random.int(3) === 0 ? 0x4e00 + random.int(500) : 32 + random.int(95),
    );
  }
  return text;
}

Deno.test("joining fingerprints gives the fingerprint of the joined strings", () => {
  const random = new SeededRandom(5);
  for (let round = 0; round < 500; round++) {
    const prefix = randomText(random);
    const suffix = randomText(random);
    const whole = fragmentOf(prefix + suffix);
    const start = fragmentOf(prefix);
    assert.equal(joinFirst(start.first, fragmentOf(suffix)), whole.first);
    assert.equal(joinSecond(start.second, fragmentOf(suffix)), whole.second);
  }
});

Deno.test("the empty string's fingerprint joins as a neutral element", () => {
  assert.deepEqual(fragmentOf(""), EMPTY_FRAGMENT);
  const text = fragmentOf("abc");
  assert.equal(joinFirst(EMPTY_FRAGMENT.first, text), text.first);
  assert.equal(joinFirst(text.first, EMPTY_FRAGMENT), text.first);
});

Deno.test("fingerprints tell apart strings that differ by order, length or one character", () => {
  const texts = ["", "a", "b", "ab", "ba", "aa", "a\u0000", "\u0000a", "abc", "abd", "x 1 2 y"];
  const seen = new Set(texts.map((text) => {
    const fragment = fragmentOf(text);
    return `${fragment.first}/${fragment.second}`;
  }));
  assert.equal(seen.size, texts.length);
});
