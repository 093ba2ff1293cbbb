/**
 * The key/value state machine the servers replicate: a map of strings, plus the table that
 * makes a retried Put or Append take effect once (the last sequence number applied for each
 * client). Both go into the snapshot, with the last log index the state reflects.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { decode, encode } from "../rpc/codec.ts";
import { errorText } from "../util/error_text.ts";

/** The three operations of the service. */
export type KvOperationKind = "get" | "put" | "append";

/**
 * How fresh a Get must be:
 * - `linearizable`: it reflects every write acknowledged before it began (a read index from the
 *   leader, confirmed by a round of heartbeats; no log write);
 * - `lease`: the same while the leader's clock drifts no more than allowed (the leader answers
 *   within its lease, without the round);
 * - `serializable`: the state of the server asked, at once, which may be stale (a partitioned or
 *   lagging server answers from what it has).
 */
export type Consistency = "linearizable" | "lease" | "serializable";

/** Every {@linkcode Consistency}, strongest first. */
export const CONSISTENCIES: readonly Consistency[] = ["linearizable", "lease", "serializable"];

/** One operation as it goes through the Raft log. */
export interface KvCommand {
  /** The clerk that issued it. */
  readonly clientId: number;
  /** The clerk's number for this operation: fresh per operation, the same on every retry. */
  readonly sequence: number;
  /** Get, Put or Append. */
  readonly kind: KvOperationKind;
  /** The key. */
  readonly key: string;
  /** The value written; "" for Get. */
  readonly value: string;
  /** For a Get: how fresh it must be; default linearizable. Never in the log. */
  readonly consistency?: Consistency;
}

/** The most clients the duplicate table remembers; a bound on the snapshot's size. */
export const MAX_CLIENTS = 1_000_000;

/** Why `value` is not a {@linkcode KvCommand}, or null when it is one. */
export function commandProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "it is not a map";
  const command = value as Record<string, unknown>;
  if (!Number.isSafeInteger(command.clientId)) return "its clientId is not a whole number";
  if (!Number.isSafeInteger(command.sequence) || (command.sequence as number) < 1) {
    return "its sequence is not a positive whole number";
  }
  if (command.kind !== "get" && command.kind !== "put" && command.kind !== "append") {
    return `its kind ${JSON.stringify(command.kind)} is not get, put or append`;
  }
  if (typeof command.key !== "string") return "its key is not a string";
  if (typeof command.value !== "string") return "its value is not a string";
  const consistency = command.consistency;
  if (consistency !== undefined && !CONSISTENCIES.includes(consistency as Consistency)) {
    return `its consistency ${JSON.stringify(consistency)} is not one of ${
      CONSISTENCIES.join(", ")
    }`;
  }
  return null;
}

/** The shape of a snapshot's bytes. */
interface EncodedState {
  appliedIndex: number;
  /** Keys and values, flattened: [key0, value0, key1, value1, ...]. */
  data: string[];
  /** Clients and their last applied sequence numbers, flattened the same way. */
  clients: number[];
}

/** A key/value map with duplicate detection, and the log index it has applied up to. */
export class KvStateMachine {
  readonly #data = new Map<string, string>();
  readonly #lastSequence = new Map<number, number>();
  #appliedIndex = 0;

  /** The last log index whose command this state reflects (0 when empty). */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** The value of `key`, or "" when it was never written. */
  get(key: string): string {
    return this.#data.get(key) ?? "";
  }

  /**
   * Applies the command at log index `index`, which must follow the last applied one, and
   * returns what the client gets back: the value for a Get, "" otherwise. A Put or Append whose
   * sequence number the client has already had applied is a retry and changes nothing.
   */
  apply(index: number, command: KvCommand): string {
    assert(
      index === this.#appliedIndex + 1,
      `Cannot apply entry ${index}: the state machine has applied up to ${this.#appliedIndex}`,
    );
    this.#appliedIndex = index;
    if (command.kind === "get") return this.get(command.key);
    if (this.isDuplicate(command)) return "";
    if (!this.#lastSequence.has(command.clientId)) {
      assert(
        this.#lastSequence.size < MAX_CLIENTS,
        `Cannot remember client ${command.clientId}: ${MAX_CLIENTS} clients are remembered`,
      );
    }
    this.#lastSequence.set(command.clientId, command.sequence);
    const value = command.kind === "put" ? command.value : this.get(command.key) + command.value;
    this.#data.set(command.key, value);
    return "";
  }

  /** Whether `command` is a Put or Append that was applied already. */
  isDuplicate(command: KvCommand): boolean {
    return command.sequence <= (this.#lastSequence.get(command.clientId) ?? 0);
  }

  /** Notes that the entry at `index` carried nothing for this machine (say, a malformed command). */
  skip(index: number): void {
    assert(
      index === this.#appliedIndex + 1,
      `Cannot skip entry ${index}: the state machine has applied up to ${this.#appliedIndex}`,
    );
    this.#appliedIndex = index;
  }

  /** The whole state as snapshot bytes (MessagePack). */
  encodeSnapshot(): Uint8Array {
    const data: string[] = [];
    for (const [key, value] of this.#data) data.push(key, value);
    const clients: number[] = [];
    for (const [clientId, sequence] of this.#lastSequence) clients.push(clientId, sequence);
    const state: EncodedState = { appliedIndex: this.#appliedIndex, data, clients };
    return encode(state);
  }

  /** Replaces the whole state with the one in `snapshot`; throws naming what is malformed. */
  restoreSnapshot(snapshot: Uint8Array): void {
    const state = decodeSnapshot(snapshot);
    this.#data.clear();
    this.#lastSequence.clear();
    for (let position = 0; position < state.data.length; position += 2) {
      this.#data.set(state.data[position], state.data[position + 1]);
    }
    for (let position = 0; position < state.clients.length; position += 2) {
      this.#lastSequence.set(state.clients[position], state.clients[position + 1]);
    }
    this.#appliedIndex = state.appliedIndex;
  }
}

function decodeSnapshot(snapshot: Uint8Array): EncodedState {
  let value: unknown;
  try {
    value = decode(snapshot);
  } catch (error) {
    throw new Error(`Cannot read the key/value snapshot: ${errorText(error)}`);
  }
  const problem = snapshotProblem(value);
  if (problem !== null) throw new Error(`Cannot read the key/value snapshot: ${problem}`);
  return value as EncodedState;
}

function snapshotProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "it is not a map";
  const state = value as Record<string, unknown>;
  if (!Number.isSafeInteger(state.appliedIndex) || (state.appliedIndex as number) < 0) {
    return "its appliedIndex is not a whole number";
  }
  const data = state.data;
  if (!Array.isArray(data) || data.length % 2 !== 0) return "its data is not a list of pairs";
  if (!data.every((item) => typeof item === "string")) return "its data holds a non-string";
  const clients = state.clients;
  if (!Array.isArray(clients) || clients.length % 2 !== 0) {
    return "its clients are not a list of pairs";
  }
  if (!clients.every((item) => Number.isSafeInteger(item))) {
    return "its clients hold a number that is not whole";
  }
  if (clients.length / 2 > MAX_CLIENTS) return `it remembers more than ${MAX_CLIENTS} clients`;
  return null;
}
