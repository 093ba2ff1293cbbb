/**
 * The history of versioned Gets and Puts the 2025 lab's tests record (their `OpLog`), and its
 * check against the versioned key/value model of `linearizability/models.ts` (their Porcupine
 * `KvModel`). A Put that came back ErrMaybe is recorded as an OK Put that may not have happened;
 * an operation that never returned (its clerk was closed at cleanup) has unknown outcome.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock } from "../util/clock.ts";
import type { SimRecorder } from "../sim/recorder.ts";
import { type Clerk, ERR_MAYBE, type PutOutcome } from "../kv/clerk.ts";
import { ERR_NO_KEY, ERR_VERSION, type KvError, OK } from "../kv/protocol.ts";
import { checkModelHistory } from "../linearizability/checker.ts";
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

/** The history's clock, and the simulation's recorder (`--trace`) if it has one. */
type HistoryClock = Pick<Clock, "now"> & { readonly recorder?: SimRecorder | null };

/** Records versioned operations as clerks run them, on a clock (virtual in simulation). */
export class VersionedHistory {
  readonly #clock: HistoryClock;
  readonly #operationsMax: number;
  readonly #operations: ModelOperation[] = [];
  /** Recorder handles of the operations in flight, by index; empty unless traced. */
  readonly #calls = new Map<number, number>();

  /** A recorder that refuses to hold more than `operationsMax` operations. */
  constructor(clock: HistoryClock, operationsMax = 1_000_000) {
    assert(operationsMax > 0, `Cannot record at most ${operationsMax} operations`);
    this.#clock = clock;
    this.#operationsMax = operationsMax;
  }

  /** Operations recorded so far. */
  get length(): number {
    return this.#operations.length;
  }

  /** The history so far; operations that have not returned have unknown outcome. */
  history(): ModelOperation[] {
    return [...this.#operations];
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
    const index = this.#operations.length;
    assert(
      index < this.#operationsMax,
      `Cannot record operation ${index}: the history holds at most ${this.#operationsMax}`,
    );
    this.#operations.push({
      ...fields,
      expected: null,
      output: null,
      reply: OK,
      callMs: this.#clock.now(),
      returnMs: Infinity,
      maybe: true,
      source: `operation ${index}`,
    });
    const recorder = this.#clock.recorder;
    if (recorder !== undefined && recorder !== null) {
      const text = `${fields.kind} ${fields.key}${
        fields.kind === "put" ? ` v${fields.version}` : ""
      }`;
      this.#calls.set(
        index,
        recorder.clientCall(this.#clock.now(), `clerk-${fields.clientId}`, text),
      );
    }
    return index;
  }

  #end(index: number, fields: Partial<ModelOperation>): void {
    const operation = this.#operations[index];
    assert(operation.returnMs === Infinity, `Operation ${index} already returned`);
    this.#operations[index] = {
      ...operation,
      maybe: false,
      ...fields,
      returnMs: this.#clock.now(),
    };
    const call = this.#calls.get(index);
    if (call === undefined) return;
    this.#calls.delete(index);
    const reply = this.#operations[index];
    this.#clock.recorder?.clientReturn(
      this.#clock.now(),
      call,
      `${reply.reply} ${reply.output ?? ""}`,
    );
  }
}

function replyOf(err: KvError | typeof ERR_MAYBE, key: string): VersionedReply {
  assert(
    err === OK || err === ERR_NO_KEY || err === ERR_VERSION,
    `A versioned operation on key ${JSON.stringify(key)} came back ${err}`,
  );
  return err;
}
