/**
 * Time as components see it. The real clock wraps the platform's timers; the simulation's
 * virtual clock implements the same interface, so drivers and services run unchanged on both.
 *
 * @module
 */

/** An opaque handle for a pending timer; only the clock that made it can read it. */
export type TimerHandle = unknown;

/** A source of time and timers, in milliseconds. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
  /** Runs `callback` once after `delayMs`. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a pending timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The process's real clock: `performance.now()` and the platform's timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `delayMs` on `clock`. */
export function sleep(clock: Clock, delayMs: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, delayMs));
}
