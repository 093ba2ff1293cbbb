/**
 * The simulation's pending timers: a {@linkcode MinHeap} ordered by due time, ties in the order
 * the timers were set, so that timers due at the same virtual instant fire in that order.
 * Cancelling is lazy (the entry stays in the heap, marked dead) because Raft resets its election
 * timer far more often than timers fire; dead entries are dropped when they outnumber live ones.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { MinHeap } from "../util/min_heap.ts";

/** The most timers one simulation may have pending at once; more means a runaway timer loop. */
export const MAX_PENDING_TIMERS = 1 << 24;

// Below this many dead entries a rebuild is not worth its cost.
const MIN_DEAD_ENTRIES_FOR_REBUILD = 1024;

/** One pending timer. The callback is cleared once the timer fires or is cancelled. */
export class SimTimer {
  /** Virtual time, in milliseconds, at which the timer is due. */
  readonly dueMs: number;
  /** Position in the order timers were set, the order timers due together fire in. */
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

/** A min-heap of {@linkcode SimTimer}s with lazy cancellation. */
export class TimerQueue {
  readonly #heap = new MinHeap<SimTimer>(MAX_PENDING_TIMERS);
  #deadCount = 0;
  #nextSequence = 0;

  /** Timers that are pending and not cancelled. */
  get liveCount(): number {
    return this.#heap.size - this.#deadCount;
  }

  /** Adds a timer due at `dueMs` and returns it (it doubles as the cancel handle). */
  add(dueMs: number, callback: () => void): SimTimer {
    // The heap breaks ties in push order, which is the order of `sequence`.
    const timer = new SimTimer(this, dueMs, this.#nextSequence, callback);
    this.#heap.push(dueMs, timer);
    this.#nextSequence += 1;
    return timer;
  }

  /** Cancels `timer`; a timer that already fired or was cancelled is ignored. */
  cancel(timer: SimTimer): void {
    assert(timer.queue === this, `Cannot cancel timer ${timer.sequence}: it is not in this queue`);
    if (timer.callback === null) return;
    timer.callback = null;
    this.#deadCount += 1;
    if (
      this.#deadCount >= MIN_DEAD_ENTRIES_FOR_REBUILD && this.#deadCount * 2 > this.#heap.size
    ) {
      this.#heap.retain((pending) => pending.callback !== null);
      this.#deadCount = 0;
    }
  }

  /** The earliest live timer, without removing it; `null` when none is pending. */
  peek(): SimTimer | null {
    this.#dropDeadTop();
    return this.#heap.peek() ?? null;
  }

  /** Removes and returns the earliest live timer; `null` when none is pending. */
  pop(): SimTimer | null {
    this.#dropDeadTop();
    return this.#heap.size === 0 ? null : this.#heap.pop();
  }

  /** Cancels every pending timer, so none can ever fire. */
  clear(): void {
    for (const timer of this.#heap.clear()) timer.callback = null;
    this.#deadCount = 0;
  }

  #dropDeadTop(): void {
    // Bounded by the heap's length: every iteration removes one entry.
    while (this.#heap.peek()?.callback === null) {
      this.#heap.pop();
      this.#deadCount -= 1;
    }
    assert(this.#deadCount >= 0, `Timer queue counted ${this.#deadCount} dead entries`);
  }
}
