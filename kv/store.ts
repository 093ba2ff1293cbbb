/**
 * Where the key/value state lives: an in-memory SQLite database (`node:sqlite`, built into Deno),
 * as rqlite keeps its state. SQLite gives what a coordination service needs and a `Map` does not:
 * keys in order for ranges that read only what they return, a history of changes for watches and
 * reads at a past revision, and transactions that apply a log entry whole or not at all.
 *
 * A snapshot comes in one of two forms, told apart by its first byte: a small state as its rows
 * in MessagePack (a few keys take a few dozen bytes, as the lab's snapshot-size test demands),
 * a large one as the database's own image (`serialize`/`deserialize`), which for a million keys
 * of 100 bytes is taken in about 0.2 s and restored in about 0.1 s, where rows take seconds to
 * insert again (see `kv/store_bench.ts`).
 *
 * The store knows rows, not rules: which change is allowed, and what it answers, is the state
 * machine's business (`kv/state_machine.ts`).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { assert } from "../util/assert.ts";
import { decode, encode } from "../rpc/codec.ts";
import { errorText } from "../util/error_text.ts";

/** A key as it stands: its value, how often it changed, and when. */
export interface KeyRecord {
  /** The key. */
  readonly key: string;
  /** Its value. */
  readonly value: string;
  /** Changes since the key was (last) created: 1 after the first put. */
  readonly version: number;
  /** The revision of the put that created it. */
  readonly createRevision: number;
  /** The revision of its latest change. */
  readonly modRevision: number;
  /** The lease it is attached to; 0 for none. */
  readonly lease: number;
}

/** One change in the history: a put or a delete, at a revision, with the state before it. */
export interface Change {
  /** Whether the key was written or deleted. */
  readonly type: "put" | "delete";
  /** The revision of the entry that made it. */
  readonly revision: number;
  /** Order within its revision (a transaction makes several changes at one revision). */
  readonly sub: number;
  /** The key after a put; after a delete, only `key` and `modRevision` (the delete's) matter. */
  readonly record: KeyRecord;
  /** The key before the change; null if it did not exist. */
  readonly previous: KeyRecord | null;
}

/**
 * Which keys: one key (`end` undefined), every key in `[key, end)`, or — with `end` = "" —
 * every key from `key` on. {@linkcode prefixEnd} turns a prefix into the end of its range.
 */
export interface KeyRange {
  /** The key, or the first key of the range. */
  readonly key: string;
  /** The end of the range (excluded); "" for no end; absent for the one key. */
  readonly end?: string;
}

/** The `end` of the range of keys that start with `prefix` ("" when no key bounds it). */
export function prefixEnd(prefix: string): string {
  // Bounded by the prefix's length.
  for (let at = prefix.length - 1; at >= 0; at--) {
    const code = prefix.charCodeAt(at);
    if (code < 0xffff) return prefix.slice(0, at) + String.fromCharCode(code + 1);
  }
  return "";
}

/** Schema version written in the database; a snapshot of another version is refused. */
const SCHEMA_VERSION = 1;
/** First byte of a snapshot of rows. */
const ROWS_FORMAT = 1;
/** First byte of a snapshot that is the database's image. */
const IMAGE_FORMAT = 2;
/** Rows (keys, changes, clients) above which a snapshot is the database's image. */
export const ROWS_SNAPSHOT_MAX = 10_000;
/** The tables a snapshot of rows holds, in the order it lists them, with their columns. */
const ROW_TABLES = {
  keys: ["key", "value", "version", "create_revision", "mod_revision", "lease"],
  changes: [
    "revision",
    "sub",
    "type",
    "key",
    "value",
    "version",
    "create_revision",
    "lease",
    "previous",
  ],
  meta: ["name", "value"],
  clients: ["client_id", "sequence", "reply"],
  leases: ["id", "ttl_ms"],
} as const;

