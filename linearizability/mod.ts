/**
 * A linearizability checker for key/value histories (Get, Put, Append on string values), used by
 * the KV lab suites and the real-cluster tests to check every history they record, and by
 * `dsys check` for histories from files against other models too (`models.ts`, `history_file.ts`).
 *
 * ```ts
 * import { assertLinearizable, HistoryRecorder } from "./linearizability/mod.ts";
 *
 * const recorder = new HistoryRecorder(clock);
 * const pending = recorder.begin(clientId, "append", "k", "x");
 * // ... the operation runs ...
 * recorder.end(pending);
 * assertLinearizable(recorder.history(), { timeoutMs: 5_000 }); // throws if illegal or undecided
 * ```
 *
 * The check is fastest when clients write distinct values that start with a marker character
 * found nowhere else in any value (the lab's `x 3 17 y`, or `[3.17]`): then a value read tells
 * which writes it contains, and the search need not try orders of writes. Other values are
 * checked correctly too, but histories with many concurrent puts and appends to one key and
 * few reads may then exhaust the budget (the verdict is then "timeout", never "ok").
 *
 * @module
 */
export {
  checkHistory,
  type CheckOptions,
  type CheckResult,
  DEFAULT_MAX_MEMO_BYTES,
  DEFAULT_TIMEOUT_MS,
  type KeyCheck,
  type Verdict,
} from "./checker.ts";
export {
  assertLinearizable,
  type AssertOptions,
  LinearizabilityError,
} from "./assert_linearizable.ts";
export {
  describeOperation,
  HistoryRecorder,
  isUnknownOutcome,
  type Operation,
  type OperationKind,
  partitionByKey,
  type PendingOperation,
  UNKNOWN_RETURN_MS,
  validateHistory,
} from "./history.ts";
export { type ModelStep, replay, stepModel } from "./kv_model.ts";
export { renderHtml, type RenderOptions, writeHtml } from "./visualize.ts";
export {
  DEFAULT_GENERATOR_OPTIONS,
  generateHistory,
  type GeneratorOptions,
} from "./history_generator.ts";
