import assert from "node:assert/strict";
import { SeededRandom } from "./random.ts";
import { MinHeap } from "./min_heap.ts";

interface Pushed {
  readonly key: number;
  readonly item: number;
}

/** The model: what a stable sort by key puts first (items are numbered in push order). */
function stableFirst(pushed: Pushed[]): Pushed | undefined {
  return pushed.sort((left, right) => left.key - right.key || left.item - right.item)[0];
}

Deno.test("items come out smallest key first, and in push order on equal keys", () => {
  const heap = new MinHeap<string>(10);
  heap.push(5, "late");
  heap.push(1, "first at 1");
  heap.push(1, "second at 1");
  heap.push(0.5, "earliest");
  assert.equal(heap.minKey, 0.5);
  assert.equal(heap.peek(), "earliest");
  const order = [];
  while (heap.size > 0) order.push(`${heap.minKey} ${heap.pop()}`);
  assert.deepEqual(order, ["0.5 earliest", "1 first at 1", "1 second at 1", "5 late"]);
  assert.equal(heap.minKey, Infinity);
  assert.equal(heap.peek(), undefined);
});

Deno.test("random pushes, pops and retains come out as a stable sort orders them", () => {
  const random = new SeededRandom(7);
  const heap = new MinHeap<number>(5000);
  let pushed: Pushed[] = [];
  let popped = 0;
  for (let item = 0; item < 4000; item++) {
    const action = random.int(10);
    if (action < 6) {
      const key = random.int(300);
      heap.push(key, item);
      pushed.push({ key, item });
    } else if (action < 9 && pushed.length > 0) {
      const expected = stableFirst(pushed)!;
      assert.equal(heap.minKey, expected.key);
      assert.equal(heap.peek(), expected.item);
      assert.equal(heap.pop(), expected.item);
      pushed.shift();
      popped++;
    } else {
      // Drop the items whose number has a random remainder.
      const remainder = random.int(3);
      heap.retain((kept) => kept % 3 !== remainder);
      pushed = pushed.filter((kept) => kept.item % 3 !== remainder);
    }
    assert.equal(heap.size, pushed.length);
  }
  assert.ok(popped > 1000, `only ${popped} pops`);
  for (
    const expected of pushed.sort((left, right) => left.key - right.key || left.item - right.item)
  ) {
    assert.equal(heap.pop(), expected.item);
  }
});

Deno.test("clearing a heap hands back its items and empties it for later pushes", () => {
  const heap = new MinHeap<string>(4);
  heap.push(2, "a");
  heap.push(1, "b");
  assert.deepEqual(heap.clear().sort(), ["a", "b"]);
  assert.equal(heap.size, 0);
  assert.equal(heap.minKey, Infinity);
  heap.push(3, "c");
  heap.push(3, "d");
  assert.deepEqual([heap.pop(), heap.pop()], ["c", "d"]);
});

Deno.test("the heap refuses to grow past its bound, to pop when empty, and NaN keys", () => {
  const heap = new MinHeap<string>(2);
  heap.push(1, "a");
  heap.push(2, "b");
  assert.throws(
    () => heap.push(3, "c"),
    /Cannot push an item with key 3: the heap already holds 2/,
  );
  heap.pop();
  heap.pop();
  assert.throws(() => heap.pop(), /Cannot pop an item from an empty heap/);
  assert.throws(() => heap.push(NaN, "d"), /key NaN/);
  assert.throws(() => new MinHeap<string>(0), /Heap bound 0 is not a positive whole number/);
  assert.throws(() => new MinHeap<string>(1.5), /Heap bound 1.5 is not a positive whole number/);
});