const SCHEMA = `
CREATE TABLE keys (
  key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL,
  create_revision INTEGER NOT NULL, mod_revision INTEGER NOT NULL, lease INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE changes (
  revision INTEGER NOT NULL, sub INTEGER NOT NULL, type TEXT NOT NULL, key TEXT NOT NULL,
  value TEXT NOT NULL, version INTEGER NOT NULL, create_revision INTEGER NOT NULL,
  lease INTEGER NOT NULL, previous TEXT,
  PRIMARY KEY (revision, sub)
) WITHOUT ROWID;
CREATE INDEX changes_by_key ON changes (key, revision);
CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE clients (client_id INTEGER PRIMARY KEY, sequence INTEGER NOT NULL, reply TEXT NOT NULL);
CREATE INDEX keys_by_lease ON keys (lease) WHERE lease != 0;
CREATE TABLE leases (id INTEGER PRIMARY KEY, ttl_ms INTEGER NOT NULL);
`;

const META_NAMES = [
  "schema",
  "applied_index",
  "revision",
  "compacted_revision",
  "last_lease",
] as const;
type MetaName = typeof META_NAMES[number];

type Row = Record<string, unknown>;

function keyRecordOf(row: Row): KeyRecord {
  return {
    key: row.key as string,
    value: row.value as string,
    version: row.version as number,
    createRevision: row.create_revision as number,
    modRevision: row.mod_revision as number,
    lease: row.lease as number,
  };
}

/** The SQL condition for `range` on column `column`, and its parameters. */
function rangeCondition(range: KeyRange, column = "key"): { sql: string; params: string[] } {
  if (range.end === undefined) return { sql: `${column} = ?`, params: [range.key] };
  if (range.end === "") return { sql: `${column} >= ?`, params: [range.key] };
  return { sql: `${column} >= ? AND ${column} < ?`, params: [range.key, range.end] };
}

/**
 * How far back a look at the history may start and still read it in revision order; from
 * further back, the key index finds the range's changes (fewer than all changes since then,
 * unless the range holds most keys).
 */
const RECENT_REVISIONS = 1_000;

/** The key/value state in one SQLite database. */
export class KvStore {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #meta = new Map<MetaName, number>();
  #inTransaction = false;

  /** An empty store, or the one whose {@linkcode KvStore.snapshot} is `snapshot`. */
  constructor(snapshot: Uint8Array | null = null) {
    this.#db = new DatabaseSync(":memory:");
    if (snapshot === null) {
      this.#db.exec(SCHEMA);
      for (const name of META_NAMES) this.#setMeta(name, name === "schema" ? SCHEMA_VERSION : 0);
    } else {
      this.#restore(snapshot);
    }
  }

  /** The last log index whose entry this state reflects. */
  get appliedIndex(): number {
    return this.#meta.get("applied_index")!;
  }

  /** The cluster-wide revision: how many changing entries were applied. */
  get revision(): number {
    return this.#meta.get("revision")!;
  }

  /** History before this revision is gone: reads and watches must start after it. */
  get compactedRevision(): number {
    return this.#meta.get("compacted_revision")!;
  }

