import assert from "node:assert/strict";
import { Bitset } from "./bitset.ts";
import { PendingQueue } from "./pending_queue.ts";

Deno.test("a pending queue finds its first operation not linearized", () => {
  const linearized = new Bitset(6);
  const queue = new PendingQueue([4, 1, 3], 6);
  assert.equal(queue.first(linearized), 0);
  linearized.add(4);
  linearized.add(1);
  assert.equal(queue.first(linearized), 2);
  assert.equal(queue.at(2), 3);
  linearized.add(3);
  assert.equal(queue.first(linearized), queue.length);
  linearized.delete(1);
  queue.restore(1);
  assert.equal(queue.first(linearized), 1);
  // Operations it does not hold change nothing.
  queue.restore(5);
  assert.equal(queue.first(linearized), 1);
});

Deno.test("a pending queue refuses an operation twice", () => {
  assert.throws(() => new PendingQueue([2, 2], 3), /Operation 2 is queued twice/);
});
