/**
 * The key/value state machine the servers replicate, on a {@linkcode KvStore}: keys with
 * versions and revisions, one cluster-wide revision that every change moves on, a history of
 * changes for watches and past reads, and the table that makes a retried write take effect once
 * (each client's last sequence number and the reply it got). All of it goes into the snapshot,
 * with the last log index the state reflects.
 *
 * Each log entry applies as one SQLite transaction: its changes, its revision, the duplicate
 * table and the applied index move together or not at all.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { decode } from "../rpc/codec.ts";
import { errorText } from "../util/error_text.ts";
import { type KeyRange, type KeyRecord, KvStore } from "./store.ts";
import {
  type Compare,
  type KvCommand,
  LEASE_EXPIRE_KIND,
  MAX_CLIENTS,
  MAX_LEASES,
  MAX_RANGE_KEYS,
  rangeOf,
  READ_KINDS,
  SEQUENTIAL_DIGITS,
  type TxnOp,
} from "./command.ts";
import {
  ERR_COMPACTED,
  ERR_FUTURE_REVISION,
  ERR_LEASE_NOT_FOUND,
  ERR_NO_KEY,
  ERR_TOO_MANY_LEASES,
  ERR_VERSION,
  type KvReply,
  OK,
  type TxnResponse,
} from "./protocol.ts";

/** Revisions of history a replica keeps unless told otherwise: what watches can resume from. */
export const DEFAULT_HISTORY_REVISIONS = 10_000;

/** History is compacted in steps of this many revisions (when any is kept). */
export const COMPACT_STEP_REVISIONS = 100;

/** Options of a {@linkcode KvStateMachine}. */
export interface KvStateMachineOptions {
  /**
   * Revisions of history kept for watches and past reads (0: none). Each replica keeps its own:
   * history decides only which old revisions a read or watch may start from (older ones get
   * ErrCompacted), never the keys' state, so replicas need not agree on it.
   */
  readonly historyRevisions?: number;
}

/** The revision and order of the changes one entry makes; the revision is taken on the first. */
interface ChangeBatch {
  revision: number | null;
  sub: number;
}

/** The key/value state, its history, its duplicate table and its applied index. */
export class KvStateMachine {
  #store = new KvStore();
  #clientCount = 0;
  readonly #historyRevisions: number;

