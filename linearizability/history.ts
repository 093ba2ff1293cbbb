/**
 * Histories of key/value operations as clients saw them: what each client asked, what it got back,
 * and when (by its own clock reading) it called and returned. The checker decides whether some
 * sequential order of these operations explains every answer.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock } from "../util/clock.ts";

/** The three operations of the key/value service. */
export type OperationKind = "get" | "put" | "append";

/**
 * The `returnMs` of an operation whose outcome is unknown (the client gave up or timed out): it
 * may take effect at any point after its call, or never.
 */
export const UNKNOWN_RETURN_MS: number = Infinity;

/** One completed (or abandoned) client operation. */
export interface Operation {
  /** Which client issued it; operations of one client never overlap in time. */
  readonly clientId: number;
  /** Get, Put or Append. */
  readonly kind: OperationKind;
  /** The key it touched. */
  readonly key: string;
  /** The value written (Put, Append); `""` for Get. */
  readonly value: string;
  /** The value read (Get); ignored for Put and Append, and for any operation of unknown outcome. */
  readonly output: string;
  /** When the client sent it, in milliseconds on the client's clock. */
  readonly callMs: number;
  /** When the client got the answer; {@linkcode UNKNOWN_RETURN_MS} if it never did. */
  readonly returnMs: number;
}

/** Whether the operation's outcome is unknown: it may or may not have taken effect. */
export function isUnknownOutcome(operation: Pick<Operation, "returnMs">): boolean {
  return operation.returnMs === UNKNOWN_RETURN_MS;
}

/**
 * Throws unless the history is well formed: known kinds, finite call times, returns not before
 * calls, string keys and values. Errors name the operation by its index.
 */
export function validateHistory(history: readonly Operation[]): void {
  for (let index = 0; index < history.length; index++) {
    const operation = history[index];
    const where = `Operation ${index} (client ${operation.clientId})`;
    assert(
      operation.kind === "get" || operation.kind === "put" || operation.kind === "append",
      `${where} has unknown kind ${JSON.stringify(operation.kind)}`,
    );
    assert(typeof operation.key === "string", `${where} has a key that is not a string`);
    assert(typeof operation.value === "string", `${where} has a value that is not a string`);
    assert(typeof operation.output === "string", `${where} has an output that is not a string`);
    assert(Number.isFinite(operation.callMs), `${where} has call time ${operation.callMs}`);
    assert(
      operation.returnMs >= operation.callMs,
      `${where} returns at ${operation.returnMs} ms, before its call at ${operation.callMs} ms`,
    );
  }
}

/**
 * Splits a history by key, keeping each operation's index in the original history. Keys come out
 * in sorted order so that every run checks (and reports) them in the same order.
 */
export function partitionByKey(
  history: readonly Pick<Operation, "key">[],
): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (let index = 0; index < history.length; index++) {
    const key = history[index].key;
    let indices = byKey.get(key);
    if (indices === undefined) {
      indices = [];
      byKey.set(key, indices);
    }
    indices.push(index);
  }
  const keys = [...byKey.keys()].sort();
  return new Map(keys.map((key) => [key, byKey.get(key)!]));
}

/** A short human-readable form of an operation: `client 3: append("k", "x") [10, 12]`. */
export function describeOperation(operation: Operation): string {
  const key = JSON.stringify(operation.key);
  const returned = isUnknownOutcome(operation) ? "unknown" : `${operation.returnMs}`;
  const span = `[${operation.callMs}, ${returned}]`;
  const who = `client ${operation.clientId}`;
  if (operation.kind === "get") {
    const output = isUnknownOutcome(operation) ? "?" : JSON.stringify(operation.output);
    return `${who}: get(${key}) -> ${output} ${span}`;
  }
  return `${who}: ${operation.kind}(${key}, ${JSON.stringify(operation.value)}) ${span}`;
}

/** An operation the recorder has seen called but not yet returned. */
export interface PendingOperation {
  /** The position the operation will take in the history. */
  readonly index: number;
}

/**
 * Records a history as clients run, reading call and return times from a clock (virtual in
 * simulation, real otherwise). Operations never finished count as unknown outcome.
 */
export class HistoryRecorder {
  readonly #clock: Pick<Clock, "now">;
  readonly #maxOperations: number;
  readonly #operations: Operation[] = [];
  readonly #finished: boolean[] = [];

  /** Creates a recorder that refuses to hold more than `maxOperations` operations. */
  constructor(clock: Pick<Clock, "now">, maxOperations = 1_000_000) {
    assert(maxOperations > 0, `Cannot record at most ${maxOperations} operations`);
    this.#clock = clock;
    this.#maxOperations = maxOperations;
  }

  /** Notes that a client called an operation, now. */
  begin(clientId: number, kind: OperationKind, key: string, value = ""): PendingOperation {
    const index = this.#operations.length;
    assert(
      index < this.#maxOperations,
      `Cannot record operation ${index}: the recorder holds at most ${this.#maxOperations}`,
    );
    const callMs = this.#clock.now();
    this.#operations.push({ clientId, kind, key, value, output: "", callMs, returnMs: Infinity });
    this.#finished.push(false);
    return { index };
  }

  /** Notes that the operation returned, now, with `output` (the value read, for Get). */
  end(pending: PendingOperation, output = ""): void {
    const index = pending.index;
    assert(!this.#finished[index], `Operation ${index} already returned`);
    this.#finished[index] = true;
    const returnMs = this.#clock.now();
    this.#operations[index] = { ...this.#operations[index], output, returnMs };
  }

  /** The history so far; operations that have not returned have unknown outcome. */
  history(): Operation[] {
    return [...this.#operations];
  }
}
