/**
 * Two ways to make readers wait for a writer. A barrier, as etcd's recipe: while its key exists
 * every {@linkcode Barrier.wait} blocks, and deleting the key lets them all through. And
 * ZooKeeper's ready-file configuration: a writer deletes `PREFIX/ready`, rewrites the keys under
 * `PREFIX/data/`, and creates `PREFIX/ready` again; a reader waits for `ready` and reads the
 * keys. ZooKeeper's reader must also watch `ready` while it reads, since its reads are not at one
 * point in time; here the reader reads `ready` and the keys in one range at one revision, so a
 * configuration it sees with `ready` is whole.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clerk } from "../kv/clerk.ts";
import { ERR_NO_KEY } from "../kv/protocol.ts";
import { prefixEnd } from "../kv/store.ts";
import { checkOk, type KvConnection, readRange } from "./connection.ts";
import { waitForEvent } from "./wait.ts";

/** The most keys a ready-file configuration holds: it is read whole. */
export const MAX_CONFIG_KEYS = 1_000;

/** A barrier at one key. */
export class Barrier {
  readonly #connection: KvConnection;
  readonly #clerk: Clerk;
  readonly #key: string;

  /** The barrier at `key`, on a clerk of its own. */
  constructor(connection: KvConnection, key: string) {
    this.#connection = connection;
    this.#clerk = connection.makeClerk();
    this.#key = key;
  }

  /** Raises the barrier: waiters block until {@linkcode Barrier.release}. */
  async hold(): Promise<void> {
    await this.#clerk.put(this.#key, "");
  }

  /** Lowers the barrier: every waiter goes on. */
  async release(): Promise<void> {
    await this.#clerk.delete(this.#key);
  }

  /** Returns once the barrier is down (at once if it is). */
  async wait(): Promise<void> {
    // Bounded by the holder: each pass waits for a deletion, and ends unless the watch fell behind.
    for (;;) {
      const reply = await this.#clerk.send({ kind: "get", key: this.#key, value: "" });
      if (reply.err === ERR_NO_KEY) return;
      checkOk(reply, `wait at barrier ${JSON.stringify(this.#key)}`);
      const from = (reply.revision ?? 0) + 1;
      const deleted = await waitForEvent(this.#connection, { key: this.#key }, from, isDelete);
      if (deleted !== null) return;
    }
  }

  /** Stops the barrier's clerk. */
  close(): void {
    this.#clerk.close();
  }
}

function isDelete(event: { type: string }): boolean {
  return event.type === "delete";
}

/** A configuration as a reader saw it whole: its keys (without the prefix) and `ready`'s value. */
export interface Config {
  /** The keys under `PREFIX/data/`, without that prefix, and their values. */
  readonly entries: ReadonlyMap<string, string>;
  /** The value of `PREFIX/ready`: the version the writer gave the configuration. */
  readonly ready: string;
  /** The revision the configuration was read at. */
  readonly revision: number;
}

/**
 * Publishes `entries` under `prefix` the ready-file way, with `ready` holding `version`: the
 * old `ready` goes first and the new one comes last, each write on its own.
 */
export async function publishConfig(
  clerk: Clerk,
  prefix: string,
  entries: ReadonlyMap<string, string>,
  version: string,
): Promise<void> {
  assert(
    entries.size <= MAX_CONFIG_KEYS,
    `Cannot publish ${entries.size} keys: the limit is ${MAX_CONFIG_KEYS}`,
  );
  await clerk.delete(`${prefix}ready`);
  const data = `${prefix}data/`;
  await clerk.delete(data, prefixEnd(data));
  for (const [name, value] of entries) await clerk.put(`${data}${name}`, value);
  const reply = await clerk.send({ kind: "put", key: `${prefix}ready`, value: version });
  checkOk(reply, `publish the configuration under ${JSON.stringify(prefix)}`);
}

/** Waits until the configuration under `prefix` is ready, and returns it as it stood then. */
export async function readConfig(
  connection: KvConnection,
  clerk: Clerk,
  prefix: string,
): Promise<Config> {
  const range = { key: prefix, end: prefixEnd(prefix) };
  const data = `${prefix}data/`;
  // Bounded by the writer: each pass waits for `ready` to be written.
  for (;;) {
    const { records, revision } = await readRange(clerk, range, MAX_CONFIG_KEYS + 1);
    const ready = records.find((record) => record.key === `${prefix}ready`);
    if (ready !== undefined) {
      const entries = new Map<string, string>();
      for (const record of records) {
        if (record.key.startsWith(data)) entries.set(record.key.slice(data.length), record.value);
      }
      return { entries, ready: ready.value, revision };
    }
    await waitForEvent(connection, { key: `${prefix}ready` }, revision + 1, isPut);
  }
}

function isPut(event: { type: string }): boolean {
  return event.type === "put";
}
