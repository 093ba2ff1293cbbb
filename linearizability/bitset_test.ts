import assert from "node:assert/strict";
import { Bitset } from "./bitset.ts";

Deno.test("a bitset holds what was added and forgets what was deleted", () => {
  const set = new Bitset(100);
  for (const member of [0, 31, 32, 63, 64, 99]) set.add(member);
  assert.equal(set.count, 6);
  assert.ok(set.has(31) && set.has(32) && set.has(99));
  assert.ok(!set.has(1) && !set.has(33));
  set.delete(32);
  assert.ok(!set.has(32));
  assert.equal(set.count, 5);
});

Deno.test("a bitset's hash depends on its contents, not on the order of changes", () => {
  const left = new Bitset(70);
  const right = new Bitset(70);
  const emptyHash = [left.hashLow, left.hashHigh];
  for (const member of [3, 40, 69]) left.add(member);
  for (const member of [69, 5, 3, 40]) right.add(member);
  right.delete(5);
  assert.deepEqual([left.hashLow, left.hashHigh], [right.hashLow, right.hashHigh]);
  assert.notDeepEqual([left.hashLow, left.hashHigh], emptyHash);
  for (const member of [3, 40, 69]) left.delete(member);
  assert.deepEqual([left.hashLow, left.hashHigh], emptyHash);
});

Deno.test("a bitset compares itself with a snapshot of its words", () => {
  const set = new Bitset(40);
  set.add(7);
  const snapshot = set.snapshotWords();
  assert.ok(set.equalsWords(snapshot));
  set.add(39);
  assert.ok(!set.equalsWords(snapshot));
  set.delete(39);
  assert.ok(set.equalsWords(snapshot));
});

Deno.test("a bitset refuses members out of range and double changes", () => {
  const set = new Bitset(8);
  assert.throws(() => set.add(8), /Member 8 is outside 0\.\.7/);
  set.add(2);
  assert.throws(() => set.add(2), /Member 2 is already in the set/);
  assert.throws(() => set.delete(3), /Member 3 is not in the set/);
});
