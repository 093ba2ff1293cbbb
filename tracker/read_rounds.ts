/**
 * Linearizable reads without log writes, the leader's side (the Raft thesis, section 6.4): the
 * reads waiting for proof that their leader still led when they were asked, and the rounds of
 * appends that bring that proof.
 *
 * A read asked of a leader that has committed an entry of its term takes the leader's commit
 * index as its read index. That index holds every write acknowledged before the read began,
 * unless another leader has since been elected. To rule that out, the leader waits until a
 * majority of voters (itself included) has answered an append sent after the read was asked: a
 * voter that answers in the leader's term had voted for no later leader when it answered.
 *
 * Every append a leader sends carries its current read round, and every reply echoes the round
 * of the append it answers. A read is filed under the current round when no append of that round
 * has left yet (the driver has not taken them in a Ready): all its appends leave after the read
 * was asked, so concurrent reads share one round of appends. Otherwise a new round starts. The
 * highest round a majority has echoed confirms its reads and every earlier round's.
 *
 * The same answers give the leader a lease (section 6.4.1): a voter that heard from its leader
 * less than an election timeout ago refuses to vote in a later term (CheckQuorum), so once a
 * majority has answered a round, no other leader can be elected for an election timeout after
 * that round started, as the followers' clocks measure it. The lease ends sooner by the clock
 * drift allowed (see {@linkcode leaseTicksFor}).
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { majorityIndex } from "./quorum.ts";

/** A read waiting for its round to be confirmed. */
export interface PendingRead {
  /** The asking peer's number for the read. */
  readonly id: number;
  /** The peer that asked: the leader itself, or a follower that forwarded the read. */
  readonly from: number;
  /** The leader's commit index when the read was asked: its read index once confirmed. */
  readonly index: number;
  /** The round whose answers confirm it. */
  readonly round: number;
  /** The leader's tick count when it was asked: reads unconfirmed for too long are refused. */
  readonly askedTick: number;
}

/** Rounds started and not yet confirmed that a leader remembers the start of. */
export const ROUND_STARTS_MAX = 1024;

/**
 * The lease a leader may count on, in its own ticks from the start of a round a majority has
 * answered. Followers refuse votes for `electionTimeoutTicks` of their ticks after they last heard
 * from the leader, which may be as little as `electionTimeoutTicks - 1` tick lengths (a tick may
 * fall just after the append arrived). A leader whose tick counter moved `k` ticks has seen less
 * than `k + 1` tick lengths pass. Clocks may run apart by `maxClockDriftPercent`: the leader's
 * ticks may be that much longer than a follower's. So the lease is the follower's guaranteed
 * `electionTimeoutTicks - 1` tick lengths, shrunk by the drift, less the leader's tick it cannot
 * see: with the defaults (30 ticks, 10 % drift) 25 ticks, 250 ms.
 */
export function leaseTicksFor(electionTimeoutTicks: number, maxClockDriftPercent: number): number {
  assert(
    maxClockDriftPercent >= 0 && maxClockDriftPercent < 100,
    `A clock drift of ${maxClockDriftPercent} % is not in [0, 100)`,
  );
  return Math.floor((electionTimeoutTicks - 1) / (1 + maxClockDriftPercent / 100)) - 1;
}

/**
 * How many leading items of `items` (oldest first) `leads` holds for, up to the first it does
 * not: how far a queue ordered by age or round gives up its oldest entries.
 *
 * @example
 * ```ts
 * import { countLeading } from "./read_rounds.ts";
 * countLeading([1, 2, 5, 1], (n) => n < 3); // 2
 * ```
 */
export function countLeading<Item>(items: readonly Item[], leads: (item: Item) => boolean): number {
  let count = 0;
  // Bounded by the items' length.
  while (count < items.length && leads(items[count])) count++;
  return count;
}

/** A leader's read rounds and waiting reads, for one term of leadership. */
export class ReadRounds {
  readonly #readsMax: number;
  /** The latest round started; 0 before the first. */
  #round = 0;
  /** Whether appends of `#round` may have left already (then a new read needs a new round). */
  #roundHandedOut = true;
  /** The highest round each follower has echoed in this term. */
  readonly #echoedRounds = new Map<number, number>();
  /** Rounds started and not yet confirmed, oldest first, with the tick each started at. */
  #roundStarts: { readonly round: number; readonly tick: number }[] = [];
  /** The highest round a majority of voters has echoed. */
  #confirmedRound = 0;
  /** The tick the highest confirmed round started at, or null when none is known. */
  #leaseStartTick: number | null = null;
  /** Waiting reads, oldest first (so rounds never decrease along the queue). */
  #reads: PendingRead[] = [];

