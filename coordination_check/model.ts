/**
 * A sequential specification of the coordination service for the linearizability checker's
 * generic search (`linearizability/model_search.ts`): the whole key space — every key's value,
 * version, create and mod revision — and the cluster-wide revision, under gets, puts (plain or
 * versioned), deletes of a key or a range, and transactions.
 *
 * It is written from etcd's documented semantics, not from `kv/state_machine.ts`:
 * - the revision moves on by one for each request that changes at least one key, and every
 *   change of that request carries it (a transaction's changes share one revision); a request
 *   that changes nothing (a delete of nothing, a refused versioned put, a transaction whose
 *   branch only reads) leaves the revision where it was;
 * - a put makes a key's version one more than before (1 when it creates the key) and sets its
 *   mod revision; a key created anew (after a delete) starts again at version 1 with a new
 *   create revision;
 * - a transaction evaluates all its comparisons against the state before it, then runs one
 *   branch's operations in order, each seeing the ones before it;
 * - every reply names the revision after the request (for a read, the revision read at).
 *
 * Where the service documents a choice of its own, the model follows the service: the revision
 * starts at 0 (etcd's at 1); a get of a missing key answers ErrNoKey (etcd's range answers no
 * keys); a comparison sees a missing key as value "", version 0, revisions 0 (etcd fails every
 * value comparison of a missing key); versioned puts are the 2025 lab's (etcd has none).
 *
 * Keys are ordered by UTF-16 code units, the store by UTF-8 bytes: the same for the ASCII keys
 * the tests use.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Compare, Txn, TxnOp } from "../kv/command.ts";
import type { KvReply, TxnResponse } from "../kv/protocol.ts";
import type { Model, ModelOperation } from "../linearizability/models.ts";

/** One key as the service holds it. */
export interface KeyState {
  /** The key. */
  readonly key: string;
  /** Its value. */
  readonly value: string;
  /** Puts since it was (last) created: 1 after the first. */
  readonly version: number;
  /** The revision that created it. */
  readonly create: number;
  /** The revision of its last put. */
  readonly mod: number;
}

/** The whole service: every key, in key order, and the cluster-wide revision. */
export interface CoordinationState {
  /** The keys that exist, in key order. */
  readonly keys: readonly KeyState[];
  /** How many requests changed a key. */
  readonly revision: number;
}

/** The service before any request. */
export const EMPTY_STATE: CoordinationState = { keys: [], revision: 0 };

/** A request the model covers: a subset of `kv/command.ts`'s commands. */
export type CoordinationRequest =
  | { readonly kind: "get"; readonly key: string }
  | {
    readonly kind: "put";
    readonly key: string;
    readonly value: string;
    /** Write only at this version (0: only a missing key); absent: whatever the version. */
    readonly version?: number;
  }
  | { readonly kind: "delete"; readonly key: string; readonly end?: string }
  | { readonly kind: "txn"; readonly txn: Txn };

/** A key in a range's answer: key, value, version, create and mod revision. */
export type RecordAnswer = readonly [string, string, number, number, number];

/** What one operation of a transaction answered. */
export type TxnOpAnswer =
  | { readonly kind: "put"; readonly version: number }
  | { readonly kind: "delete"; readonly deleted: number }
  | { readonly kind: "range"; readonly records: readonly RecordAnswer[]; readonly more: boolean };

/** The fields of a reply the model determines, in one form for the model and the service. */
export type Answer =
  | {
    readonly kind: "get";
    readonly err: string;
    readonly value: string;
    readonly version: number;
    readonly create: number;
    readonly mod: number;
    readonly revision: number | null;
  }
  | {
    readonly kind: "put";
    readonly err: string;
    readonly version: number;
    readonly revision: number | null;
  }
  | {
    readonly kind: "delete";
    readonly err: string;
    readonly deleted: number;
    readonly revision: number | null;
  }
  | {
    readonly kind: "txn";
    readonly err: string;
    readonly succeeded: boolean;
    readonly responses: readonly TxnOpAnswer[];
    readonly revision: number | null;
  };

/** What a history's operation carries for this model: its request, and its answer if known. */
export interface CoordinationPayload {
  /** What was asked. */
  readonly request: CoordinationRequest;
  /** What the service answered; null when the clerk never returned (unknown outcome). */
  readonly answer: Answer | null;
}

