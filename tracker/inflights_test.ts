import assert from "node:assert/strict";
import { Inflights } from "./inflights.ts";

Deno.test("the window fills at its count and frees in order as acknowledgements arrive", () => {
  const window = new Inflights(3, 1_000_000);
  window.add(5, 10);
  window.add(9, 10);
  window.add(12, 10);
  assert.equal(window.full(), true);
  assert.throws(() => window.add(13, 1), /the window is full/);
  window.freeUpTo(8);
  assert.deepEqual([window.count, window.bytes, window.full()], [2, 20, false]);
  window.add(15, 10);
  window.freeUpTo(12);
  assert.deepEqual([window.count, window.lastIndex], [1, 15]);
  window.freeUpTo(100);
  assert.deepEqual([window.count, window.bytes, window.lastIndex], [0, 0, 0]);
});

Deno.test("the window fills at its bytes, yet one oversized append still goes out alone", () => {
  const window = new Inflights(10, 100);
  window.add(1, 60);
  assert.equal(window.full(), false);
  window.add(2, 60);
  assert.equal(window.full(), true);
  window.freeUpTo(2);
  window.add(3, 500);
  assert.deepEqual([window.count, window.bytes, window.full()], [1, 500, true]);
});

Deno.test("the window wraps around its ring many times and never holds more than its count", () => {
  const window = new Inflights(4, 1_000_000);
  let last = 0;
  for (let round = 0; round < 100; round++) {
    while (!window.full()) window.add(++last, 1);
    assert.equal(window.count, 4);
    window.freeUpTo(last - 2);
    assert.equal(window.count, 2);
  }
  assert.equal(window.lastIndex, last);
});

Deno.test("the window refuses appends that go backwards, and reset empties it", () => {
  const window = new Inflights(4, 100);
  window.add(7, 1);
  assert.throws(() => window.add(7, 1), /appends up to 7 are in flight/);
  window.reset();
  assert.deepEqual([window.count, window.bytes], [0, 0]);
  window.add(3, 1);
  assert.throws(() => new Inflights(0, 10), /0 appends/);
  assert.throws(() => new Inflights(1, 0), /0 bytes/);
});