  /** Rounds for a leader that holds at most `readsMax` reads waiting. */
  constructor(readsMax: number) {
    assert(readsMax > 0, `A queue of ${readsMax} reads holds none`);
    this.#readsMax = readsMax;
  }

  /** The round the leader's appends carry now. */
  get round(): number {
    return this.#round;
  }

  /** Reads waiting. */
  get size(): number {
    return this.#reads.length;
  }

  /** The tick the latest round answered by a majority started at, or null. */
  get leaseStartTick(): number | null {
    return this.#leaseStartTick;
  }

  /**
   * Starts a new round unless the current one's appends have not left yet; returns whether it
   * did (the caller then sends every follower an append, which carries the new round).
   */
  startRound(tick: number): boolean {
    if (!this.#roundHandedOut) return false;
    this.#round++;
    this.#roundHandedOut = false;
    if (this.#roundStarts.length >= ROUND_STARTS_MAX) this.#roundStarts.shift();
    this.#roundStarts.push({ round: this.#round, tick });
    return true;
  }

  /** The driver took the waiting messages: appends of the current round may have left. */
  handedOut(): void {
    this.#roundHandedOut = true;
  }

  /**
   * Files a read under the current round, which must be one whose appends have not left; returns
   * false, filing nothing, when the queue is full.
   */
  add(read: Omit<PendingRead, "round">): boolean {
    assert(
      !this.#roundHandedOut,
      `Cannot file read ${read.id} under round ${this.#round}: its appends may have left`,
    );
    if (this.#reads.length >= this.#readsMax) return false;
    this.#reads.push({ ...read, round: this.#round });
    return true;
  }

  /**
   * Follower `peer` answered an append of round `round` in this term. A round not started yet
   * (only a faulty peer echoes one) proves nothing and is ignored. Returns whether the peer's
   * highest round rose (only then may reads be confirmed).
   */
  echoed(peer: number, round: number): boolean {
    if (round > this.#round || round <= (this.#echoedRounds.get(peer) ?? 0)) return false;
    this.#echoedRounds.set(peer, round);
    return true;
  }

  /**
   * Takes the reads confirmed by the echoes so far, oldest first: those of rounds up to the
   * highest that a majority of `voters` echoed (`self`, the leader, echoes every round).
   */
  confirm(voters: readonly number[], self: number): PendingRead[] {
    const rounds = voters.map((voter) =>
      voter === self ? this.#round : this.#echoedRounds.get(voter) ?? 0
    );
    const confirmed = majorityIndex(rounds);
    if (confirmed > this.#confirmedRound) this.#advanceLease(confirmed);
    // A read may join a confirmed round whose appends have not left: a lone voter confirms
    // every round as it starts.
    return this.#takeReads(countLeading(this.#reads, (read) => read.round <= this.#confirmedRound));
  }

  /** Round `confirmed` is the highest a majority echoed: the lease starts at its start. */
  #advanceLease(confirmed: number): void {
    this.#confirmedRound = confirmed;
    // The start of the latest remembered round up to it: later than none, earlier is safe.
    const passed = countLeading(this.#roundStarts, (start) => start.round <= confirmed);
    if (passed > 0) this.#leaseStartTick = this.#roundStarts[passed - 1].tick;
    this.#roundStarts = this.#roundStarts.slice(passed);
  }

  /** Takes the reads asked at or before `tick`, oldest first. */
  expire(tick: number): PendingRead[] {
    return this.#takeReads(countLeading(this.#reads, (read) => read.askedTick <= tick));
  }

  /** Takes the `count` oldest reads. */
  #takeReads(count: number): PendingRead[] {
    if (count === 0) return [];
    const reads = this.#reads.slice(0, count);
    this.#reads = this.#reads.slice(count);
    return reads;
  }

  /** Ends this term of leadership: takes every waiting read and forgets rounds and lease. */
  clear(): PendingRead[] {
    const reads = this.#reads;
    this.#reads = [];
    this.#round = 0;
    this.#roundHandedOut = true;
    this.#echoedRounds.clear();
    this.#roundStarts = [];
    this.#confirmedRound = 0;
    this.#leaseStartTick = null;
    return reads;
  }
}