/** The model's answer to `request` and the state after it. */
export interface Outcome {
  /** The state after the request. */
  readonly state: CoordinationState;
  /** What the service should answer. */
  readonly answer: Answer;
}

/** The state being changed by one request: the revision moves on at its first change. */
class Draft {
  readonly #keys: Map<string, KeyState>;
  #revision: number;
  #changed = false;

  constructor(state: CoordinationState) {
    this.#keys = new Map(state.keys.map((key) => [key.key, key]));
    this.#revision = state.revision;
  }

  get revision(): number {
    return this.#revision;
  }

  get(key: string): KeyState | undefined {
    return this.#keys.get(key);
  }

  put(key: string, value: string): number {
    const before = this.#keys.get(key);
    const revision = this.#change();
    const version = (before?.version ?? 0) + 1;
    this.#keys.set(key, { key, value, version, create: before?.create ?? revision, mod: revision });
    return version;
  }

  delete(key: string, end: string | undefined): number {
    const doomed = this.#inRange(key, end);
    if (doomed.length > 0) this.#change();
    for (const record of doomed) this.#keys.delete(record.key);
    return doomed.length;
  }

  /** The keys of the range, in key order, at most `limit` (0: all), and whether more follow. */
  range(key: string, end: string | undefined, limit: number): TxnOpAnswer {
    const found = this.#inRange(key, end);
    const shown = limit > 0 ? found.slice(0, limit) : found;
    return { kind: "range", records: shown.map(recordAnswer), more: shown.length < found.length };
  }