  /** An empty state. */
  constructor(options: KvStateMachineOptions = {}) {
    this.#historyRevisions = options.historyRevisions ?? DEFAULT_HISTORY_REVISIONS;
    assert(
      Number.isSafeInteger(this.#historyRevisions) && this.#historyRevisions >= 0,
      `Cannot keep ${this.#historyRevisions} revisions of history`,
    );
  }

  /** The last log index whose command this state reflects (0 when empty). */
  get appliedIndex(): number {
    return this.#store.appliedIndex;
  }

  /** The cluster-wide revision: how many applied entries changed a key. */
  get revision(): number {
    return this.#store.revision;
  }

  /** The value of `key`, or "" when it does not exist. */
  get(key: string): string {
    return this.#store.get(key)?.value ?? "";
  }

  /** The store, for reads beyond a command's (watches). */
  get store(): KvStore {
    return this.#store;
  }

  /** Answers a read (Get or Range) from the state as it is. */
  read(command: KvCommand): KvReply {
    assert(READ_KINDS.includes(command.kind), `A ${command.kind} is not a read`);
    if (command.kind === "get") return this.#get(command.key);
    return this.#range(rangeOf(command), command.limit ?? 0, command.revision ?? 0);
  }

  /**
   * Applies the command at log index `index`, which must follow the last applied one, and
   * returns what the client gets back. A write whose sequence number the client has had
   * applied already is a retry: it changes nothing and gets the reply the first one got.
   */
  apply(index: number, command: KvCommand): KvReply {
    assert(
      index === this.appliedIndex + 1,
      `Cannot apply entry ${index}: the state machine has applied up to ${this.appliedIndex}`,
    );
    return this.#store.transaction(() => {
      this.#store.setAppliedIndex(index);
      if (READ_KINDS.includes(command.kind)) return this.read(command);
      if (command.kind === LEASE_EXPIRE_KIND) {
        const reply = this.#execute(command);
        this.#compactHistory();
        return reply;
      }
      const last = this.#store.client(command.clientId);
      if (last !== null && command.sequence <= last.sequence) {
        return command.sequence === last.sequence
          ? JSON.parse(last.reply) as KvReply
          : { err: OK, value: "", revision: this.revision };
      }
      const reply = this.#execute(command);
      this.#compactHistory();
      if (last === null) {
        assert(
          this.#clientCount < MAX_CLIENTS,
          `Cannot remember client ${command.clientId}: ${MAX_CLIENTS} clients are remembered`,
        );
        this.#clientCount++;
      }
      this.#store.setClient(command.clientId, command.sequence, JSON.stringify(reply));
      return reply;
    });
  }

  /** Whether `command` is a write that was applied already. */
  isDuplicate(command: KvCommand): boolean {
    return command.sequence <= (this.#store.client(command.clientId)?.sequence ?? 0);
  }

  /** Notes that the entry at `index` carried nothing for this machine (say, a membership entry). */
  skip(index: number): void {
    assert(
      index === this.appliedIndex + 1,
      `Cannot skip entry ${index}: the state machine has applied up to ${this.appliedIndex}`,
    );
    this.#store.transaction(() => this.#store.setAppliedIndex(index));
  }

  /** The whole state as snapshot bytes. */
  encodeSnapshot(): Uint8Array {
    return this.#store.snapshot();
  }

  /** Replaces the whole state with the one in `snapshot`; throws naming what is malformed. */
  restoreSnapshot(snapshot: Uint8Array): void {
    const store = isLegacySnapshot(snapshot) ? storeOfLegacy(snapshot) : new KvStore(snapshot);
    this.#store.close();
    this.#store = store;
    this.#clientCount = store.clientCount();
  }

  #execute(command: KvCommand): KvReply {
    const batch: ChangeBatch = { revision: null, sub: 0 };
    switch (command.kind) {
      case "put":
      case "append": {
        const put = command.sequential === true
          ? this.#putSequential(batch, command)
          : this.#put(batch, command);
        return { ...put, value: "", revision: this.revision };
      }
      case "delete": {
        const deleted = this.#delete(batch, rangeOf(command));
        return { err: OK, value: "", deleted, revision: this.revision };
      }
      case "txn":
        return this.#txn(batch, command);
      case "lease-grant": {
        if (this.#store.leaseCount() >= MAX_LEASES) {
          return { err: ERR_TOO_MANY_LEASES, value: "", revision: this.revision };
        }
        const lease = this.#store.grantLease(command.ttlMs!);
        return { err: OK, value: "", lease, ttlMs: command.ttlMs, revision: this.revision };
      }
      case "lease-revoke":
      case "lease-expire":
        return this.#endLease(batch, command.lease ?? 0);
      default:
        throw new Error(`Cannot apply a ${command.kind}`);
    }
  }

  /** The revision and order for the next change of this entry. */
  #change(batch: ChangeBatch): { revision: number; sub: number } {
    batch.revision ??= this.#store.nextRevision();
    return { revision: batch.revision, sub: batch.sub++ };
  }

  /**
   * A put that creates `key` + its revision; refused for a missing lease, or when a key of that
   * name was written by hand (ErrVersion, as a create with version 0 would be).
   */
  #putSequential(
    batch: ChangeBatch,
    command: KvCommand,
  ): { err: KvReply["err"]; records?: KeyRecord[] } {
    const lease = command.lease ?? 0;
    if (lease !== 0 && !this.#store.hasLease(lease)) return { err: ERR_LEASE_NOT_FOUND };
    const revisionToBe = batch.revision ?? this.revision + 1;
    const key = command.key + String(revisionToBe).padStart(SEQUENTIAL_DIGITS, "0");
    if (this.#store.get(key) !== null) return { err: ERR_VERSION };
    const { revision, sub } = this.#change(batch);
    assert(revision === revisionToBe, `Sequential put at ${revision}, expected ${revisionToBe}`);
    const record: KeyRecord = {
      key,
      value: command.value,
      version: 1,
      createRevision: revision,
      modRevision: revision,
      lease,
    };
    this.#store.put(record, sub, null);
    return { err: OK, records: [record] };
  }

  #put(
    batch: ChangeBatch,
    command: { kind: string; key: string; value: string; version?: number; lease?: number },
  ): { err: KvReply["err"]; version?: number } {
    const current = this.#store.get(command.key);
    const expected = command.version;
    if (expected !== undefined) {
      if (current === null && expected > 0) return { err: ERR_NO_KEY };
      if ((current?.version ?? 0) !== expected) return { err: ERR_VERSION };
    }
    const lease = command.kind === "append" ? current?.lease ?? 0 : command.lease ?? 0;
    if (lease !== 0 && !this.#store.hasLease(lease)) return { err: ERR_LEASE_NOT_FOUND };
    const { revision, sub } = this.#change(batch);
    const record: KeyRecord = {
      key: command.key,
      value: command.kind === "append" ? (current?.value ?? "") + command.value : command.value,
      version: (current?.version ?? 0) + 1,
      createRevision: current?.createRevision ?? revision,
      modRevision: revision,
      lease,
    };
    this.#store.put(record, sub, current);
    return { err: OK, version: record.version };
  }

  /** Ends lease `lease`: the lease goes, and every key attached to it is deleted. */
  #endLease(batch: ChangeBatch, lease: number): KvReply {
    if (!this.#store.hasLease(lease)) {
      return { err: ERR_LEASE_NOT_FOUND, value: "", revision: this.revision };
    }
    let deleted = 0;
    // Bounded: every pass deletes a page of the lease's keys.
    for (;;) {
      const keys = this.#store.keysOfLease(lease, MAX_RANGE_KEYS);
      for (const key of keys) {
        const { revision, sub } = this.#change(batch);
        this.#store.delete(key, revision, sub);
        deleted++;
      }
      if (keys.length < MAX_RANGE_KEYS) break;
    }
    this.#store.removeLease(lease);
    return { err: OK, value: "", lease, deleted, revision: this.revision };
  }

  /** Every lease and its time to live (what a new leader must time). */
  leases(): { id: number; ttlMs: number }[] {
    return this.#store.leases();
  }

  /** Deletes every key in `range`, a page at a time; returns how many. */
  #delete(batch: ChangeBatch, range: KeyRange): number {
    let deleted = 0;
    // Bounded: every pass deletes a page, and the range holds finitely many keys.
    for (;;) {
      const page = this.#store.range(range, MAX_RANGE_KEYS);
      for (const record of page.records) {
        const { revision, sub } = this.#change(batch);
        this.#store.delete(record.key, revision, sub);
        deleted++;
      }
      if (!page.more) return deleted;
    }
  }

  #get(key: string): KvReply {
    const record = this.#store.get(key);
    if (record === null) return { err: ERR_NO_KEY, value: "", version: 0, revision: this.revision };
    return {
      err: OK,
      value: record.value,
      version: record.version,
      records: [record],
      revision: this.revision,
    };
  }

  #range(range: KeyRange, limit: number, revision: number): KvReply {
    const pageKeys = limit === 0 ? MAX_RANGE_KEYS : Math.min(limit, MAX_RANGE_KEYS);
    const now = this.revision;
    if (revision > now) return { err: ERR_FUTURE_REVISION, value: "", revision: now };
    if (revision !== 0 && revision < now && revision <= this.#store.compactedRevision) {
      return { err: ERR_COMPACTED, value: "", revision: now };
    }
    const page = revision === 0 || revision === now
      ? this.#store.range(range, pageKeys)
      : this.#store.rangeAt(range, revision, pageKeys);
    // Without a limit a range is still paged by MAX_RANGE_KEYS; `more` tells the client.
    return { err: OK, value: "", records: page.records, more: page.more, revision: now };
  }

  #txn(batch: ChangeBatch, command: KvCommand): KvReply {
    const txn = command.txn!;
    const succeeded = txn.compare.every((compare) => this.#holds(compare));
    const responses: TxnResponse[] = [];
    for (const op of succeeded ? txn.success : txn.failure) {
      responses.push(this.#txnOp(batch, op));
    }
    return { err: OK, value: "", succeeded, responses, revision: this.revision };
  }

  #txnOp(batch: ChangeBatch, op: TxnOp): TxnResponse {
    switch (op.kind) {
      case "put": {
        const put = this.#put(batch, op);
        // A put inside a transaction fails only on a missing lease; it writes nothing then.
        return put.err === OK ? { kind: "put", version: put.version } : { kind: "put" };
      }
      case "delete":
        return { kind: "delete", deleted: this.#delete(batch, rangeOf(op)) };
      case "range": {
        const page = this.#range(rangeOf(op), op.limit ?? 0, 0);
        return { kind: "range", records: page.records, more: page.more };
      }
    }
  }

  #holds(compare: Compare): boolean {
    const record = this.#store.get(compare.key);
    const actual: string | number = compare.target === "value"
      ? record?.value ?? ""
      : compare.target === "version"
      ? record?.version ?? 0
      : compare.target === "create"
      ? record?.createRevision ?? 0
      : record?.modRevision ?? 0;
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

  /**
   * Drops history older than the kept window, in steps of {@linkcode COMPACT_STEP_REVISIONS}
   * (a delete per step rather than per entry), so the window holds up to that many more.
   */
  #compactHistory(): void {
    const keepFrom = this.revision - this.#historyRevisions;
    const step = this.#historyRevisions === 0 ? 1 : COMPACT_STEP_REVISIONS;
    if (keepFrom - this.#store.compactedRevision >= step) this.#store.compact(keepFrom);
  }
}

