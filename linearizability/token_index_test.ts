import assert from "node:assert/strict";
import { TokenIndex } from "./token_index.ts";

Deno.test("values with markers are recognised and read values split into their writers", () => {
  const index = TokenIndex.build(["x 0 1 y", null, "x 0 10 y", "x 1 1 y"]);
  assert.ok(index !== null);
  assert.deepEqual([...index.writersIn("x 1 1 yx 0 1 y")].sort(), [0, 3]);
  assert.deepEqual([...index.writersIn("x 0 10 y")], [2]);
  // Pieces that are no written value name no writer.
  assert.deepEqual([...index.writersIn("junkx 0 1x 0 1 y")], [0]);
  assert.deepEqual([...index.writersIn("")], []);
  assert.equal(index.firstWriterIn("x 1 1 yx 0 1 y"), 3);
  assert.equal(index.firstWriterIn("x 0 10 y"), 2);
  assert.equal(index.firstWriterIn("junkx 0 1 y"), -1);
  assert.equal(index.firstWriterIn(""), -1);
});

Deno.test("values without markers are refused", () => {
  // Repeated, marker inside, prefix of another.
  assert.equal(TokenIndex.build(["[a]", "[a]"]), null);
  assert.equal(TokenIndex.build(["[a]", "[b[c]"]), null);
  assert.equal(TokenIndex.build(["[a", "[ab"]), null);
  assert.equal(TokenIndex.build(["ab", "ba"]), null);
  assert.ok(TokenIndex.build(["[a]", "[ab]", "<c>"]) !== null);
});

Deno.test("empty values are allowed and never found", () => {
  const index = TokenIndex.build(["", "[a]", ""]);
  assert.ok(index !== null);
  assert.deepEqual([...index.writersIn("[a]")], [1]);
});
