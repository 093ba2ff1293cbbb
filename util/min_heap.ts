/**
 * A bounded binary min-heap ordered by a numeric key, ties broken by insertion order (the item
 * pushed first comes out first), so that whatever runs on it, such as a simulation's agenda, is
 * a pure function of what was pushed. Both simulations keep their pending events in one: timers
 * by due time (`sim/`) and events by virtual time (`safety/`).
 *
 * @module
 */
import { assert } from "./assert.ts";

/**
 * A priority queue of items, smallest key first, first pushed first among equal keys. Keys,
 * insertion numbers and items live in three parallel arrays, so a push allocates nothing.
 */
export class MinHeap<Item> {
  /** The most items the heap may hold at once; pushing beyond it is a bug in the caller. */
  readonly itemsMax: number;
  #keys: number[] = [];
  #sequences: number[] = [];
  #items: Item[] = [];
  #nextSequence = 0;

  /** Creates an empty heap that holds at most `itemsMax` items. */
  constructor(itemsMax: number) {
    assert(
      Number.isSafeInteger(itemsMax) && itemsMax > 0,
      `Heap bound ${itemsMax} is not a positive whole number`,
    );
    this.itemsMax = itemsMax;
  }

  /** How many items wait. */
  get size(): number {
    return this.#items.length;
  }

  /** The smallest key, or Infinity when the heap is empty. */
  get minKey(): number {
    return this.#items.length === 0 ? Infinity : this.#keys[0];
  }

  /** The item with the smallest key (the first pushed among equals), without removing it. */
  peek(): Item | undefined {
    return this.#items[0];
  }

  /** Adds `item` under `key`. */
  push(key: number, item: Item): void {
    assert(!Number.isNaN(key), "Cannot push an item with key NaN: it has no order");
    assert(
      this.#items.length < this.itemsMax,
      `Cannot push an item with key ${key}: the heap already holds ${this.itemsMax}`,
    );
    this.#keys.push(key);
    this.#sequences.push(this.#nextSequence++);
    this.#items.push(item);
    this.#siftUp(this.#items.length - 1);
  }

  /** Removes and returns the item {@linkcode MinHeap.peek} shows; throws when the heap is empty. */
  pop(): Item {
    assert(this.#items.length > 0, "Cannot pop an item from an empty heap");
    const top = this.#items[0];
    const lastKey = this.#keys.pop()!;
    const lastSequence = this.#sequences.pop()!;
    const lastItem = this.#items.pop()!;
    if (this.#items.length > 0) {
      this.#place(0, lastKey, lastSequence, lastItem);
      this.#siftDown(0);
    }
    return top;
  }

  /** Keeps only the items `keep` accepts, in linear time; their order is unchanged. */
  retain(keep: (item: Item) => boolean): void {
    const keys: number[] = [];
    const sequences: number[] = [];
    const items: Item[] = [];
    for (let position = 0; position < this.#items.length; position++) {
      if (!keep(this.#items[position])) continue;
      keys.push(this.#keys[position]);
      sequences.push(this.#sequences[position]);
      items.push(this.#items[position]);
    }
    this.#keys = keys;
    this.#sequences = sequences;
    this.#items = items;
    for (let position = (items.length >> 1) - 1; position >= 0; position--) {
      this.#siftDown(position);
    }
  }

  /** Removes every item and returns them, in no particular order. */
  clear(): Item[] {
    const items = this.#items;
    this.#keys = [];
    this.#sequences = [];
    this.#items = [];
    return items;
  }

  /** Whether the item at `position` comes out before one with `key` and `sequence`. */
  #precedes(position: number, key: number, sequence: number): boolean {
    const other = this.#keys[position];
    return other < key || (other === key && this.#sequences[position] < sequence);
  }

  #place(position: number, key: number, sequence: number, item: Item): void {
    this.#keys[position] = key;
    this.#sequences[position] = sequence;
    this.#items[position] = item;
  }

  #move(from: number, to: number): void {
    this.#place(to, this.#keys[from], this.#sequences[from], this.#items[from]);
  }

  #siftUp(start: number): void {
    const key = this.#keys[start];
    const sequence = this.#sequences[start];
    const item = this.#items[start];
    let position = start;
    // Bounded: the position at least halves every round.
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (this.#precedes(parent, key, sequence)) break;
      this.#move(parent, position);
      position = parent;
    }
    this.#place(position, key, sequence, item);
  }

  #siftDown(start: number): void {
    const length = this.#items.length;
    const key = this.#keys[start];
    const sequence = this.#sequences[start];
    const item = this.#items[start];
    let position = start;
    // Bounded: the position at least doubles every round.
    while (true) {
      const left = 2 * position + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && this.#precedes(right, this.#keys[left], this.#sequences[left])
        ? right
        : left;
      if (!this.#precedes(child, key, sequence)) break;
      this.#move(child, position);
      position = child;
    }
    this.#place(position, key, sequence, item);
  }
}
