/**
 * The deterministic simulation's scheduler: a virtual clock with timers, one seeded random
 * source, and a trace hash. {@linkcode Simulation.run} starts the test's main function, then runs
 * timers one at a time in (due time, insertion order), letting every promise continuation settle
 * between two timers, and advances virtual time only when nothing else can run. The same seed and
 * the same code give the same sequence of events and the same trace hash.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";
import { type Random, SeededRandom } from "../util/random.ts";
import { SimTimer, TimerQueue } from "./timer_queue.ts";
import { TraceHash } from "./trace_hash.ts";
import type { SimRecorder } from "./recorder.ts";

/** Limits on one {@linkcode Simulation.run}; exceeding one rejects the run. */
export interface RunOptions {
  /** Virtual time the run may reach (default one virtual hour). */
  maxVirtualMs?: number;
  /** Timer events the run may fire (default 100 million). */
  maxEvents?: number;
  /** Timer events that may fire without virtual time advancing (default 100,000): a livelock. */
  maxEventsAtOneInstant?: number;
}

/** Default for {@linkcode RunOptions.maxVirtualMs}: one virtual hour. */
export const DEFAULT_MAX_VIRTUAL_MS = 60 * 60 * 1000;
/** Default for {@linkcode RunOptions.maxEvents}. */
export const DEFAULT_MAX_EVENTS = 100_000_000;
/** Default for {@linkcode RunOptions.maxEventsAtOneInstant}. */
export const DEFAULT_MAX_EVENTS_AT_ONE_INSTANT = 100_000;

interface Outcome<T> {
  settled: boolean;
  failed: boolean;
  value?: T;
  error?: unknown;
}

/**
 * Resolves once every promise continuation queued so far, and every one those queue in turn, has
 * run. An immediate is a macrotask, and the event loop empties the microtask queue (and Node's
 * next-tick queue) before it runs one; a round trip costs about a microsecond, where a nested
 * `setTimeout(…, 0)` costs milliseconds. (A `MessageChannel` round trip is not enough in Deno:
 * the message arrives after only a few microtask turns, with long continuation chains unfinished.)
 */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// Only one simulation may run at a time: its virtual clock owns the process's microtask queue.
let runningSeed: number | null = null;

/** A virtual clock, timer queue, seeded random source and trace hash for one test run. */
export class Simulation implements Clock {
  /** The seed this run was made from; print it when a test fails so the run can be replayed. */
  readonly seed: number;
  /** The run's only source of randomness. */
  readonly random: Random;
  /** Hears every event when set (`--trace`); null, the default, records nothing. */
  recorder: SimRecorder | null = null;
  readonly #queue = new TimerQueue();
  readonly #trace = new TraceHash();
  #nowMs = 0;
  #eventCount = 0;
  #state: "ready" | "running" | "finished" = "ready";
  #failure: { error: unknown } | null = null;

  /** Creates a simulation at virtual time 0 whose random source is seeded with `seed`. */
  constructor(seed: number) {
    this.seed = seed;
    this.random = new SeededRandom(seed);
  }

  /** Virtual milliseconds since the simulation started. */
  now(): number {
    return this.#nowMs;
  }

  /** Timer events fired so far. */
  get eventCount(): number {
    return this.#eventCount;
  }

  /** Timers pending and not cancelled. */
  get pendingTimerCount(): number {
    return this.#queue.liveCount;
  }

  /**
   * Runs `callback` once `delayMs` virtual milliseconds from now (a negative delay counts as 0).
   * After the run has finished, timers are ignored: nothing from a finished run may fire.
   */
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    assert(Number.isFinite(delayMs), `Cannot set a timer ${delayMs} ms from now`);
    if (this.#state === "finished") return null;
    return this.#queue.add(this.#nowMs + Math.max(0, delayMs), callback);
  }

