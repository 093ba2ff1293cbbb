/**
 * Checks a history for linearizability, one key at a time (operations on different keys
 * never constrain each other, so each key's history is linearizable on its own or not at all).
 *
 * The verdict has three values on purpose: a check that ran out of time proves nothing, and
 * `assertLinearizable` fails on it just as it fails on a violation.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { isUnknownOutcome, type Operation, partitionByKey, validateHistory } from "./history.ts";
import { type SearchLimits, searchPartition, type Verdict } from "./partition_search.ts";
import type { Model, ModelOperation } from "./models.ts";
import { searchModel } from "./model_search.ts";

/** What the per-key loop needs of an operation, whatever its model. */
type TimedOperation = Pick<Operation, "key" | "callMs" | "returnMs">;

export type { Verdict } from "./partition_search.ts";

/** The default time budget of a whole check. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** The most time spent looking for the longest linearizable prefix of an illegal key. */
const MAX_DIAGNOSIS_MS = 500;
/** The default bound on the memory the memo of remembered configurations takes, per key. */
export const DEFAULT_MAX_MEMO_BYTES = 256 * 1024 * 1024;
/** What one remembered configuration costs besides its set's bits: objects, map entry. */
const MEMO_ENTRY_OVERHEAD_BYTES = 160;

/** Bounds on a check. */
export interface CheckOptions {
  /** Wall-clock budget for the whole history, in milliseconds; {@linkcode DEFAULT_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /**
   * Memory bound, per key, on remembered configurations (each costs about 160 bytes plus one
   * bit per operation on the key); {@linkcode DEFAULT_MAX_MEMO_BYTES}. Reaching it stops the
   * check with "timeout".
   */
  readonly maxMemoBytes?: number;
  /** The wall clock in milliseconds; `performance.now` unless a test substitutes it. */
  readonly now?: () => number;
}

/** What the check found for one key. Operations are named by their index in the history. */
export interface KeyCheck {
  /** The key. */
  readonly key: string;
  /** "ok", "illegal", or "timeout" (nothing proven). */
  readonly verdict: Verdict;
  /** Every operation on this key. */
  readonly operations: readonly number[];
  /**
   * In linearization order: when "ok", a linearization of every operation of known outcome (and
   * of the unknown ones that took effect); otherwise the longest linearizable prefix found.
   */
  readonly linearization: readonly number[];
  /**
   * When "illegal": the operations that could have come right after the longest prefix (their
   * call precedes every pending return) yet none of which leads to a full linearization.
   */
  readonly stuck: readonly number[];
  /** Search steps spent on this key. */
  readonly steps: number;
  /** Why the search stopped early; empty unless the verdict is "timeout". */
  readonly reason: string;
}

/** What the check found for a whole history. */
export interface CheckResult {
  /** "illegal" if any key is illegal, else "timeout" if any key timed out, else "ok". */
  readonly verdict: Verdict;
  /** One result per key, in sorted key order. */
  readonly keys: readonly KeyCheck[];
  /** Keys whose history is not linearizable. */
  readonly illegalKeys: readonly string[];
  /** Keys the budget did not allow to decide. */
  readonly timedOutKeys: readonly string[];
  /** The budget the check was given. */
  readonly timeoutMs: number;
  /** Wall-clock time the check took. */
  readonly elapsedMs: number;
}

/**
 * Checks whether `history` is linearizable with respect to a key/value map of strings. Throws
 * only on a malformed history; never mistakes "ran out of time" for "ok" (see `verdict`).
 */
export function checkHistory(
  history: readonly Operation[],
  options: CheckOptions = {},
): CheckResult {
  validateHistory(history);
  return checkByKey(history, options, (key, operations, limits) => {
    // A get of unknown outcome read nothing anyone saw: it constrains nothing.
    const searched = operations.filter((index) => {
      const operation = history[index];
      return !(operation.kind === "get" && isUnknownOutcome(operation));
    });
    return checkKey(history, key, operations, searched, limits);
  });
}

/**
 * Checks whether `history` is linearizable with respect to `model`, key by key, with the plain
 * search of `model_search.ts`. Like {@linkcode checkHistory}, never mistakes a timeout for "ok".
 */
