/**
 * Linearizability checking of the coordination service: a sequential specification of the
 * whole key space under gets, puts (plain or versioned), deletes of a key or a range and
 * transactions, for the checker's generic search, and the recorder of a history of such
 * requests made through clerks, with its check.
 *
 * ```ts
 * import { CoordinationHistory } from "./coordination_check/mod.ts";
 *
 * const history = new CoordinationHistory(clock);
 * await history.run(clerk, 0, { kind: "put", key: "a", value: "x", version: 0 });
 * history.check(10_000); // throws naming the operations at fault unless linearizable
 * ```
 *
 * @module
 */
export {
  type Answer,
  answerOf,
  answerText,
  applyRequest,
  COORDINATION_MODEL,
  type CoordinationPayload,
  type CoordinationRequest,
  type CoordinationState,
  EMPTY_STATE,
  type KeyState,
  type Outcome,
  payloadOf,
  type RecordAnswer,
  type TxnOpAnswer,
} from "./model.ts";
export {
  checkCoordinationHistory,
  commandOf,
  CoordinationHistory,
  coordinationOperation,
  describeRequest,
  describeState,
  explainFailure,
} from "./history.ts";