  /** Cancels a pending timer; a timer that fired, was cancelled, or is not ours is ignored. */
  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof SimTimer && handle.queue === this.#queue) this.#queue.cancel(handle);
  }

  /** Resolves after `delayMs` virtual milliseconds. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, delayMs));
  }

  /** Folds `label` and the current virtual time into the trace hash. */
  trace(label: string): void {
    this.#trace.foldNumber(this.#nowMs);
    this.#trace.foldText(label);
  }

  /**
   * Folds three numbers and the current virtual time into the trace hash: a cheaper
   * {@linkcode Simulation.trace} for hot paths, such as the network's deliveries (an event
   * kind, the end's number, a byte count).
   */
  traceEvent(kind: number, subject: number, detail: number): void {
    this.#trace.foldNumber(this.#nowMs);
    this.#trace.foldWord(kind);
    this.#trace.foldWord(subject);
    this.#trace.foldWord(detail);
  }

  /** The trace hash so far, as 16 hex digits; equal for two runs of one seed and one program. */
  traceHash(): string {
    return this.#trace.toHex();
  }

  /**
   * Makes the current run reject with `error` once pending continuations have settled, whatever
   * the main function does; for failures found outside the main function (a background checker,
   * a livelock). The first failure wins.
   */
  fail(error: unknown): void {
    if (this.#failure === null) this.#failure = { error };
  }

  /**
   * Runs `main` to completion on virtual time and resolves with its value (or rejects with its
   * error) as soon as it settles; timers still pending are discarded and never fire. Rejects when
   * no timer is pending while `main` is still waiting (a deadlock), when a limit in `options` is
   * passed, when a timer callback throws, or when {@linkcode Simulation.fail} was called.
   * A simulation runs once, and only one may run at a time in a process.
   */
  async run<T>(main: () => Promise<T>, options: RunOptions = {}): Promise<T> {
    assert(
      this.#state === "ready",
      `Cannot run simulation ${this.seed} again: make a new simulation for each run`,
    );
    assert(
      runningSeed === null,
      `Cannot run simulation ${this.seed}: simulation ${runningSeed} is still running`,
    );
    runningSeed = this.seed;
    this.#state = "running";
    try {
      const outcome: Outcome<T> = { settled: false, failed: false };
      Promise.resolve(main()).then(
        (value) => Object.assign(outcome, { settled: true, value }),
        (error) => Object.assign(outcome, { settled: true, failed: true, error }),
      );
      await this.#loop(outcome, options);
      if (outcome.failed) throw outcome.error;
      return outcome.value as T;
    } finally {
      this.#queue.clear();
      this.#state = "finished";
      runningSeed = null;
    }
  }

  async #loop<T>(outcome: Outcome<T>, options: RunOptions): Promise<void> {
    const maxVirtualMs = options.maxVirtualMs ?? DEFAULT_MAX_VIRTUAL_MS;
    const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    const maxEventsAtOneInstant = options.maxEventsAtOneInstant ??
      DEFAULT_MAX_EVENTS_AT_ONE_INSTANT;
    let eventsAtThisInstant = 0;
    for (let events = 0; events <= maxEvents; events++) {
      await drainMicrotasks();
      if (this.recorder !== null) this.recorder.settled(this.#nowMs);
      if (this.#failure !== null) throw this.#failure.error;
      if (outcome.settled) return;
      const timer = this.#queue.pop();
      if (timer === null) {
        throw new Error(
          `Simulation deadlocked at ${this.#nowMs} ms: no timer is pending and the test has not finished`,
        );
      }
      this.#checkLimits(timer, events, options, maxVirtualMs, maxEvents);
      eventsAtThisInstant = timer.dueMs === this.#nowMs ? eventsAtThisInstant + 1 : 1;
      if (eventsAtThisInstant > maxEventsAtOneInstant) {
        throw new Error(
          `Simulation livelocked at ${this.#nowMs} ms: ${maxEventsAtOneInstant} timers fired ` +
            `without virtual time advancing`,
        );
      }
      this.#fire(timer);
    }
  }

  #checkLimits(
    timer: SimTimer,
    events: number,
    options: RunOptions,
    maxVirtualMs: number,
    maxEvents: number,
  ): void {
    if (timer.dueMs > maxVirtualMs) {
      const limit = options.maxVirtualMs === undefined ? " (the default)" : "";
      throw new Error(
        `Simulation passed its limit of ${maxVirtualMs} virtual ms${limit}: at ${this.#nowMs} ms ` +
          `the test has not finished and the next timer is due at ${timer.dueMs} ms`,
      );
    }
    if (events >= maxEvents) {
      throw new Error(
        `Simulation passed its limit of ${maxEvents} events at ${this.#nowMs} ms ` +
          `without the test finishing`,
      );
    }
  }

  #fire(timer: SimTimer): void {
    const callback = timer.callback;
    assert(callback !== null, `Timer ${timer.sequence} popped after it fired or was cancelled`);
    assert(timer.dueMs >= this.#nowMs, `Timer due at ${timer.dueMs} ms fired at ${this.#nowMs} ms`);
    timer.callback = null;
    this.#nowMs = timer.dueMs;
    this.#eventCount += 1;
    this.#trace.foldNumber(timer.dueMs);
    this.#trace.foldWord(timer.sequence);
    callback();
  }
}
