/**
 * The queue that etcd's lock and election share. Each contender creates a key `PREFIX/<lease>`
 * attached to its session's lease, in a transaction that creates it only if it does not exist;
 * the contender whose key has the lowest create revision holds the turn. A contender whose key
 * is younger waits for the deletion of the key just before its own — not of the holder's, nor
 * of any key under the prefix, so a release wakes one waiter, not every one — and then looks
 * again, since the key before it may have been a waiter that gave up. The holder's create
 * revision is its fencing token: it grows with every turn, and a write guarded by comparing the
 * key's create revision is refused once the turn is gone (the key deleted, or created again).
 *
 * @module
 */
import type { Clerk } from "../kv/clerk.ts";
import type { Compare } from "../kv/command.ts";
import { OK } from "../kv/protocol.ts";
import { type KeyRecord, prefixEnd } from "../kv/store.ts";
import { checkOk, type KvConnection, readRange } from "./connection.ts";
import type { Session } from "./session.ts";
import { waitForEvent } from "./wait.ts";

/** The most contenders a queue may hold; more is an error, not an unbounded read. */
export const MAX_CONTENDERS = 10_000;

/** A contender's place: its key and that key's create revision (the fencing token). */
export interface Turn {
  /** The contender's key: the queue's prefix and its lease in hex. */
  readonly key: string;
  /** The key's create revision: the fencing token while the turn holds. */
  readonly revision: number;
}

/** Picks, among the queue's keys, the one a contender at `revision` waits for (null: its turn). */
export type PredecessorChoice = (
  records: readonly KeyRecord[],
  revision: number,
) => KeyRecord | null;

/** The key of `session` in the queue under `prefix`, as etcd names it: the lease in hex. */
export function turnKey(prefix: string, session: Session): string {
  return `${prefix}${session.lease.toString(16)}`;
}

/** The comparison that guards a write by the turn: the key still has the turn's create revision. */
export function fence(turn: Turn): Compare {
  return { key: turn.key, target: "create", op: "=", value: turn.revision };
}

/**
 * Joins the queue under `prefix` with `value`: creates the session's key unless it exists (a
 * retry, or the session queueing again), and returns its place.
 */
export async function joinQueue(
  clerk: Clerk,
  session: Session,
  prefix: string,
  value: string,
): Promise<Turn> {
  session.check();
  const key = turnKey(prefix, session);
  const reply = await clerk.txn({
    compare: [{ key, target: "create", op: "=", value: 0 }],
    success: [{ kind: "put", key, value, lease: session.lease }],
    failure: [{ kind: "range", key }],
  });
  checkOk(reply, `queue for ${JSON.stringify(prefix)}`);
  const response = reply.responses?.[0];
  if (reply.succeeded) {
    // A put in a transaction writes nothing when its lease is gone.
    if (response?.version === undefined) {
      throw new Error(`Cannot queue for ${JSON.stringify(prefix)}: lease ${session.lease} ended`);
    }
    return { key, revision: reply.revision ?? 0 };
  }
  const record = response?.records?.[0];
  if (record === undefined) throw new Error(`Cannot queue for ${JSON.stringify(prefix)}: no key`);
  return { key, revision: record.createRevision };
}

/** The key created last before `revision`: the one a contender at `revision` waits for. */
export function previousKey(records: readonly KeyRecord[], revision: number): KeyRecord | null {
  let previous: KeyRecord | null = null;
  for (const record of records) {
    if (record.createRevision >= revision) continue;
    if (previous === null || record.createRevision > previous.createRevision) previous = record;
  }
  return previous;
}

/** The holder of the queue under `prefix`: its oldest key; null when nobody queues. */
export function oldestKey(records: readonly KeyRecord[]): KeyRecord | null {
  let oldest: KeyRecord | null = null;
  for (const record of records) {
    if (oldest === null || record.createRevision < oldest.createRevision) oldest = record;
  }
  return oldest;
}

/**
 * Waits until `turn` holds the queue under `prefix`: until no older key is left. Throws when the
 * session ends, or when the turn's key is gone (its lease expired meanwhile).
 */
export async function waitForTurn(
  connection: KvConnection,
  clerk: Clerk,
  session: Session,
  prefix: string,
  turn: Turn,
  choose: PredecessorChoice = previousKey,
): Promise<void> {
  const range = { key: prefix, end: prefixEnd(prefix) };
  // Bounded: every pass sees a key older than the turn's deleted, and no key older than it can
  // be created; MAX_CONTENDERS bounds how many there were.
  for (let pass = 0; pass <= MAX_CONTENDERS; pass++) {
    session.check();
    const { records, revision } = await readRange(clerk, range, MAX_CONTENDERS);
    const mine = records.find((record) => record.key === turn.key);
    if (mine?.createRevision !== turn.revision) {
      throw new Error(
        `Cannot wait for ${
          JSON.stringify(prefix)
        }: key ${turn.key} of revision ${turn.revision} is gone (lease ${session.lease} ended?)`,
      );
    }
    const previous = choose(records, turn.revision);
    if (previous === null) return;
    await waitForEvent(
      connection,
      { key: previous.key },
      revision + 1,
      (event) => event.type === "delete",
      { session },
    );
  }
  throw new Error(`Cannot wait for ${JSON.stringify(prefix)}: over ${MAX_CONTENDERS} passes`);
}

/** Leaves the queue: deletes the turn's key if it still is the turn's (not a newer one's). */
export async function leaveQueue(clerk: Clerk, turn: Turn): Promise<boolean> {
  const reply = await clerk.txn({
    compare: [fence(turn)],
    success: [{ kind: "delete", key: turn.key }],
    failure: [],
  });
  return reply.err === OK && reply.succeeded === true;
}
