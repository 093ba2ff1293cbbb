/**
 * The history of coordination requests clerks made (gets, puts, versioned puts, deletes,
 * transactions), with call and return times on a clock, and its check against
 * {@linkcode COORDINATION_MODEL}. Each request goes through `Clerk.send`, whose reply is exact:
 * a retried write gets the reply its first application got (the servers' duplicate table). An
 * operation whose clerk never returned has unknown outcome: it may or may not have happened.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clerk, Operation } from "../kv/clerk.ts";
import type { KvReply } from "../kv/protocol.ts";
import type { TxnOp } from "../kv/command.ts";
import { checkModelHistory, type CheckResult } from "../linearizability/checker.ts";
import type { ModelOperation } from "../linearizability/models.ts";
import { type HistoryClock, OperationLog } from "../labs/operation_log.ts";
import {
  answerOf,
  answerText,
  applyRequest,
  COORDINATION_MODEL,
  type CoordinationPayload,
  type CoordinationRequest,
  type CoordinationState,
  EMPTY_STATE,
  payloadOf,
} from "./model.ts";

/** How many operations at fault a failed check lists. */
const LISTED_OPERATIONS_MAX = 6;

/** Records coordination requests as clerks run them, on a clock (virtual in simulation). */
export class CoordinationHistory {
  readonly #log: OperationLog;

  /** A recorder that refuses to hold more than `operationsMax` operations. */
  constructor(clock: HistoryClock, operationsMax = 100_000) {
    this.#log = new OperationLog(clock, operationsMax);
  }

  /** Operations recorded so far. */
  get length(): number {
    return this.#log.length;
  }

  /** The history so far; operations that have not returned have unknown outcome. */
  history(): ModelOperation[] {
    return this.#log.history();
  }

  /**
   * Runs `request` through `clerk` as client `client`'s and records it; if the clerk throws
   * (it was closed), the operation keeps an unknown outcome and the error goes on.
   */
  async run(clerk: Clerk, client: number, request: CoordinationRequest): Promise<KvReply> {
    const fields = operationFields(client, { request, answer: null });
    const index = this.#log.begin(fields, describeRequest(request));
    const reply = await clerk.send(commandOf(request));
    const answer = answerOf(request, reply);
    this.#log.end(index, { payload: { request, answer } }, () => answerText(answer));
    return reply;
  }

  /**
   * Checks the history within `timeoutMs` of wall time; throws, naming the operations at fault
   * and what the model would have answered, unless it is proven linearizable (a check that runs
   * out of time fails too).
   */
  check(timeoutMs: number): { operations: number; unknown: number; elapsedMs: number } {
    const history = this.history();
    const result = checkCoordinationHistory(history, timeoutMs);
    if (result.verdict !== "ok") throw new Error(explainFailure(history, result));
    const unknown = history.filter((operation) => operation.returnMs === Infinity).length;
    return { operations: history.length, unknown, elapsedMs: result.elapsedMs };
  }
}

/**
 * A history's operation of `client` for {@linkcode COORDINATION_MODEL}, from `callMs` to
 * `returnMs` (Infinity, with a null answer: never returned); `source` names it in messages.
 */
export function coordinationOperation(
  client: number,
  callMs: number,
  returnMs: number,
  payload: CoordinationPayload,
  source: string,
): ModelOperation {
  assert(
    (payload.answer === null) === (returnMs === Infinity),
    `Operation ${source} has an answer ${
      payload.answer === null ? "yet returned" : "yet never returned"
    }`,
  );
  return {
    ...operationFields(client, payload),
    callMs,
    returnMs,
    maybe: returnMs === Infinity,
    source,
  };
}

/** What an operation of `client` with `payload` is, apart from when it was called and returned. */
function operationFields(
  client: number,
  payload: CoordinationPayload,
): Omit<ModelOperation, "callMs" | "returnMs" | "maybe" | "source"> {
  return {
    clientId: client,
    kind: payload.request.kind,
    // One partition: a transaction spans keys.
    key: "",
    value: null,
    expected: null,
    output: null,
    version: 0,
    reply: "OK",
    payload,
  };
}

