/**
 * etcd's leader election on the coordination service: a candidate campaigns by queueing a key
 * `NAME/<lease>` holding its proposal (the queue of turns.ts, as the lock's); it leads once its
 * key is the oldest, and stays leader until it resigns or its session ends. Anyone may observe:
 * read who leads now, and watch the leader's key to learn when its value changes or it goes.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clerk } from "../kv/clerk.ts";
import { prefixEnd } from "../kv/store.ts";
import { type KvConnection, readRange } from "./connection.ts";
import type { Session } from "./session.ts";
import {
  fence,
  joinQueue,
  leaveQueue,
  MAX_CONTENDERS,
  oldestKey,
  type Turn,
  waitForTurn,
} from "./turns.ts";
import { waitForEvent } from "./wait.ts";

/** Who leads: the leader's key, its proposal, and the key's create revision (its term, as it were). */
export interface Leader {
  /** The leader's key under the election's prefix. */
  readonly key: string;
  /** Its proposal. */
  readonly value: string;
  /** Its key's create revision. */
  readonly revision: number;
}

/** An election named `name`: campaign, proclaim, resign, and read or observe the leader. */
export class Election {
  /** The prefix of the candidates' keys: the name and a slash. */
  readonly prefix: string;
  readonly #connection: KvConnection;
  readonly #clerk: Clerk;
  #leading: Turn | null = null;

  /** The election `name` (no slash at its end), on a clerk of its own. */
  constructor(connection: KvConnection, name: string) {
    assert(
      name !== "" && !name.endsWith("/"),
      `Election name ${JSON.stringify(name)} is not a name`,
    );
    this.prefix = `${name}/`;
    this.#connection = connection;
    this.#clerk = connection.makeClerk();
  }

  /** Where this candidate leads, or null. */
  get leading(): Turn | null {
    return this.#leading;
  }

  /**
   * Campaigns with `proposal` for `session` and returns once elected. Throws if the session
   * ends meanwhile.
   */
  async campaign(session: Session, proposal: string): Promise<Turn> {
    assert(this.#leading === null, `Cannot campaign in ${this.prefix}: this candidate leads`);
    const turn = await joinQueue(this.#clerk, session, this.prefix, proposal);
    // A key left from an earlier campaign of the session may hold another proposal.
    await this.#set(turn, proposal);
    await waitForTurn(this.#connection, this.#clerk, session, this.prefix, turn);
    this.#leading = turn;
    return turn;
  }

  /** As leader, publishes `value` as the proposal; throws if no longer leader. */
  async proclaim(value: string): Promise<void> {
    const turn = this.#leading;
    assert(turn !== null, `Cannot proclaim in ${this.prefix}: this candidate does not lead`);
    await this.#set(turn, value);
  }

  /** Gives up leadership (deletes the leader's key if it still is this candidate's). */
  async resign(): Promise<void> {
    const turn = this.#leading;
    assert(turn !== null, `Cannot resign from ${this.prefix}: this candidate does not lead`);
    this.#leading = null;
    await leaveQueue(this.#clerk, turn);
  }

  /** The leader now (linearizable), or null when nobody campaigns. */
  async leader(): Promise<Leader | null> {
    return (await this.#leaderAt()).leader;
  }

  /**
   * Calls `onLeader` with the leader, and again each time the leader or its proposal changes
   * (a leader who comes and goes between two looks may be missed, as with etcd's observe),
   * until `stop()` holds after a change or a poll.
   */
  async observe(onLeader: (leader: Leader) => void, stop: () => boolean): Promise<void> {
    let last: Leader | null = null;
    // As long as the observer wants: each pass waits for one change.
    while (!stop()) {
      const { leader, revision } = await this.#leaderAt();
      if (leader !== null && (leader.key !== last?.key || leader.value !== last.value)) {
        last = leader;
        onLeader(leader);
      }
      // Nobody leads: wait for a key under the prefix; else for the leader's key to change.
      const range = leader === null
        ? { key: this.prefix, end: prefixEnd(this.prefix) }
        : { key: leader.key };
      await this.#waitUnless(range, revision + 1, stop);
    }
  }

  /** Stops the election's clerk (an operation in progress rejects). */
  close(): void {
    this.#clerk.close();
  }

  async #set(turn: Turn, value: string): Promise<void> {
    const reply = await this.#clerk.txn({
      compare: [fence(turn), { key: turn.key, target: "value", op: "!=", value }],
      success: [{ kind: "put", key: turn.key, value }],
      failure: [{ kind: "range", key: turn.key }],
    });
    if (reply.succeeded) return;
    if ((reply.responses?.[0]?.records ?? [])[0]?.createRevision !== turn.revision) {
      throw new Error(
        `Cannot proclaim in ${this.prefix}: key ${turn.key} is no longer the leader's`,
      );
    }
  }

  async #leaderAt(): Promise<{ leader: Leader | null; revision: number }> {
    const range = { key: this.prefix, end: prefixEnd(this.prefix) };
    const { records, revision } = await readRange(this.#clerk, range, MAX_CONTENDERS);
    const oldest = oldestKey(records);
    const leader = oldest === null
      ? null
      : { key: oldest.key, value: oldest.value, revision: oldest.createRevision };
    return { leader, revision };
  }

  /** Waits for any change of `range` from `fromRevision`, or until `stop()` after a poll. */
  async #waitUnless(
    range: { key: string; end?: string },
    fromRevision: number,
    stop: () => boolean,
  ): Promise<void> {
    await waitForEvent(this.#connection, range, fromRevision, () => true, { stop });
  }
}
