/**
 * The calls and returns of a set of operations as one doubly linked list in time order, from
 * which the search takes out a linearized operation (its call and its return) and puts it back,
 * in constant time, when it backtracks.
 *
 * @module
 */
import type { Operation } from "./history.ts";

/** The list's head sentinel: the entry before the first. */
export const HEAD = 0;
/** The entry after the last. */
export const NONE = -1;

/** Calls and returns in time order; entries are numbered 1..2n, 0 being the head. */
export class EventList {
  /** The next entry of each entry, or {@linkcode NONE}. */
  readonly next: Int32Array;
  /** The previous entry of each entry (the head for the first). */
  readonly previous: Int32Array;
  /** The operation (index into the operations given) of each entry. */
  readonly operationOf: Int32Array;
  /** 1 for a call entry, 0 for a return entry. */
  readonly isCall: Uint8Array;
  /** The return entry of each call entry, and the call entry of each return entry. */
  readonly match: Int32Array;
  /** The call entry of each operation; entries are numbered in time order. */
  readonly callEntryOf: Int32Array;
  /** The return entry of each operation. */
  readonly returnEntryOf: Int32Array;
  #version = 0;

  /**
   * Orders the calls and returns of `operations` by time. On equal times calls come first, so
   * that an operation returning at the instant another is called counts as overlapping it.
   */
  constructor(operations: readonly Pick<Operation, "callMs" | "returnMs">[]) {
    const count = operations.length;
    const entryCount = 2 * count + 1;
    this.next = new Int32Array(entryCount);
    this.previous = new Int32Array(entryCount);
    this.operationOf = new Int32Array(entryCount);
    this.isCall = new Uint8Array(entryCount);
    this.match = new Int32Array(entryCount);
    this.callEntryOf = new Int32Array(count);
    this.returnEntryOf = new Int32Array(count);
    // Event 2i is operation i's call, event 2i+1 its return.
    const timeOf = (event: number) => {
      const operation = operations[event >> 1];
      return (event & 1) === 0 ? operation.callMs : operation.returnMs;
    };
    const events = Array.from({ length: 2 * count }, (_, event) => event);
    events.sort((left, right) => {
      const leftTime = timeOf(left);
      const rightTime = timeOf(right);
      if (leftTime !== rightTime) return leftTime < rightTime ? -1 : 1;
      if ((left & 1) !== (right & 1)) return (left & 1) - (right & 1);
      return left - right;
    });
    const entryOf = new Int32Array(2 * count);
    for (let position = 0; position < events.length; position++) {
      entryOf[events[position]] = position + 1;
    }
    for (let entry = 1; entry <= 2 * count; entry++) {
      const event = events[entry - 1];
      this.operationOf[entry] = event >> 1;
      this.isCall[entry] = (event & 1) === 0 ? 1 : 0;
      this.match[entry] = entryOf[event ^ 1];
      if ((event & 1) === 0) this.callEntryOf[event >> 1] = entry;
      else this.returnEntryOf[event >> 1] = entry;
      this.previous[entry] = entry - 1;
      this.next[entry] = entry < 2 * count ? entry + 1 : NONE;
    }
    this.next[HEAD] = count > 0 ? 1 : NONE;
    this.previous[HEAD] = NONE;
  }

  /** Changes with every {@linkcode lift} and {@linkcode unlift}, for caches over the list. */
  get version(): number {
    return this.#version;
  }

  /** Takes the call `entry` and its return out of the list. */
  lift(entry: number): void {
    this.#version++;
    const next = this.next;
    const previous = this.previous;
    // A call always precedes its return, so a call is never last.
    next[previous[entry]] = next[entry];
    previous[next[entry]] = previous[entry];
    const match = this.match[entry];
    next[previous[match]] = next[match];
    if (next[match] !== NONE) previous[next[match]] = previous[match];
  }

  /** Puts back the call `entry` and its return; must undo the latest {@linkcode lift}. */
  unlift(entry: number): void {
    this.#version++;
    const next = this.next;
    const previous = this.previous;
    const match = this.match[entry];
    next[previous[match]] = match;
    if (next[match] !== NONE) previous[next[match]] = match;
    next[previous[entry]] = entry;
    previous[next[entry]] = entry;
  }
}