export function checkModelHistory<State>(
  history: readonly ModelOperation[],
  model: Model<State>,
  options: CheckOptions = {},
): CheckResult {
  for (const operation of history) {
    assert(
      model.kinds.includes(operation.kind),
      `The ${model.name} model has no ${operation.kind} (${operation.source})`,
    );
  }
  return checkByKey(history, options, (key, operations, limits) => {
    // A read that never returned constrains nothing.
    const searched = operations.filter((index) => {
      const operation = history[index];
      const reads = operation.kind === "read" || operation.kind === "get";
      return !(reads && operation.returnMs === Infinity);
    });
    const outcome = searchModel(searched.map((index) => history[index]), model, limits);
    const linearization = outcome.linearization.map((local) => searched[local]);
    return {
      key,
      verdict: outcome.verdict,
      operations,
      linearization,
      stuck: outcome.verdict === "illegal" ? stuckOperations(history, searched, linearization) : [],
      steps: outcome.steps,
      reason: outcome.reason,
    };
  });
}

/** Checks each key's operations with `checkOne`, the small keys first, within one budget. */
function checkByKey(
  history: readonly TimedOperation[],
  options: CheckOptions,
  checkOne: (key: string, operations: readonly number[], limits: SearchLimits) => KeyCheck,
): CheckResult {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxMemoBytes = options.maxMemoBytes ?? DEFAULT_MAX_MEMO_BYTES;
  const now = options.now ?? (() => performance.now());
  assert(timeoutMs >= 0, `Cannot check within ${timeoutMs} ms`);
  assert(maxMemoBytes > 0, `Cannot check with a memo of at most ${maxMemoBytes} bytes`);
  const startMs = now();
  const deadlineMs = startMs + timeoutMs;
  const partitions = partitionByKey(history);
  // Small keys first: when one key eats the budget, the others have been decided already.
  const bySize = [...partitions.keys()].sort((left, right) =>
    partitions.get(left)!.length - partitions.get(right)!.length
  );
  const checks = new Map<string, KeyCheck>();
  for (const key of bySize) {
    const operations = partitions.get(key)!;
    const entryBytes = 4 * Math.ceil(operations.length / 32) + MEMO_ENTRY_OVERHEAD_BYTES;
    const maxMemoEntries = Math.max(1, Math.floor(maxMemoBytes / entryBytes));
    checks.set(key, checkOne(key, operations, { deadlineMs, maxMemoEntries, now }));
  }
  const keys = [...partitions.keys()].map((key) => checks.get(key)!);
  const illegalKeys = keys.filter((check) => check.verdict === "illegal").map((check) => check.key);
  const timedOutKeys = keys.filter((check) => check.verdict === "timeout").map((check) =>
    check.key
  );
  const verdict = illegalKeys.length > 0 ? "illegal" : timedOutKeys.length > 0 ? "timeout" : "ok";
  return { verdict, keys, illegalKeys, timedOutKeys, timeoutMs, elapsedMs: now() - startMs };
}

function checkKey(
  history: readonly Operation[],
  key: string,
  operations: readonly number[],
  searched: readonly number[],
  limits: SearchLimits,
): KeyCheck {
  const searchedOperations = searched.map((index) => history[index]);
  const outcome = searchPartition(searchedOperations, limits);
  let longest = outcome.linearization;
  if (outcome.verdict === "illegal") {
    // Guides stop a search before the operations at fault; extend its longest prefix without
    // them, briefly, so that the prefix ends right before those operations.
    const deadlineMs = Math.min(limits.deadlineMs, limits.now() + MAX_DIAGNOSIS_MS);
    const extended = searchPartition(searchedOperations, { ...limits, deadlineMs }, {
      guides: false,
      prefix: outcome.linearization,
    });
    assert(extended.verdict !== "ok", `Key ${key} is illegal yet linearizes without guides`);
    longest = extended.linearization;
  }
  const linearization = longest.map((local) => searched[local]);
  const stuck = outcome.verdict === "illegal"
    ? stuckOperations(history, searched, linearization)
    : [];
  return {
    key,
    verdict: outcome.verdict,
    operations,
    linearization,
    stuck,
    steps: outcome.steps,
    reason: outcome.reason,
  };
}

/** The operations that could have been linearized right after `prefix`. */
function stuckOperations(
  history: readonly TimedOperation[],
  searched: readonly number[],
  prefix: readonly number[],
): number[] {
  const done = new Set(prefix);
  const remaining = searched.filter((index) => !done.has(index));
  let earliestReturnMs = Infinity;
  for (const index of remaining) {
    earliestReturnMs = Math.min(earliestReturnMs, history[index].returnMs);
  }
  return remaining.filter((index) => history[index].callMs <= earliestReturnMs);
}
