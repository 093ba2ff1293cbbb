/**
 * The simulation's pending timers: a binary min-heap ordered by (due time, insertion sequence),
 * so that timers due at the same virtual instant fire in the order they were set. Cancelling is
 * lazy (the entry stays in the heap, marked dead) because Raft resets its election timer far more
 * often than timers fire; the heap is rebuilt when dead entries outnumber live ones.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** The most timers one simulation may have pending at once; more means a runaway timer loop. */
export const MAX_PENDING_TIMERS = 1 << 24;

// Below this many dead entries a rebuild is not worth its cost.
const MIN_DEAD_ENTRIES_FOR_REBUILD = 1024;

/** One pending timer. The callback is cleared once the timer fires or is cancelled. */
export class SimTimer {
  /** Virtual time, in milliseconds, at which the timer is due. */
  readonly dueMs: number;
  /** Position in the order timers were set; breaks ties between equal due times. */
  readonly sequence: number;
  /** The queue holding this timer, so a handle from another simulation is recognised. */
  readonly queue: TimerQueue;
  /** What to run when due; `null` once fired or cancelled. */
  callback: (() => void) | null;

  /** Creates a timer; only {@linkcode TimerQueue.add} should call this. */
  constructor(queue: TimerQueue, dueMs: number, sequence: number, callback: () => void) {
    this.queue = queue;
    this.dueMs = dueMs;
    this.sequence = sequence;
    this.callback = callback;
  }
}

function firesBefore(a: SimTimer, b: SimTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.sequence < b.sequence);
}

/** A min-heap of {@linkcode SimTimer}s with lazy cancellation. */
export class TimerQueue {
  #heap: SimTimer[] = [];
  #deadCount = 0;
  #nextSequence = 0;

  /** Timers that are pending and not cancelled. */
  get liveCount(): number {
    return this.#heap.length - this.#deadCount;
  }

  /** Adds a timer due at `dueMs` and returns it (it doubles as the cancel handle). */
  add(dueMs: number, callback: () => void): SimTimer {
    assert(
      this.#heap.length < MAX_PENDING_TIMERS,
      `Cannot set a timer due at ${dueMs} ms: ${MAX_PENDING_TIMERS} timers are already pending`,
    );
    const timer = new SimTimer(this, dueMs, this.#nextSequence, callback);
    this.#nextSequence += 1;
    this.#heap.push(timer);
    this.#siftUp(this.#heap.length - 1);
    return timer;
  }

  /** Cancels `timer`; a timer that already fired or was cancelled is ignored. */
  cancel(timer: SimTimer): void {
    assert(timer.queue === this, `Cannot cancel timer ${timer.sequence}: it is not in this queue`);
    if (timer.callback === null) return;
    timer.callback = null;
    this.#deadCount += 1;
    if (
      this.#deadCount >= MIN_DEAD_ENTRIES_FOR_REBUILD && this.#deadCount * 2 > this.#heap.length
    ) {
      this.#rebuild();
    }
  }

  /** The earliest live timer, without removing it; `null` when none is pending. */
  peek(): SimTimer | null {
    this.#dropDeadTop();
    return this.#heap.length === 0 ? null : this.#heap[0];
  }

  /** Removes and returns the earliest live timer; `null` when none is pending. */
  pop(): SimTimer | null {
    this.#dropDeadTop();
    if (this.#heap.length === 0) return null;
    return this.#removeTop();
  }

  /** Cancels every pending timer, so none can ever fire. */
  clear(): void {
    for (const timer of this.#heap) timer.callback = null;
    this.#heap = [];
    this.#deadCount = 0;
  }

  #dropDeadTop(): void {
    // Bounded by the heap's length: every iteration removes one entry.
    while (this.#heap.length > 0 && this.#heap[0].callback === null) {
      this.#removeTop();
      this.#deadCount -= 1;
    }
    assert(this.#deadCount >= 0, `Timer queue counted ${this.#deadCount} dead entries`);
  }

  #removeTop(): SimTimer {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  #rebuild(): void {
    this.#heap = this.#heap.filter((timer) => timer.callback !== null);
    this.#deadCount = 0;
    for (let index = (this.#heap.length >> 1) - 1; index >= 0; index--) this.#siftDown(index);
  }

  #siftUp(start: number): void {
    const heap = this.#heap;
    const timer = heap[start];
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!firesBefore(timer, heap[parent])) break;
      heap[index] = heap[parent];
      index = parent;
    }
    heap[index] = timer;
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const timer = heap[start];
    let index = start;
    // Bounded: the index at least doubles every iteration.
    while (true) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && firesBefore(heap[right], heap[left]) ? right : left;
      if (!firesBefore(heap[child], timer)) break;
      heap[index] = heap[child];
      index = child;
    }
    heap[index] = timer;
  }
}