/** Checks a history of coordination operations (all with key "") within `timeoutMs`. */
export function checkCoordinationHistory(
  history: readonly ModelOperation[],
  timeoutMs: number,
): CheckResult {
  return checkModelHistory(history, COORDINATION_MODEL, { timeoutMs });
}

/** Why `result` is not "ok": the longest linearizable prefix's state, and what could not follow. */
export function explainFailure(history: readonly ModelOperation[], result: CheckResult): string {
  const lines: string[] = [];
  for (const check of result.keys) {
    if (check.verdict === "timeout") {
      lines.push(`undecided within ${result.timeoutMs} ms (${check.reason})`);
      continue;
    }
    if (check.verdict !== "illegal") continue;
    let state: CoordinationState = EMPTY_STATE;
    for (const index of check.linearization) {
      state = applyRequest(state, payloadOf(history[index]).request).state;
    }
    lines.push(
      `${check.linearization.length} of ${check.operations.length} operations linearize, ` +
        `leaving ${describeState(state)}; none of these can come next:`,
    );
    for (const index of check.stuck.slice(0, LISTED_OPERATIONS_MAX)) {
      const operation = history[index];
      const { request, answer } = payloadOf(operation);
      const returned = operation.returnMs === Infinity ? "unknown" : operation.returnMs.toFixed(1);
      lines.push(
        `  client ${operation.clientId}: ${describeRequest(request)} ` +
          `[${operation.callMs.toFixed(1)}, ${returned}]`,
        `    answered ${answer === null ? "?" : answerText(answer)}`,
        `    the model answers ${answerText(applyRequest(state, request).answer)}`,
      );
    }
  }
  return `History of ${history.length} operations is not linearizable:\n${lines.join("\n")}`;
}

/** The state in one line: `revision 7: a=x (v2, c3, m7), b=y (v1, c5, m5)`. */
export function describeState(state: CoordinationState): string {
  const keys = state.keys.map((key) =>
    `${key.key}=${JSON.stringify(key.value)} (v${key.version}, c${key.create}, m${key.mod})`
  );
  return `revision ${state.revision}: ${keys.length === 0 ? "no keys" : keys.join(", ")}`;
}

/** `request` in one line: `txn(if version(a) = 2 then put(a, "x") else range(b))`. */
export function describeRequest(request: CoordinationRequest): string {
  const show = JSON.stringify;
  const range = (key: string, end?: string) =>
    end === undefined ? show(key) : `[${show(key)}, ${end === "" ? "end" : show(end)})`;
  const op = (item: TxnOp) =>
    item.kind === "put"
      ? `put(${show(item.key)}, ${show(item.value)})`
      : `${item.kind}(${range(item.key, item.end)})`;
  switch (request.kind) {
    case "get":
      return `get(${show(request.key)})`;
    case "put": {
      const version = request.version === undefined ? "" : `, version ${request.version}`;
      return `put(${show(request.key)}, ${show(request.value)}${version})`;
    }
    case "delete":
      return `delete(${range(request.key, request.end)})`;
    case "txn": {
      const compares = request.txn.compare.map((compare) =>
        `${compare.target}(${show(compare.key)}) ${compare.op} ${show(compare.value)}`
      );
      return `txn(if ${compares.join(" && ") || "true"} then ${
        request.txn.success.map(op).join(", ") || "nothing"
      } else ${request.txn.failure.map(op).join(", ") || "nothing"})`;
    }
  }
}

/** The clerk's command for `request`. */
export function commandOf(request: CoordinationRequest): Operation {
  switch (request.kind) {
    case "get":
      return { kind: "get", key: request.key, value: "" };
    case "put":
      return request.version === undefined
        ? { kind: "put", key: request.key, value: request.value }
        : { kind: "put", key: request.key, value: request.value, version: request.version };
    case "delete":
      return request.end === undefined
        ? { kind: "delete", key: request.key, value: "" }
        : { kind: "delete", key: request.key, value: "", end: request.end };
    case "txn":
      return { kind: "txn", key: "", value: "", txn: request.txn };
  }
}
