import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { EventQueue } from "./event_queue.ts";

Deno.test("events come out earliest first, and in scheduling order on equal times", () => {
  const queue = new EventQueue<string>(10);
  queue.push(5, "late");
  queue.push(1, "first at 1");
  queue.push(1, "second at 1");
  queue.push(0, "earliest");
  assert.equal(queue.nextTime, 0);
  const order = [];
  while (queue.size > 0) order.push(queue.pop());
  assert.deepEqual(order, [
    { time: 0, event: "earliest" },
    { time: 1, event: "first at 1" },
    { time: 1, event: "second at 1" },
    { time: 5, event: "late" },
  ]);
  assert.equal(queue.nextTime, Infinity);
});

Deno.test("many random times come out as a stable sort would order them", () => {
  const random = new SeededRandom(7);
  const queue = new EventQueue<number>(5000);
  const pushed: { time: number; event: number }[] = [];
  for (let event = 0; event < 2000; event++) {
    const time = random.int(300);
    queue.push(time, event);
    pushed.push({ time, event });
    // Interleave pops with pushes, as the simulation does.
    if (random.int(4) === 0) {
      const expected = pushed.sort((left, right) =>
        left.time - right.time || left.event - right.event
      )
        .shift();
      assert.deepEqual(queue.pop(), expected);
    }
  }
  pushed.sort((left, right) => left.time - right.time || left.event - right.event);
  for (const expected of pushed) assert.deepEqual(queue.pop(), expected);
});

Deno.test("the queue refuses to grow past its bound, to pop when empty, and bad times", () => {
  const queue = new EventQueue<string>(2);
  queue.push(1, "a");
  queue.push(2, "b");
  assert.throws(() => queue.push(3, "c"), /already holds 2/);
  queue.pop();
  queue.pop();
  assert.throws(() => queue.pop(), /empty queue/);
  assert.throws(() => queue.push(-1, "d"), /not a whole number/);
  assert.throws(() => queue.push(1.5, "d"), /not a whole number/);
  assert.throws(() => new EventQueue<string>(0), /not a positive whole number/);
});
