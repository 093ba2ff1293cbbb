/**
 * Where a MapReduce process spends its time, phase by phase, summed over its tasks: what
 * `dsys worker --timings`, `dsys sequential --timings` and `dsys bench mr --timings` print, so
 * that a slow job can be explained without a profiler.
 *
 * @module
 */
import { type Clock, realClock } from "../util/clock.ts";

/** The phases, in the order a job goes through them. */
export const PHASES = [
  "read input",
  "map",
  "partition",
  "encode",
  "write intermediates",
  "fsync",
  "read intermediates",
  "decode",
  "group",
  "sort",
  "reduce",
  "write output",
] as const;

/** One phase of a task. */
export type Phase = typeof PHASES[number];

/** What a process's `--timings` line says before its phases; `dsys bench mr` looks for it. */
export const TIMINGS_LABEL = "timings: ";

/** Milliseconds per phase, summed; phases are timed one at a time, never nested. */
export class PhaseTimes {
  readonly #clock: Clock;
  readonly #totalsMs = new Map<Phase, number>();

  /** Starts with every phase at zero. */
  constructor(clock: Clock = realClock) {
    this.#clock = clock;
  }

  /** Runs `body`, adds its duration to `phase` (even when it throws) and returns its result. */
  async time<T>(phase: Phase, body: () => T | Promise<T>): Promise<T> {
    const startMs = this.#clock.now();
    try {
      return await body();
    } finally {
      this.add(phase, this.#clock.now() - startMs);
    }
  }

  /** Adds `durationMs` to `phase`. */
  add(phase: Phase, durationMs: number): void {
    this.#totalsMs.set(phase, (this.#totalsMs.get(phase) ?? 0) + durationMs);
  }

  /** The total of `phase` so far, in milliseconds. */
  totalMs(phase: Phase): number {
    return this.#totalsMs.get(phase) ?? 0;
  }

  /** The `--timings` line: `timings: read input 0.21 s · map 1.90 s`. */
  line(): string {
    return `${TIMINGS_LABEL}${this.format()}`;
  }

  /** The phases that took any time, in job order: `read input 0.21 s · map 1.90 s`. */
  format(): string {
    const parts = PHASES.filter((phase) => this.#totalsMs.has(phase))
      .map((phase) => `${phase} ${(this.totalMs(phase) / 1000).toFixed(2)} s`);
    return parts.length === 0 ? "nothing timed" : parts.join(" · ");
  }
}
