/**
 * Random coordination requests on a handful of keys, as the tests of part "txn" make them: gets,
 * puts, versioned puts, deletes of a key or a prefix, and transactions whose comparisons use
 * what the clerk last saw (so that they hold about as often as not).
 *
 * @module
 */
import type { Compare, CompareTarget, TxnOp } from "../kv/command.ts";
import type { KvReply } from "../kv/protocol.ts";
import { type KeyRecord, prefixEnd } from "../kv/store.ts";
import type { CoordinationRequest } from "./model.ts";

/** The keys: two prefixes, so a prefix delete takes several. */
export const WORKLOAD_KEYS: readonly string[] = ["a/0", "a/1", "a/2", "b/0", "b/1"];
/** The prefixes deleted whole now and then. */
const PREFIXES = ["a/", "b/"];
const TARGETS: readonly CompareTarget[] = ["value", "version", "create", "mod"];
/** Mostly equality, which the clerk's last sight of a key makes likely to hold. */
const COMPARE_OPS: readonly Compare["op"][] = ["=", "=", "=", "!=", "<", ">"];

/** Random requests of one clerk. */
export class Workload {
  readonly #randomInt: (bound: number) => number;
  readonly #client: number;
  /** What this clerk last saw of each key. */
  readonly #seen = new Map<string, KeyRecord>();
  #count = 0;

  /** Requests of client `client`, drawn with `randomInt` (a whole number below its bound). */
  constructor(randomInt: (bound: number) => number, client: number) {
    this.#randomInt = randomInt;
    this.#client = client;
  }

  /** The next request; the values it writes are unique among all clients'. */
  next(): CoordinationRequest {
    const value = `${this.#client}.${this.#count++}`;
    const key = this.#pick(WORKLOAD_KEYS);
    const roll = this.#randomInt(100);
    if (roll < 25) return { kind: "get", key };
    if (roll < 37) return { kind: "put", key, value };
    if (roll < 50) {
      return {
        kind: "put",
        key,
        value,
        version: this.#seen.get(key)?.version ?? this.#randomInt(3),
      };
    }
    if (roll < 58) return { kind: "delete", key };
    if (roll < 62) {
      const prefix = this.#pick(PREFIXES);
      return { kind: "delete", key: prefix, end: prefixEnd(prefix) };
    }
    const compare = Array.from({ length: 1 + this.#randomInt(2) }, () => this.#compare());
    const success = Array.from(
      { length: 1 + this.#randomInt(3) },
      (_, i) => this.#txnOp(`${value}.${i}`),
    );
    const failure = Array.from(
      { length: this.#randomInt(3) },
      (_, i) => this.#txnOp(`${value}.f${i}`),
    );
    return { kind: "txn", txn: { compare, success, failure } };
  }

  /** Notes what `reply` to `request` shows of the keys. */
  learn(request: CoordinationRequest, reply: KvReply): void {
    const records = request.kind === "get"
      ? reply.records ?? []
      : (reply.responses ?? []).flatMap((response) => response.records ?? []);
    for (const record of records) this.#seen.set(record.key, record);
    if (request.kind === "get" && records.length === 0) this.#seen.delete(request.key);
  }

  #compare(): Compare {
    const key = this.#pick(WORKLOAD_KEYS);
    const target = this.#pick(TARGETS);
    const op = this.#pick(COMPARE_OPS);
    const seen = this.#seen.get(key);
    if (target === "value") return { key, target, op, value: seen?.value ?? "" };
    const known = target === "version"
      ? seen?.version
      : target === "create"
      ? seen?.createRevision
      : seen?.modRevision;
    return { key, target, op, value: known ?? this.#randomInt(3) };
  }

  #txnOp(value: string): TxnOp {
    const key = this.#pick(WORKLOAD_KEYS);
    const roll = this.#randomInt(10);
    if (roll < 5) return { kind: "put", key, value };
    if (roll < 7) return { kind: "delete", key };
    if (roll < 8) {
      const prefix = this.#pick(PREFIXES);
      return { kind: "range", key: prefix, end: prefixEnd(prefix) };
    }
    return { kind: "range", key };
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#randomInt(items.length)];
  }
}
