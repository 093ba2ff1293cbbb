/**
 * A clock the test moves by hand, for the coordinator's lease logic.
 *
 * @module
 */
import type { Clock, TimerHandle } from "../clock.ts";

/** A {@linkcode Clock} whose time only moves when the test calls {@linkcode ManualClock.advance}. */
export class ManualClock implements Clock {
  #nowMs = 0;
  #nextId = 1;
  readonly #timers = new Map<number, { dueMs: number; callback: () => void }>();

  /** The current manual time. */
  now(): number {
    return this.#nowMs;
  }

  /** Schedules `callback` for `delayMs` from now. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { dueMs: this.#nowMs + Math.max(0, delayMs), callback });
    return id;
  }

  /** Forgets a pending timer. */
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Moves time forward by `deltaMs`, running due timers in time order. */
  advance(deltaMs: number): void {
    const targetMs = this.#nowMs + deltaMs;
    for (let fired = 0; fired < 1_000_000; fired++) {
      let nextId = -1;
      let nextDueMs = Infinity;
      for (const [id, timer] of this.#timers) {
        if (timer.dueMs <= targetMs && timer.dueMs < nextDueMs) {
          [nextId, nextDueMs] = [id, timer.dueMs];
        }
      }
      if (nextId < 0) break;
      const timer = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.#nowMs = timer.dueMs;
      timer.callback();
    }
    this.#nowMs = targetMs;
  }

  /** How many timers are pending. */
  get pendingTimers(): number {
    return this.#timers.size;
  }
}