  /** Runs `body` as one transaction: all its changes happen, or none if it throws. */
  transaction<T>(body: () => T): T {
    assert(!this.#inTransaction, "Cannot start a transaction inside another");
    this.#inTransaction = true;
    const metaBefore = new Map(this.#meta);
    this.#db.exec("BEGIN");
    try {
      const result = body();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      for (const [name, value] of metaBefore) this.#meta.set(name, value);
      throw error;
    } finally {
      this.#inTransaction = false;
    }
  }

  /** Records that the state reflects log index `index`. */
  setAppliedIndex(index: number): void {
    assert(
      index > this.appliedIndex,
      `Cannot apply entry ${index}: ${this.appliedIndex} is applied`,
    );
    this.#setMeta("applied_index", index);
  }

  /** Moves to the next revision and returns it (inside a transaction). */
  nextRevision(): number {
    this.#requireTransaction("start a revision");
    this.#setMeta("revision", this.revision + 1);
    return this.revision;
  }

  /** The key's record, or null. */
  get(key: string): KeyRecord | null {
    const row = this.#statement("SELECT * FROM keys WHERE key = ?").get(key) as Row | undefined;
    return row === undefined ? null : keyRecordOf(row);
  }

  /**
   * The keys in `range` in key order, at most `limit` of them (0: no limit), and whether more
   * follow. Reads only the rows it returns (the primary key's order).
   */
  range(range: KeyRange, limit = 0): { records: KeyRecord[]; more: boolean } {
    const { sql, params } = rangeCondition(range);
    const take = limit > 0 ? limit + 1 : -1;
    const rows = this.#statement(`SELECT * FROM keys WHERE ${sql} ORDER BY key LIMIT ?`)
      .all(...params, take) as Row[];
    const more = limit > 0 && rows.length > limit;
    return { records: rows.slice(0, more ? limit : rows.length).map(keyRecordOf), more };
  }

  /** How many keys `range` holds. */
  count(range: KeyRange): number {
    const { sql, params } = rangeCondition(range);
    const row = this.#statement(`SELECT count(*) AS n FROM keys WHERE ${sql}`).get(
      ...params,
    ) as Row;
    return row.n as number;
  }

  /**
   * The keys in `range` as they stood at `revision` (after the compacted revision), in key
   * order, at most `limit` (0: no limit): each key's state then is its current one if it has not
   * changed since, else the state before its first change after `revision`.
   */
  rangeAt(range: KeyRange, revision: number, limit = 0): { records: KeyRecord[]; more: boolean } {
    assert(
      revision > this.compactedRevision && revision <= this.revision,
      `Cannot read at revision ${revision}: history holds ${
        this.compactedRevision + 1
      } to ${this.revision}`,
    );
    const keys = rangeCondition(range, "k.key");
    const changes = rangeCondition(range, "c.key");
    const take = limit > 0 ? limit + 1 : -1;
    const rows = this.#statement(`
      SELECT k.key AS key, k.value, k.version, k.create_revision, k.mod_revision, k.lease, NULL AS previous
        FROM keys k WHERE ${keys.sql} AND k.mod_revision <= ?
      UNION ALL
      SELECT c.key AS key, NULL, NULL, NULL, NULL, NULL, c.previous
        FROM changes c
        WHERE ${changes.sql} AND c.revision > ? AND c.previous IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM changes e WHERE e.key = c.key AND e.revision > ?
                          AND (e.revision < c.revision OR (e.revision = c.revision AND e.sub < c.sub)))
      ORDER BY key LIMIT ?`).all(
      ...keys.params,
      revision,
      ...changes.params,
      revision,
      revision,
      take,
    ) as Row[];
    const records = rows.map((row) =>
      row.previous === null ? keyRecordOf(row) : JSON.parse(row.previous as string) as KeyRecord
    );
    const more = limit > 0 && records.length > limit;
    return { records: records.slice(0, more ? limit : records.length), more };
  }

  /** Writes `record` (inside a transaction) and notes the change in the history. */
  put(record: KeyRecord, sub: number, previous: KeyRecord | null = this.get(record.key)): void {
    this.#requireTransaction(`put ${record.key}`);
    this.#statement(
      "INSERT OR REPLACE INTO keys (key, value, version, create_revision, mod_revision, lease) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(
      record.key,
      record.value,
      record.version,
      record.createRevision,
      record.modRevision,
      record.lease,
    );
    this.#noteChange("put", record, sub, previous);
  }

  /** Deletes `key` at `revision` (inside a transaction); returns what it held, or null. */
  delete(key: string, revision: number, sub: number): KeyRecord | null {
    this.#requireTransaction(`delete ${key}`);
    const previous = this.get(key);
    if (previous === null) return null;
    this.#statement("DELETE FROM keys WHERE key = ?").run(key);
    this.#noteChange("delete", { ...previous, modRevision: revision }, sub, previous);
    return previous;
  }

  /**
   * The changes to keys in `range` from change `fromSub` of revision `from` on, in revision
   * order, at most `limit`. `from` must be after the compacted revision.
   */
  changesFrom(range: KeyRange, from: number, limit: number, fromSub = 0): Change[] {
    assert(from > this.compactedRevision, `Cannot list changes from ${from}: compacted`);
    // Near the present, read the history in revision order from `from` (`+key` keeps SQLite off
    // the key index, which it would otherwise pick): a live watcher's poll then costs the few
    // changes since it last asked, not every change its keys had in the window, sorted.
    const recent = this.revision - from < RECENT_REVISIONS;
    const { sql, params } = rangeCondition(range, recent ? "+key" : "key");
    const rows = this.#statement(
      `SELECT * FROM changes WHERE (revision, sub) >= (?, ?) AND ${sql} ` +
        "ORDER BY revision, sub LIMIT ?",
    ).all(from, fromSub, ...params, limit) as Row[];
    return rows.map((row) => ({
      type: row.type as "put" | "delete",
      revision: row.revision as number,
      sub: row.sub as number,
      // A change row holds the key as the change left it, at the change's revision.
      record: keyRecordOf({ ...row, mod_revision: row.revision }),
      previous: row.previous === null ? null : JSON.parse(row.previous as string) as KeyRecord,
    }));
  }

  /** Drops the history up to and including `revision` (inside a transaction). */
  compact(revision: number): void {
    this.#requireTransaction(`compact to ${revision}`);
    assert(
      revision > this.compactedRevision && revision <= this.revision,
      `Cannot compact to ${revision}: history holds ${
        this.compactedRevision + 1
      } to ${this.revision}`,
    );
    this.#statement("DELETE FROM changes WHERE revision <= ?").run(revision);
    this.#setMeta("compacted_revision", revision);
  }

  /** Whether lease `id` exists. */
  hasLease(id: number): boolean {
    return this.#statement("SELECT 1 FROM leases WHERE id = ?").get(id) !== undefined;
  }

  /** Every lease with its time to live, in id order. */
  leases(): { id: number; ttlMs: number }[] {
    const rows = this.#statement("SELECT id, ttl_ms FROM leases ORDER BY id").all() as Row[];
    return rows.map((row) => ({ id: row.id as number, ttlMs: row.ttl_ms as number }));
  }

  /** How many leases exist. */
  leaseCount(): number {
    return (this.#statement("SELECT count(*) AS n FROM leases").get() as Row).n as number;
  }

  /** Creates a lease of `ttlMs` with the next id (inside a transaction) and returns the id. */
  grantLease(ttlMs: number): number {
    this.#requireTransaction("grant a lease");
    const id = this.#meta.get("last_lease")! + 1;
    this.#setMeta("last_lease", id);
    this.#statement("INSERT INTO leases (id, ttl_ms) VALUES (?, ?)").run(id, ttlMs);
    return id;
  }

  /** Removes lease `id` (inside a transaction); its keys stay until the caller deletes them. */
  removeLease(id: number): void {
    this.#requireTransaction(`remove lease ${id}`);
    this.#statement("DELETE FROM leases WHERE id = ?").run(id);
  }

  /** The keys attached to lease `id`, in key order, at most `limit`. */
  keysOfLease(id: number, limit: number): string[] {
    const rows = this.#statement("SELECT key FROM keys WHERE lease = ? ORDER BY key LIMIT ?")
      .all(id, limit) as Row[];
    return rows.map((row) => row.key as string);
  }

  /** The last sequence number applied for `clientId` and the reply it got, or null. */
  client(clientId: number): { sequence: number; reply: string } | null {
    const row = this.#statement("SELECT sequence, reply FROM clients WHERE client_id = ?")
      .get(clientId) as Row | undefined;
    return row === undefined
      ? null
      : { sequence: row.sequence as number, reply: row.reply as string };
  }

  /** How many clients are remembered. */
  clientCount(): number {
    return (this.#statement("SELECT count(*) AS n FROM clients").get() as Row).n as number;
  }

  /** Remembers that `sequence` of `clientId` was applied and got `reply` (inside a transaction). */
  setClient(clientId: number, sequence: number, reply: string): void {
    this.#requireTransaction(`remember client ${clientId}`);
    this.#statement("INSERT OR REPLACE INTO clients (client_id, sequence, reply) VALUES (?, ?, ?)")
      .run(clientId, sequence, reply);
  }

  /** The whole state as bytes, restorable with `new KvStore(bytes)`. */
  snapshot(): Uint8Array {
    assert(!this.#inTransaction, "Cannot take a snapshot inside a transaction");
    this.#flushMeta();
    const rows = this.#rowCount();
    if (rows > ROWS_SNAPSHOT_MAX) {
      // deno-lint-ignore no-explicit-any
      const image = (this.#db as any).serialize() as Uint8Array;
      const bytes = new Uint8Array(image.length + 1);
      bytes[0] = IMAGE_FORMAT;
      bytes.set(image, 1);
      return bytes;
    }
    const tables: Record<string, unknown[]> = {};
    for (const [table, columns] of Object.entries(ROW_TABLES)) {
      const flat: unknown[] = [];
      const rows = this.#statement(`SELECT ${columns.join(", ")} FROM ${table}`).all() as Row[];
      // Bounded by ROWS_SNAPSHOT_MAX (and the few meta and lease rows).
      for (const row of rows) for (const column of columns) flat.push(row[column]);
      tables[table] = flat;
    }
    const body = encode(tables);
    const bytes = new Uint8Array(body.length + 1);
    bytes[0] = ROWS_FORMAT;
    bytes.set(body, 1);
    return bytes;
  }

  /** Frees the database. */
  close(): void {
    this.#db.close();
  }

  #rowCount(): number {
    const row = this.#statement(
      "SELECT (SELECT count(*) FROM keys) + (SELECT count(*) FROM changes) + (SELECT count(*) FROM clients) AS n",
    ).get() as Row;
    return row.n as number;
  }

  #restore(snapshot: Uint8Array): void {
    try {
      if (snapshot[0] === IMAGE_FORMAT) {
        // deno-lint-ignore no-explicit-any
        (this.#db as any).deserialize(snapshot.subarray(1));
        const check = this.#db.prepare("PRAGMA quick_check").get() as Row;
        if (check.quick_check !== "ok") throw new Error(`its check says ${check.quick_check}`);
      } else if (snapshot[0] === ROWS_FORMAT) {
        this.#db.exec(SCHEMA);
        this.#insertRows(decode(snapshot.subarray(1)));
      } else {
        throw new Error(`its first byte ${snapshot[0]} names no format`);
      }
      const rows = this.#db.prepare("SELECT name, value FROM meta").all() as Row[];
      for (const row of rows) this.#meta.set(row.name as MetaName, row.value as number);
    } catch (error) {
      throw new Error(`Cannot read the key/value snapshot: ${errorText(error)}`);
    }
    for (const name of META_NAMES) {
      if (!Number.isSafeInteger(this.#meta.get(name))) {
        throw new Error(`Cannot read the key/value snapshot: it has no ${name}`);
      }
    }
    if (this.#meta.get("schema") !== SCHEMA_VERSION) {
      throw new Error(
        `Cannot read the key/value snapshot: its schema is version ${
          this.#meta.get("schema")
        }, not ${SCHEMA_VERSION}`,
      );
    }
  }

  #insertRows(value: unknown): void {
    if (typeof value !== "object" || value === null) throw new Error("its rows are not a map");
    const tables = value as Record<string, unknown>;
    this.#db.exec("BEGIN");
    try {
      for (const [table, columns] of Object.entries(ROW_TABLES)) {
        const flat = tables[table];
        if (!Array.isArray(flat) || flat.length % columns.length !== 0) {
          throw new Error(`its ${table} are not rows of ${columns.length} columns`);
        }
        const marks = columns.map(() => "?").join(", ");
        const insert = this.#db.prepare(
          `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${marks})`,
        );
        // Bounded by the snapshot's rows.
        for (let at = 0; at < flat.length; at += columns.length) {
          insert.run(...flat.slice(at, at + columns.length));
        }
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #noteChange(type: "put" | "delete", record: KeyRecord, sub: number, previous: KeyRecord | null) {
    this.#statement(
      "INSERT INTO changes (revision, sub, type, key, value, version, create_revision, lease, previous) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      record.modRevision,
      sub,
      type,
      record.key,
      type === "put" ? record.value : "",
      type === "put" ? record.version : 0,
      type === "put" ? record.createRevision : 0,
      type === "put" ? record.lease : 0,
      previous === null ? null : JSON.stringify(previous),
    );
  }

  /**
   * Sets a counter. Counters change with every entry, so they live in memory and reach the
   * `meta` table only when a snapshot is taken ({@linkcode KvStore.snapshot}): three writes an
   * entry saved, and a rolled-back transaction restores them from its copy.
   */
  #setMeta(name: MetaName, value: number): void {
    this.#meta.set(name, value);
  }

  /** Writes the counters into the `meta` table, so the database's bytes hold them. */
  #flushMeta(): void {
    const write = this.#statement("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)");
    for (const [name, value] of this.#meta) write.run(name, value);
  }

  #requireTransaction(what: string): void {
    assert(this.#inTransaction, `Cannot ${what} outside a transaction`);
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
