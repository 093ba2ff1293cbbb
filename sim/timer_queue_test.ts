import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { type SimTimer, TimerQueue } from "./timer_queue.ts";

Deno.test("the queue pops timers in (due time, insertion) order under random adds and cancels", () => {
  const random = new SeededRandom(17);
  const queue = new TimerQueue();
  // The model: live timers in a plain list, the earliest found by a linear scan.
  const live: SimTimer[] = [];
  const earliest = () =>
    live.reduce((best, timer) =>
      timer.dueMs < best.dueMs || (timer.dueMs === best.dueMs && timer.sequence < best.sequence)
        ? timer
        : best
    );
  let popped = 0;
  for (let step = 0; step < 20_000; step++) {
    const action = random.int(10);
    if (action < 5 || live.length === 0) {
      live.push(queue.add(random.int(50), () => {}));
    } else if (action < 8) {
      const [victim] = live.splice(random.int(live.length), 1);
      queue.cancel(victim);
      queue.cancel(victim);
    } else {
      const expected = earliest();
      assert.equal(queue.peek(), expected);
      assert.equal(queue.pop(), expected);
      live.splice(live.indexOf(expected), 1);
      popped += 1;
    }
    assert.equal(queue.liveCount, live.length);
  }
  assert.ok(popped > 1000);
});

Deno.test("a cleared queue is empty and its timers can no longer fire", () => {
  const queue = new TimerQueue();
  const timers = [queue.add(5, () => {}), queue.add(1, () => {})];
  queue.clear();
  assert.equal(queue.pop(), null);
  assert.equal(queue.liveCount, 0);
  assert.ok(timers.every((timer) => timer.callback === null));
});

Deno.test("a timer from another queue cannot be cancelled here", () => {
  const queue = new TimerQueue();
  const foreign = new TimerQueue().add(1, () => {});
  assert.throws(() => queue.cancel(foreign), /Cannot cancel timer 0: it is not in this queue/);
});