  state(): CoordinationState {
    const keys = [...this.#keys.values()].sort(byKey);
    return { keys, revision: this.#revision };
  }

  #change(): number {
    if (!this.#changed) this.#revision++;
    this.#changed = true;
    return this.#revision;
  }

  /** One key (`end` undefined), `[key, end)`, or every key from `key` on (`end` ""). */
  #inRange(key: string, end: string | undefined): KeyState[] {
    const inside = (name: string) =>
      end === undefined ? name === key : name >= key && (end === "" || name < end);
    return [...this.#keys.values()].filter((record) => inside(record.key))
      .sort(byKey);
  }
}

/** Key order (UTF-16 code units; the same as the store's for the tests' ASCII keys). */
function byKey(a: KeyState, b: KeyState): number {
  return a.key < b.key ? -1 : 1;
}

function recordAnswer(record: KeyState): RecordAnswer {
  return [record.key, record.value, record.version, record.create, record.mod];
}

/** The state after `request` in `state`, and what the service should answer. */
export function applyRequest(state: CoordinationState, request: CoordinationRequest): Outcome {
  const draft = new Draft(state);
  let answer: Answer;
  switch (request.kind) {
    case "get": {
      const record = draft.get(request.key);
      answer = getAnswer(record === undefined ? "ErrNoKey" : "OK", record, state.revision);
      break;
    }
    case "put": {
      const current = draft.get(request.key)?.version ?? 0;
      const wanted = request.version;
      const err = wanted === undefined || wanted === current
        ? "OK"
        : current === 0 && wanted > 0
        ? "ErrNoKey"
        : "ErrVersion";
      const version = err === "OK" ? draft.put(request.key, request.value) : 0;
      answer = { kind: "put", err, version, revision: draft.revision };
      break;
    }
    case "delete": {
      const deleted = draft.delete(request.key, request.end);
      answer = { kind: "delete", err: "OK", deleted, revision: draft.revision };
      break;
    }
    case "txn": {
      const txn = request.txn;
      const succeeded = txn.compare.every((compare) => holds(compare, draft.get(compare.key)));
      const responses = (succeeded ? txn.success : txn.failure).map((op) => runTxnOp(draft, op));
      answer = { kind: "txn", err: "OK", succeeded, responses, revision: draft.revision };
      break;
    }
  }
  return { state: draft.state(), answer };
}

function getAnswer(err: string, record: KeyState | undefined, revision: number | null): Answer {
  return {
    kind: "get",
    err,
    value: record?.value ?? "",
    version: record?.version ?? 0,
    create: record?.create ?? 0,
    mod: record?.mod ?? 0,
    revision,
  };
}

function runTxnOp(draft: Draft, op: TxnOp): TxnOpAnswer {
  switch (op.kind) {
    case "put":
      assert(op.lease === undefined, `The model has no leases (put of ${op.key} in a txn)`);
      return { kind: "put", version: draft.put(op.key, op.value) };
    case "delete":
      return { kind: "delete", deleted: draft.delete(op.key, op.end) };
    case "range":
      return draft.range(op.key, op.end, op.limit ?? 0);
  }
}

/** Whether `compare` holds of `record` (undefined: a missing key, value "" and numbers 0). */
function holds(compare: Compare, record: KeyState | undefined): boolean {
  const actual: string | number = compare.target === "value"
    ? record?.value ?? ""
    : compare.target === "version"
    ? record?.version ?? 0
    : compare.target === "create"
    ? record?.create ?? 0
    : record?.mod ?? 0;
  switch (compare.op) {
    case "=":
      return actual === compare.value;
    case "!=":
      return actual !== compare.value;
    case "<":
      return actual < compare.value;
    case ">":
      return actual > compare.value;
  }
}

/** The fields of `reply` the model determines, for `request`. */
export function answerOf(request: CoordinationRequest, reply: KvReply): Answer {
  const revision = reply.revision ?? null;
  switch (request.kind) {
    case "get": {
      const record = reply.records?.[0];
      return {
        kind: "get",
        err: reply.err,
        value: reply.value,
        version: reply.version ?? 0,
        create: record?.createRevision ?? 0,
        mod: record?.modRevision ?? 0,
        revision,
      };
    }
    case "put":
      return { kind: "put", err: reply.err, version: reply.version ?? 0, revision };
    case "delete":
      return { kind: "delete", err: reply.err, deleted: reply.deleted ?? 0, revision };
    case "txn":
      return {
        kind: "txn",
        err: reply.err,
        succeeded: reply.succeeded ?? false,
        responses: (reply.responses ?? []).map(txnOpAnswerOf),
        revision,
      };
  }
}

function txnOpAnswerOf(response: TxnResponse): TxnOpAnswer {
  switch (response.kind) {
    case "put":
      return { kind: "put", version: response.version ?? 0 };
    case "delete":
      return { kind: "delete", deleted: response.deleted ?? 0 };
    case "range": {
      const records = (response.records ?? []).map((record): RecordAnswer => [
        record.key,
        record.value,
        record.version,
        record.createRevision,
        record.modRevision,
      ]);
      return { kind: "range", records, more: response.more ?? false };
    }
  }
}

/** `answer` as text: equal for equal answers (fields always in the same order). */
export function answerText(answer: Answer): string {
  return JSON.stringify(answer);
}

/** The coordination payload of `operation`; throws if it has none. */
export function payloadOf(operation: ModelOperation): CoordinationPayload {
  const payload = operation.payload as CoordinationPayload | undefined;
  assert(
    payload !== undefined && typeof payload.request === "object",
    `Operation ${operation.source} carries no coordination request`,
  );
  return payload;
}

/** Whether `answer` says the request changed a key. */
function wrote(answer: Answer): boolean {
  switch (answer.kind) {
    case "get":
      return false;
    case "put":
      return answer.err === "OK";
    case "delete":
      return answer.deleted > 0;
    case "txn":
      return answer.responses.some((response) =>
        response.kind === "put" || (response.kind === "delete" && response.deleted > 0)
      );
  }
}

/** Whether `request` could change a key whatever the state (a txn that only reads cannot). */
function mayWrite(request: CoordinationRequest): boolean {
  if (request.kind === "get") return false;
  if (request.kind !== "txn") return true;
  const ops = [...request.txn.success, ...request.txn.failure];
  return ops.some((op) => op.kind !== "range");
}

/**
 * The coordination service as a {@linkcode Model}: an operation fits a state when the model's
 * answer there is the one recorded (any answer, when none was: the clerk never returned).
 * Histories are checked as one partition: give every operation the key "".
 */
export const COORDINATION_MODEL: Model<CoordinationState> = {
  name: "coordination",
  kinds: ["get", "put", "delete", "txn"],
  initial: EMPTY_STATE,
  step(state, operation) {
    const { request, answer } = payloadOf(operation);
    const outcome = applyRequest(state, request);
    if (answer === null) return outcome.state;
    return answerText(outcome.answer) === answerText(answer) ? outcome.state : undefined;
  },
  fingerprint: (state) => JSON.stringify([state.revision, ...state.keys.map(recordAnswer)]),
  isPure(operation) {
    const { request, answer } = payloadOf(operation);
    // An answer that says nothing was written fits only a step that leaves the state as it is.
    return !mayWrite(request) || (answer !== null && !wrote(answer));
  },
};
