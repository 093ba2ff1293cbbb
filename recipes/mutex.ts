/**
 * etcd's lock on the coordination service: a holder queues a key `NAME/<lease>` attached to its
 * session's lease (see turns.ts), holds the lock once its key is the oldest, and gets that key's
 * create revision as its fencing token. Unlock deletes the key; the session's end (closed, or
 * its lease expired) deletes it too, so a dead holder frees the lock after the lease's time to
 * live. A holder that may have lost the lock without knowing it (a long pause) guards its writes
 * with {@linkcode fence}, which the service refuses once the key is gone.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clerk } from "../kv/clerk.ts";
import type { KeyRecord } from "../kv/store.ts";
import type { KvConnection } from "./connection.ts";
import type { Session } from "./session.ts";
import { joinQueue, leaveQueue, previousKey, type Turn, waitForTurn } from "./turns.ts";

/** A lock held: its key and fencing token (the key's create revision). */
export type LockHold = Turn;

/** A lock named `name`, taken by one session at a time. */
export class Mutex {
  /** The prefix of the lock's keys: the name and a slash. */
  readonly prefix: string;
  readonly #connection: KvConnection;
  readonly #session: Session;
  readonly #clerk: Clerk;
  #hold: LockHold | null = null;

  /** The lock `name` (no slash at its end) for `session`, on a clerk of its own. */
  constructor(connection: KvConnection, session: Session, name: string) {
    assert(name !== "" && !name.endsWith("/"), `Lock name ${JSON.stringify(name)} is not a name`);
    this.prefix = `${name}/`;
    this.#connection = connection;
    this.#session = session;
    this.#clerk = connection.makeClerk();
  }

  /** The lock as held now, or null. */
  get hold(): LockHold | null {
    return this.#hold;
  }

  /**
   * Waits until this session holds the lock and returns the hold. Throws if the session ends
   * meanwhile; the queued key then goes with the lease.
   */
  async lock(): Promise<LockHold> {
    assert(this.#hold === null, `Cannot lock ${this.prefix}: this session holds it`);
    const turn = await joinQueue(this.#clerk, this.#session, this.prefix, "");
    await waitForTurn(
      this.#connection,
      this.#clerk,
      this.#session,
      this.prefix,
      turn,
      (records, revision) => this.predecessor(records, revision),
    );
    this.#hold = turn;
    return turn;
  }

  /** Releases the lock: deletes the holder's key (if still its own); the session goes on. */
  async unlock(): Promise<void> {
    const hold = this.#hold;
    assert(hold !== null, `Cannot unlock ${this.prefix}: this session does not hold it`);
    this.#hold = null;
    await leaveQueue(this.#clerk, hold);
  }

  /** Stops the lock's clerk (an operation in progress rejects). */
  close(): void {
    this.#clerk.close();
  }

  /**
   * The key a waiter at `revision` waits for: the one created just before its own, or null when
   * none is older (it holds the lock).
   */
  protected predecessor(records: readonly KeyRecord[], revision: number): KeyRecord | null {
    return previousKey(records, revision);
  }
}
