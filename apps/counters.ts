/**
 * Counters (the MapReduce paper, section 4.9): an application counts named events in map and
 * reduce (`counters.add("long words")`); each task attempt counts into its own set, the worker
 * reports it with the attempt, and the coordinator adds the set of the one attempt it accepts,
 * so a task's counts are taken once however many attempts ran.
 *
 * @module
 */

/** What map and reduce receive to count with. */
export interface Counters {
  /** Adds `amount` (a whole number ≥ 0, default 1) to the counter `name`. */
  add(name: string, amount?: number): void;
}

/** Most distinct counters one job may have. */
export const COUNTERS_MAX = 100;
/** Longest counter name, in characters. */
export const COUNTER_NAME_CHARS_MAX = 100;

/** Why `name` and `amount` cannot be counted, or null. */
function countProblem(name: unknown, amount: unknown): string | null {
  if (typeof name !== "string" || name.length === 0 || name.length > COUNTER_NAME_CHARS_MAX) {
    return `counter name ${
      JSON.stringify(name)
    } is not a string of 1 to ${COUNTER_NAME_CHARS_MAX} characters`;
  }
  if (!Number.isSafeInteger(amount) || (amount as number) < 0) {
    return `counter ${JSON.stringify(name)} cannot grow by ${
      String(amount)
    }: not a whole number ≥ 0`;
  }
  return null;
}

/**
 * A set of named counts, bounded to {@linkcode COUNTERS_MAX} names.
 *
 * @example
 * ```ts
 * import { CounterSet } from "./counters.ts";
 * const counters = new CounterSet();
 * counters.add("words", 3);
 * counters.add("words");
 * counters.counts(); // { words: 4 }
 * ```
 */
export class CounterSet implements Counters {
  readonly #counts = new Map<string, number>();

  /** Adds `amount` to `name`; throws a one-line error naming what is at fault. */
  add(name: string, amount = 1): void {
    const problem = countProblem(name, amount);
    if (problem !== null) throw new Error(`Cannot count: ${problem}`);
    if (!this.#counts.has(name) && this.#counts.size >= COUNTERS_MAX) {
      throw new Error(`Cannot count ${JSON.stringify(name)}: ${COUNTERS_MAX} counters exist`);
    }
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + amount);
  }

  /** Adds every count of `counts`. */
  addAll(counts: Readonly<Record<string, number>>): void {
    for (const [name, amount] of Object.entries(counts)) this.add(name, amount);
  }

  /** The counts, by name in sorted order. */
  counts(): Record<string, number> {
    const sorted = [...this.#counts.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return Object.fromEntries(sorted);
  }
}

/** Why `value` (from a worker's report) is not a set of counts, or null. */
export function countsProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "counters are not an object";
  }
  const entries = Object.entries(value);
  if (entries.length > COUNTERS_MAX) return `${entries.length} counters, over ${COUNTERS_MAX}`;
  for (const [name, amount] of entries) {
    const problem = countProblem(name, amount);
    if (problem !== null) return problem;
  }
  return null;
}

/** The counts as `name=count` pairs, or "none". */
export function formatCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? "none" : entries.map(([name, n]) => `${name}=${n}`).join(", ");
}
