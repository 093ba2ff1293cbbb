/**
 * The history of versioned Gets and Puts the 2025 lab's tests record (their `OpLog`), and its
 * check against the versioned key/value model of `linearizability/models.ts` (their Porcupine
 * `KvModel`). A Put that came back ErrMaybe is recorded as an OK Put that may not have happened;
 * an operation that never returned (its clerk was closed at cleanup) has unknown outcome.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Clerk, ERR_MAYBE, type PutOutcome } from "../kv/clerk.ts";
import { ERR_NO_KEY, ERR_VERSION, type KvError, OK } from "../kv/protocol.ts";
import { checkModelHistory } from "../linearizability/checker.ts";
import { type HistoryClock, OperationLog } from "../labs/operation_log.ts";
import {
  describeModelOperation,
  type ModelOperation,
  VERSIONED_KV_MODEL,
  type VersionedReply,
} from "../linearizability/models.ts";

/** What a versioned Get returned. */
export interface VersionedGet {
  readonly value: string;
  readonly version: number;
  readonly err: KvError;
}

/** How many operations at fault a failed check lists per key. */
const LISTED_OPERATIONS_MAX = 6;

/** Records versioned operations as clerks run them, on a clock (virtual in simulation). */
export class VersionedHistory {
  readonly #log: OperationLog;

  /** A recorder that refuses to hold more than `operationsMax` operations. */
  constructor(clock: HistoryClock, operationsMax = 1_000_000) {
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

  /** Runs and records `clerk.getVersioned(key)` as client `client`'s. */
  async get(clerk: Clerk, client: number, key: string): Promise<VersionedGet> {
    const index = this.#begin({ clientId: client, kind: "get", key, value: null, version: 0 });
    const got = await clerk.getVersioned(key);
    this.#end(index, { output: got.value, version: got.version, reply: replyOf(got.err, key) });
    return got;
  }

  /** Runs and records `clerk.putVersioned(key, value, version)` as client `client`'s. */
  async put(
    clerk: Clerk,
    client: number,
    key: string,
    value: string,
    version: number,
  ): Promise<PutOutcome> {
    const index = this.#begin({ clientId: client, kind: "put", key, value, version });
    const outcome = await clerk.putVersioned(key, value, version);
    // If an ErrMaybe Put happened, it happened as an OK one.
    if (outcome === ERR_MAYBE) this.#end(index, { reply: OK, maybe: true });
    else this.#end(index, { reply: replyOf(outcome, key) });
    return outcome;
  }

  /**
   * Checks the history within `timeoutMs` of wall time; throws, naming the operations at fault,
   * unless it is proven linearizable (a check that runs out of time fails too).
   */
  check(timeoutMs: number): { operations: number; elapsedMs: number } {
    const history = this.history();
    const result = checkModelHistory(history, VERSIONED_KV_MODEL, { timeoutMs });
    if (result.verdict === "ok") return { operations: history.length, elapsedMs: result.elapsedMs };
    const lines: string[] = [];
    for (const check of result.keys) {
      if (check.verdict === "timeout") {
        lines.push(`key ${JSON.stringify(check.key)}: undecided within ${timeoutMs} ms`);
        continue;
      }
      if (check.verdict !== "illegal") continue;
      lines.push(
        `key ${JSON.stringify(check.key)}: ${check.linearization.length} of ` +
          `${check.operations.length} operations linearize; none of these can come next:`,
      );
      for (const index of check.stuck.slice(0, LISTED_OPERATIONS_MAX)) {
        lines.push(`  ${describeModelOperation(history[index], true)}`);
      }
    }
    throw new Error(
      `History of ${history.length} operations is not linearizable:\n` +
        lines.join("\n"),
    );
  }

  #begin(
    fields: Pick<ModelOperation, "clientId" | "kind" | "key" | "value" | "version">,
  ): number {
    const text = `${fields.kind} ${fields.key}${
      fields.kind === "put" ? ` v${fields.version}` : ""
    }`;
    return this.#log.begin({ ...fields, expected: null, output: null, reply: OK }, text);
  }

  #end(index: number, fields: Partial<ModelOperation>): void {
    this.#log.end(index, fields, (operation) => `${operation.reply} ${operation.output ?? ""}`);
  }
}

function replyOf(err: KvError | typeof ERR_MAYBE, key: string): VersionedReply {
  assert(
    err === OK || err === ERR_NO_KEY || err === ERR_VERSION,
    `A versioned operation on key ${JSON.stringify(key)} came back ${err}`,
  );
  return err;
}