/**
 * Whether `snapshot` is in the form written before versions (a MessagePack map, whose first
 * byte is 0x80 to 0x8f), which a server upgraded in place still finds on disk.
 */
function isLegacySnapshot(snapshot: Uint8Array): boolean {
  return snapshot.length > 0 && (snapshot[0] & 0xf0) === 0x80;
}

/** A store holding a legacy snapshot's keys, each at version 1 of revision 1. */
function storeOfLegacy(snapshot: Uint8Array): KvStore {
  let state: { appliedIndex: number; data: string[]; clients: number[] };
  try {
    state = decode(snapshot) as typeof state;
  } catch (error) {
    throw new Error(`Cannot read the key/value snapshot: ${errorText(error)}`);
  }
  const problem = legacyProblem(state);
  if (problem !== null) throw new Error(`Cannot read the key/value snapshot: ${problem}`);
  const store = new KvStore();
  store.transaction(() => {
    if (state.appliedIndex > 0) store.setAppliedIndex(state.appliedIndex);
    const revision = state.data.length > 0 ? store.nextRevision() : 0;
    for (let at = 0; at < state.data.length; at += 2) {
      const key = state.data[at];
      store.put({
        key,
        value: state.data[at + 1],
        version: 1,
        createRevision: revision,
        modRevision: revision,
        lease: 0,
      }, at / 2);
    }
    const reply = JSON.stringify({ err: OK, value: "" });
    for (let at = 0; at < state.clients.length; at += 2) {
      store.setClient(state.clients[at], state.clients[at + 1], reply);
    }
  });
  return store;
}

function legacyProblem(value: unknown): string | null {
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
