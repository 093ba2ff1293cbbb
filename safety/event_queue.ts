/**
 * The simulation's agenda: a bounded binary min-heap of events ordered by virtual time, ties
 * broken by the order of scheduling, so that a run is a pure function of its seed.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

interface Slot<Event> {
  readonly time: number;
  readonly sequence: number;
  readonly event: Event;
}

/** A priority queue of events on virtual time, earliest first, first scheduled first on ties. */
export class EventQueue<Event> {
  /** The most events the queue may hold at once; scheduling beyond it is a bug in the caller. */
  readonly maxEvents: number;
  readonly #heap: Slot<Event>[] = [];
  #nextSequence = 0;

  /** Creates an empty queue that holds at most `maxEvents` events. */
  constructor(maxEvents: number) {
    assert(
      Number.isSafeInteger(maxEvents) && maxEvents > 0,
      `Event queue bound ${maxEvents} is not a positive whole number`,
    );
    this.maxEvents = maxEvents;
  }

  /** How many events wait. */
  get size(): number {
    return this.#heap.length;
  }

  /** The time of the earliest event, or Infinity when the queue is empty. */
  get nextTime(): number {
    return this.#heap.length === 0 ? Infinity : this.#heap[0].time;
  }

  /** Schedules `event` at virtual `time` (a whole number, not negative). */
  push(time: number, event: Event): void {
    assert(
      Number.isSafeInteger(time) && time >= 0,
      `Cannot schedule an event at time ${time}: not a whole number of time units`,
    );
    assert(
      this.#heap.length < this.maxEvents,
      `Cannot schedule an event at time ${time}: the queue already holds ${this.maxEvents}`,
    );
    const heap = this.#heap;
    heap.push({ time, sequence: this.#nextSequence++, event });
    let position = heap.length - 1;
    // Sift up: at most log2(size) rounds.
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (!earlier(heap[position], heap[parent])) break;
      [heap[position], heap[parent]] = [heap[parent], heap[position]];
      position = parent;
    }
  }

  /** Removes and returns the earliest event with its time; throws when the queue is empty. */
  pop(): { time: number; event: Event } {
    const heap = this.#heap;
    assert(heap.length > 0, "Cannot take an event from an empty queue");
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown();
    }
    return { time: top.time, event: top.event };
  }

  #siftDown(): void {
    const heap = this.#heap;
    let position = 0;
    // Sift down: at most log2(size) rounds.
    while (true) {
      const left = 2 * position + 1;
      if (left >= heap.length) return;
      const right = left + 1;
      const child = right < heap.length && earlier(heap[right], heap[left]) ? right : left;
      if (!earlier(heap[child], heap[position])) return;
      [heap[position], heap[child]] = [heap[child], heap[position]];
      position = child;
    }
  }
}

function earlier<Event>(left: Slot<Event>, right: Slot<Event>): boolean {
  return left.time < right.time || (left.time === right.time && left.sequence < right.sequence);
}
