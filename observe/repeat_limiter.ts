/**
 * Rate limiting of repeated faults in the log: fifty garbage connections must not print fifty
 * lines. Per kind of fault, the first few lines of a window are written; the rest are counted,
 * and one summary line ("N more … in the last 10 s") follows when the window ends. Memory is
 * bounded: a fixed number of kinds, each a few numbers.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";

/** Lines of one kind written per window unless told otherwise. */
export const DEFAULT_LINES_PER_WINDOW = 5;
/** Window length unless told otherwise. */
export const DEFAULT_WINDOW_MS = 10_000;
/** Most kinds tracked; further kinds share the last one's counts. */
const KINDS_MAX = 32;
/** The kind that every kind past {@linkcode KINDS_MAX} counts as. */
const OVERFLOW_KIND = "other faults";

/** Options of {@linkcode RepeatLimiter}. */
export interface RepeatLimiterOptions {
  /** Where written lines and summaries go. */
  readonly write: (line: string) => void;
  /** Time and the timer that writes summaries. */
  readonly clock: Clock;
  /** Lines of one kind written per window; default 5. */
  readonly linesPerWindow?: number;
  /** Default 10 000 ms. */
  readonly windowMs?: number;
}

interface KindState {
  windowStartMs: number;
  written: number;
  suppressed: number;
}

/**
 * Writes lines of each kind of fault at a bounded rate; see the module documentation.
 *
 * @example
 * ```ts
 * const limiter = new RepeatLimiter({ write: console.error, clock: realClock });
 * limiter.report("garbage connections", "closing the connection from 10.0.0.9:5123: bad frame");
 * limiter.close();
 * ```
 */
export class RepeatLimiter {
  readonly #options: Required<RepeatLimiterOptions>;
  readonly #kinds = new Map<string, KindState>();
  #timer: TimerHandle = null;

  /** A limiter writing to `options.write`. */
  constructor(options: RepeatLimiterOptions) {
    this.#options = {
      linesPerWindow: DEFAULT_LINES_PER_WINDOW,
      windowMs: DEFAULT_WINDOW_MS,
      ...options,
    };
    const { linesPerWindow, windowMs } = this.#options;
    assert(linesPerWindow >= 1, `Lines per window ${linesPerWindow} is below 1`);
    assert(windowMs > 0, `Window of ${windowMs} ms is not positive`);
  }

  /** Writes `line`, a fault of `kind`, unless that kind already wrote its lines this window. */
  report(kind: string, line: string): void {
    const nowMs = this.#options.clock.now();
    const [key, state] = this.#stateOf(kind, nowMs);
    if (nowMs - state.windowStartMs >= this.#options.windowMs) this.#endWindow(key, state, nowMs);
    if (state.written < this.#options.linesPerWindow) {
      state.written++;
      this.#options.write(line);
      return;
    }
    state.suppressed++;
    this.#armTimer();
  }

  /** Writes the summaries of windows that ended by now. */
  flush(): void {
    const nowMs = this.#options.clock.now();
    for (const [kind, state] of this.#kinds) {
      if (nowMs - state.windowStartMs >= this.#options.windowMs) {
        this.#endWindow(kind, state, nowMs);
      }
    }
  }

  /** Writes every pending summary now and stops the timer. */
  close(): void {
    this.#options.clock.clearTimeout(this.#timer);
    this.#timer = null;
    for (const [kind, state] of this.#kinds) {
      this.#endWindow(kind, state, this.#options.clock.now());
    }
  }

  /** The state `kind` counts in, and that state's kind. */
  #stateOf(kind: string, nowMs: number): [string, KindState] {
    const known = this.#kinds.get(kind);
    if (known !== undefined) return [kind, known];
    const key = this.#kinds.size < KINDS_MAX - 1 ? kind : OVERFLOW_KIND;
    const state = this.#kinds.get(key) ?? { windowStartMs: nowMs, written: 0, suppressed: 0 };
    this.#kinds.set(key, state);
    return [key, state];
  }

  #endWindow(kind: string, state: KindState, nowMs: number): void {
    if (state.suppressed > 0) {
      const seconds = Math.round((nowMs - state.windowStartMs) / 1000);
      this.#options.write(`${state.suppressed} more ${kind} in the last ${seconds} s`);
    }
    state.windowStartMs = nowMs;
    state.written = 0;
    state.suppressed = 0;
  }

  /** A summary is due at the end of the window: a quiet fault must still get its count out. */
  #armTimer(): void {
    if (this.#timer !== null) return;
    let dueMs = Infinity;
    for (const state of this.#kinds.values()) {
      if (state.suppressed > 0) {
        dueMs = Math.min(dueMs, state.windowStartMs + this.#options.windowMs);
      }
    }
    if (dueMs === Infinity) return;
    const delayMs = Math.max(0, dueMs - this.#options.clock.now());
    this.#timer = this.#options.clock.setTimeout(() => {
      this.#timer = null;
      this.flush();
      this.#armTimer();
    }, delayMs);
  }
}
