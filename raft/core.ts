/**
 * The Raft core: the whole of Raft's logic (Figure 2 of the extended paper, plus log compaction
 * and InstallSnapshot from section 7) as a pure state machine. It owns no timers, sockets, files
 * or randomness of its own, in the manner of etcd's raft library.
 *
 * ## Inputs
 *
 * - {@linkcode RaftCore.tick} — one unit of logical time passed (the drivers use 10 ms);
 * - {@linkcode RaftCore.step} — a message from a peer arrived (a request or a reply);
 * - {@linkcode RaftCore.propose} — the service wants a command replicated (the lab's `Start`);
 * - {@linkcode RaftCore.compact} — the service took a snapshot up to an index (the lab's
 *   `Snapshot`).
 *
 * ## Outputs
 *
 * Inputs only change memory. What must happen in the world — what to persist, to send and to
 * apply — comes out as a {@linkcode Ready} batch (see ready.ts for the driver contract: the
 * order of persisting, sending and applying, and what may be sent before the persist). Each
 * follower's replication state is a {@linkcode Progress} (progress.ts); the commit rule is a
 * pure function of match indexes (quorum.ts); the configuration and its defaults are in
 * config.ts.
 *
 * ## Timing
 *
 * The lab drivers tick every 10 ms with `heartbeatTicks` 10 and `electionTimeoutTicks` 30: at
 * most ten heartbeats a second, elections after 300 to 600 ms of silence.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Random } from "../util/random.ts";
import {
  checkConfig,
  DEFAULT_MAX_APPEND_BYTES,
  DEFAULT_MAX_CLOCK_DRIFT_PERCENT,
  DEFAULT_MAX_ENTRIES_PER_APPEND,
  DEFAULT_MAX_ENTRIES_PER_READY,
  DEFAULT_MAX_INFLIGHT_APPENDS,
  DEFAULT_MAX_INFLIGHT_BYTES,
  DEFAULT_MAX_PENDING_MESSAGES,
  DEFAULT_MAX_PENDING_READS,
  type RaftCoreConfig,
} from "./config.ts";
import { RaftLog, type ReadonlyRaftLog } from "./log.ts";
import {
  type AppendEntries,
  type AppendEntriesReply,
  type Entry,
  estimateEncodedBytes,
  type InstallSnapshot,
  type InstallSnapshotReply,
  isRequest,
  type Message,
  type PreVote,
  type PreVoteReply,
  type ReadIndex,
  type ReadIndexReply,
  type RequestMessage,
  type RequestVote,
  type RequestVoteReply,
  type TimeoutNow,
  type TimeoutNowReply,
} from "./messages.ts";
import {
  countLeading,
  type FollowerProgress,
  leaseTicksFor,
  majorityIndex,
  majoritySize,
  type PendingRead,
  Progress,
  ReadRounds,
  voteResult,
  type WindowLimits,
} from "../tracker/mod.ts";
import {
  bootstrapMembership,
  changedMembership,
  isVoter,
  type Membership,
  type MembershipChange,
  type MembershipCommand,
  membershipOfCommand,
  membersOf,
  sameVoters,
} from "./membership.ts";
import {
  type HardState,
  type LogChange,
  NO_VOTE,
  type ReadState,
  type Ready,
  type Snapshot,
} from "./ready.ts";

/** No refusals counted: an election is decided by a majority granting, or by a timeout. */
const NO_REFUSALS: ReadonlySet<number> = new Set();

/** `leaderId` when the peer does not know a leader for its current term. */
export const NO_LEADER: number = -1;

/** A peer's role. */
export type Role = "follower" | "precandidate" | "candidate" | "leader";

/** The answer to {@linkcode RaftCore.propose}, as the lab's `Start` returns it. */
export interface ProposeResult {
  /** The index the command will have if it is ever committed; -1 when not leader. */
  readonly index: number;
  /** The current term. */
  readonly term: number;
  /** Whether this peer believed it was leader (only then was the command appended). */
  readonly isLeader: boolean;
}

/** The answer to {@linkcode RaftCore.proposeMembership}. */
export type MembershipProposal =
  | {
    /** The change was appended. */
    readonly ok: true;
    /** Its log index: the new membership is in force from here, and final once committed. */
    readonly index: number;
    /** The current term. */
    readonly term: number;
    /** The membership the entry carries. */
    readonly membership: Membership;
  }
  | {
    /** The change was not appended. */
    readonly ok: false;
    /** Why, as one sentence naming what is at fault. */
    readonly reason: string;
  };

/** Who asked a read, and when: a read before the leader knows its read index. */
type ReadAsker = Omit<PendingRead, "index" | "round">;

/**
 * One Raft peer's state machine. See the module documentation for the driver contract.
 *
 * Guarantees a driver can rely on: `commitIndex` never decreases; `appliedIndex ≤ commitIndex
 * ≤ log.lastIndex`; entries are handed out for applying exactly once each, in index order, never
 * beyond `commitIndex`, except that a snapshot from the leader replaces a range of them; the
 * hard state a reply depends on (a granted vote, a new term) is in the same Ready as the reply;
 * only a leader's requests are ever in `messagesBeforePersist`; a leader counts its own copy
 * toward a commit only up to `durableLastIndex`.
 */
export class RaftCore {
  /** This peer's id. */
  readonly id: number;
  readonly #electionTimeoutTicks: number;
  readonly #heartbeatTicks: number;
  readonly #random: Random;
  readonly #maxEntriesPerAppend: number;
  readonly #maxAppendBytes: number;
  readonly #maxEntriesPerReady: number;
  readonly #maxPendingMessages: number;
  readonly #window: WindowLimits;
  /** Heartbeats of silence after which a follower is probed again (see Progress). */
  readonly #silenceTimeoutHeartbeats: number;
  /** The membership before any snapshot or membership entry: the group's first. */
  readonly #bootstrapMembership: Membership;
  /** The membership as of the snapshot's last index. */
  #snapshotMembership: Membership;
  /** The latest membership in the log, committed or not: the one in force (section 4.1). */
  #membership: Membership;
  /** Index of the entry that carries `#membership`, or the snapshot's index, or 0. */
  #membershipIndex: number;

  #role: Role = "follower";
  #term: number;
  #votedFor: number;
  #leaderId = NO_LEADER;
  readonly #log: RaftLog;
  #snapshotData: Uint8Array;
  #commitIndex: number;
  /** Highest index the driver has acknowledged applying (through `advance`). */
  #appliedIndex: number;
  /** Highest index handed out to apply (in a Ready, advanced or not). */
  #applyingIndex: number;

  #electionElapsedTicks = 0;
  #randomizedElectionTimeoutTicks = 0;
  #heartbeatElapsedTicks = 0;
  #votesGranted = new Set<number>();
  #progress = new Map<number, Progress>();
  readonly #preVote: boolean;
  readonly #checkQuorum: boolean;
  readonly #noOpOnElection: boolean;
  /** Leader: the peer leadership is being handed to, or {@linkcode NO_LEADER}. */
  #transferTarget = NO_LEADER;
  /** Leader: ticks since the transfer began; it is given up after an election timeout. */
  #transferElapsedTicks = 0;
  /** Leader: whether the transfer's TimeoutNow went out. */
  #timeoutNowSent = false;
  /**
   * Leader: a TimeoutNow went out in this term. Its target campaigns past the voters' lease
   * whenever it arrives — after the transfer was given up, too — so this leader's lease no
   * longer holds for the rest of the term.
   */
  #leaseForfeited = false;
  /** Leader: the followers heard from since the last quorum check (CheckQuorum). */
  #recentlyActive = new Set<number>();
  /** New entries were proposed: `ready()` sends them to every follower that is not paused. */
  #broadcastPending = false;

  #messages: Message[] = [];
  #handedOutHardState: HardState;
  /** The last log index handed out for persistence. */
  #stableLastIndex: number;
  /**
   * The last index such that storage holds this peer's in-memory log up to it (entries at or
   * below the snapshot count as held): what a crash now would keep. A leader counts itself
   * toward a commit only up to here.
   */
  #durableLastIndex: number;
  /** What `#durableLastIndex` becomes when the outstanding Ready is advanced. */
  #outstandingDurableIndex = 0;
  /** Lowest index after which persisted entries must be deleted, or -1. */
  #pendingTruncateAfter = -1;
  #pendingSnapshot: Snapshot | null = null;
  #pendingSnapshotToApply: Snapshot | null = null;
  #outstanding: Ready | null = null;
  /** Ticks since this core started: the clock of reads and leases. */
  #ticks = 0;
  /** Whether this core restarted from a term above 0 (it may have answered a leader). */
  readonly #restarted: boolean;
  /** How long a leader's lease lasts from the start of a round a majority answered. */
  readonly #leaseTicks: number;
  readonly #maxPendingReads: number;
  /** As leader: reads waiting for their round of appends to be answered, and the rounds. */
  readonly #reads: ReadRounds;
  /** As leader: reads asked before it committed an entry of its term, oldest first. */
  #readsAwaitingCommit: ReadAsker[] = [];
  /** Reads forwarded to the leader, by id, with the tick each was asked at, oldest first. */
  readonly #forwardedReads = new Map<number, number>();
  /** The term and leader the forwarded reads went to. */
  #forwardedTo = { term: 0, leader: NO_LEADER };
  /** Outcomes of reads, for the next Ready. */
  #readStates: ReadState[] = [];

  /** Creates a follower, fresh or restored from persisted state (see {@linkcode RaftCoreConfig}). */
  constructor(config: RaftCoreConfig) {
    checkConfig(config);
    this.id = config.id;
    this.#electionTimeoutTicks = config.electionTimeoutTicks;
    this.#heartbeatTicks = config.heartbeatTicks;
    this.#random = config.random;
    this.#maxEntriesPerAppend = config.maxEntriesPerAppend ?? DEFAULT_MAX_ENTRIES_PER_APPEND;
    this.#maxAppendBytes = config.maxAppendBytes ?? DEFAULT_MAX_APPEND_BYTES;
    this.#maxEntriesPerReady = config.maxEntriesPerReady ?? DEFAULT_MAX_ENTRIES_PER_READY;
    this.#maxPendingMessages = config.maxPendingMessages ?? DEFAULT_MAX_PENDING_MESSAGES;
    this.#preVote = config.preVote ?? true;
    this.#checkQuorum = config.checkQuorum ?? true;
    this.#noOpOnElection = config.noOpOnElection ?? false;
    this.#leaseTicks = leaseTicksFor(
      config.electionTimeoutTicks,
      config.maxClockDriftPercent ?? DEFAULT_MAX_CLOCK_DRIFT_PERCENT,
    );
    this.#maxPendingReads = config.maxPendingReads ?? DEFAULT_MAX_PENDING_READS;
    this.#reads = new ReadRounds(this.#maxPendingReads);
    this.#window = {
      appendsMax: config.maxInflightAppends ?? DEFAULT_MAX_INFLIGHT_APPENDS,
      bytesMax: config.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES,
    };
    // An election timeout without an answer: what is in flight is taken as lost.
    this.#silenceTimeoutHeartbeats = Math.ceil(
      config.electionTimeoutTicks / config.heartbeatTicks,
    );
    const hardState = config.hardState ?? { term: 0, votedFor: NO_VOTE };
    this.#term = hardState.term;
    this.#restarted = hardState.term > 0;
    this.#votedFor = hardState.votedFor;
    this.#handedOutHardState = { term: hardState.term, votedFor: hardState.votedFor };
    const snapshot = config.snapshot ?? { index: 0, term: 0, data: new Uint8Array(0) };
    this.#log = new RaftLog({
      snapshotIndex: snapshot.index,
      snapshotTerm: snapshot.term,
      entries: config.entries ?? [],
    });
    assert(
      this.#log.lastTerm <= this.#term,
      `Cannot restore peer ${this.id}: its log reaches term ${this.#log.lastTerm}, past its term ${this.#term}`,
    );
    this.#snapshotData = snapshot.data;
    this.#bootstrapMembership = bootstrapMembership(config.peers, config.bootstrapAddresses);
    this.#snapshotMembership = snapshot.membership ?? this.#bootstrapMembership;
    this.#membership = this.#snapshotMembership;
    this.#membershipIndex = snapshot.index;
    this.#reloadMembership();
    this.#commitIndex = snapshot.index;
    this.#appliedIndex = snapshot.index;
    this.#applyingIndex = snapshot.index;
    this.#stableLastIndex = this.#log.lastIndex;
    this.#durableLastIndex = this.#log.lastIndex;
    this.#resetElectionTimer();
  }

  /** The peer's current role. */
  get role(): Role {
    return this.#role;
  }

  /**
   * Every member's id (voters, then learners), this peer's included when it is one: the peers it
   * exchanges messages with. Changes with the membership.
   */
  get peers(): readonly number[] {
    return membersOf(this.#membership);
  }

  /** The membership in force: the latest in the log, committed or not. */
  get membership(): Membership {
    return this.#membership;
  }

  /** The index of the entry that carries {@linkcode membership} (the snapshot's, or 0). */
  get membershipIndex(): number {
    return this.#membershipIndex;
  }

  /** The latest term this peer has seen. */
  get term(): number {
    return this.#term;
  }

  /** The candidate this peer voted for in `term`, or {@linkcode NO_VOTE}. */
  get votedFor(): number {
    return this.#votedFor;
  }

  /** The leader of `term` as far as this peer knows, or {@linkcode NO_LEADER}. */
  get leaderId(): number {
    return this.#leaderId;
  }

  /** The highest index known to be committed; never decreases. */
  get commitIndex(): number {
    return this.#commitIndex;
  }

  /** The highest index the driver acknowledged applying (through `advance`). */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /**
   * The last index up to which storage holds the in-memory log, as far as the driver has
   * acknowledged through `advance`; never above `log.lastIndex`.
   */
  get durableLastIndex(): number {
    return this.#durableLastIndex;
  }

  /** A read-only view of the in-memory log. */
  get log(): ReadonlyRaftLog {
    return this.#log;
  }

  /** The bytes of the latest snapshot (empty without one); kept to send InstallSnapshot. */
  get snapshotData(): Uint8Array {
    return this.#snapshotData;
  }

  /** A leader's view of `peer`, or null when this peer is not leader or `peer` is itself. */
  followerProgress(peer: number): FollowerProgress | null {
    const progress = this.#progress.get(peer);
    if (this.#role !== "leader" || progress === undefined) return null;
    return progress.view();
  }

  // ---------------------------------------------------------------------------------------
  // Inputs

  /**
   * One unit of logical time passed. A follower or candidate whose election timer runs out
   * starts an election (a new term, a vote for itself, RequestVote to every peer); a leader
   * sends AppendEntries to every follower every `heartbeatTicks` ticks, resending whatever a
   * follower has not acknowledged.
   */
  tick(): void {
    this.#ticks++;
    this.#electionElapsedTicks++;
    this.#expireReads();
    if (this.#role === "leader") {
      if (this.#electionElapsedTicks >= this.#electionTimeoutTicks) this.#checkQuorumActive();
      if (this.#role !== "leader") return this.#checkInvariants();
      if (this.#transferTarget !== NO_LEADER) {
        this.#transferElapsedTicks++;
        if (this.#transferElapsedTicks >= this.#electionTimeoutTicks) this.#endTransfer();
      }
      this.#heartbeatElapsedTicks++;
      if (this.#heartbeatElapsedTicks >= this.#heartbeatTicks) {
        this.#heartbeatElapsedTicks = 0;
        // Every heartbeat is a read round: its answers renew the lease.
        this.#reads.startRound(this.#ticks);
        for (const peer of this.#progress.keys()) this.#sendHeartbeat(peer);
        this.#confirmReads();
      }
    } else if (this.#electionElapsedTicks >= this.#randomizedElectionTimeoutTicks) {
      this.#electionTimedOut();
    }
    this.#checkInvariants();
  }

  /**
   * A follower or campaigner heard from no leader for its election timeout. It no longer counts
   * on the leader it knew, even when it cannot stand (else a learner would stay in that leader's
   * vote lease for ever, refusing a candidate that needs its vote), and campaigns if it may. A
   * peer that stands only because its removal may be lost asks first whether it could win, with
   * or without PreVote: a candidacy that cannot win would only raise its term past the others'.
   */
  #electionTimedOut(): void {
    this.#leaderId = NO_LEADER;
    if (!this.#mayCampaign()) this.#resetElectionTimer();
    else if (this.#preVote || !isVoter(this.#membership, this.id)) this.#preCampaign();
    else this.#campaign();
  }

  /**
   * Whether this peer may stand for election: when it votes in its membership, and also when that
   * membership removed it and is not committed yet (the thesis, section 4.2.2), since the group
   * may still need it: its log may be the only one that can win, if the leader that appended the
   * removal lost it. Its own vote counts only where it is a voter. A learner, a peer still joining
   * and one whose removal is committed have no vote to stand with.
   */
  #mayCampaign(): boolean {
    if (isVoter(this.#membership, this.id)) return true;
    const change = this.#latestVoterChange();
    if (change.index <= this.#commitIndex) return false;
    return isVoter(change.before, this.id);
  }

  /**
   * The entry that last changed who votes, and the membership before it. Later entries may
   * repeat the membership in force unchanged (a leader's no-op): looking one entry back would
   * find the change repeated, not the membership it changed. (The safety simulation found a
   * leader that appended its own removal, then a no-op for a read, and could no longer stand,
   * while its log, the most up to date, kept the others from winning: no leader ever again.)
   */
  #latestVoterChange(): { index: number; before: Membership } {
    let index = this.#membershipIndex;
    // Bounded by the entries after the snapshot: each pass moves to an earlier entry.
    while (index > this.#log.snapshotIndex) {
      const previous = this.#latestMembershipAt(index - 1);
      if (!sameVoters(previous.membership, this.#membership)) {
        return { index, before: previous.membership };
      }
      index = previous.index;
    }
    return { index, before: this.#membership };
  }

  /**
   * CheckQuorum (the Raft thesis, section 6.2): every election timeout a leader makes sure it
   * heard from a majority (itself included) since the last check, and steps down otherwise; a
   * leader cut off from the majority thus stops taking proposals it can never commit, and the
   * majority's new leader is not disturbed by it later.
   */
  #checkQuorumActive(): void {
    this.#electionElapsedTicks = 0;
    const voters = this.#membership.voters;
    let active = isVoter(this.#membership, this.id) ? 1 : 0;
    for (const peer of this.#recentlyActive) if (voters.includes(peer)) active++;
    this.#recentlyActive.clear();
    if (this.#checkQuorum && active < majoritySize(voters.length)) {
      this.#becomeFollower(this.#term, NO_LEADER);
    }
  }

  /**
   * Whether this peer heard from a leader less than an election timeout ago (with CheckQuorum
   * on): it then refuses votes and pre-votes of higher terms without taking their term, since a
   * leader it hears from still leads (the thesis's section 4.2.3, etcd's "lease"). A peer that
   * restarted less than an election timeout ago counts as having heard from a leader just before
   * it stopped: it may have answered a leader's round just before, and that leader's lease
   * reads count on its refusal (read_rounds.ts). A peer that starts in term 0 has never heard
   * from any leader.
   */
  #inLease(): boolean {
    const restarting = this.#restarted && this.#ticks < this.#electionTimeoutTicks;
    const heard = this.#leaderId !== NO_LEADER || restarting;
    return this.#checkQuorum && heard && this.#electionElapsedTicks < this.#electionTimeoutTicks;
  }

  /**
   * A message from a peer arrived. `message.to` must be this peer and `message.from` another
   * peer (the core asserts it; check untrusted input with `messageProblem` and these two
   * conditions first). The sender need not be in this peer's membership: a leader this peer does
   * not know yet (its log lags, or it is joining) must be followed. But a vote or pre-vote asked
   * by a peer that is not a voter here is refused without taking its term, so a removed peer
   * cannot disrupt the group (the thesis, section 4.2.3). A request always yields exactly one
   * reply to its sender in a later Ready; a reply yields none.
   */
  step(message: Message): void {
    assert(
      message.to === this.id,
      `Peer ${this.id} cannot step a ${message.type} addressed to peer ${message.to}`,
    );
    assert(
      message.from !== this.id && Number.isSafeInteger(message.from) && message.from >= 0,
      `Peer ${this.id} cannot step a ${message.type} from peer ${message.from}: not another peer`,
    );
    const asksVote = message.type === "PreVote" || message.type === "RequestVote";
    if (asksVote && this.refusesVoteOf(message.from)) {
      this.#refuseRequest(message);
      return this.#checkInvariants();
    }
    if (message.term > this.#term) {
      const asksVote = message.type === "PreVote" ||
        (message.type === "RequestVote" && message.leadershipTransfer !== true);
      if (asksVote && this.#inLease()) {
        this.#refuseRequest(message);
        return this.#checkInvariants();
      }
      // A pre-vote names a term nobody took yet, and consent carries it back: neither raises ours.
      const preVote = message.type === "PreVote" ||
        (message.type === "PreVoteReply" && message.voteGranted);
      if (!preVote) {
        const fromLeader = message.type === "AppendEntries" ||
          message.type === "InstallSnapshot" || message.type === "TimeoutNow";
        this.#becomeFollower(message.term, fromLeader ? message.from : NO_LEADER);
      }
    } else if (message.term < this.#term) {
      // A stale request still gets its one reply: it carries our term, which deposes the sender.
      if (isRequest(message)) this.#refuseRequest(message);
      if (message.type === "RequestVote") this.#standBackFor(message);
      this.#checkInvariants();
      return;
    }
    if (message.type === "PreVote") this.#handlePreVote(message);
    else if (message.type === "TimeoutNow") this.#handleTimeoutNow(message);
    else if (message.type === "ReadIndex") this.#handleReadIndex(message);
    else if (message.type === "ReadIndexReply") this.#handleReadIndexReply(message);
    else if (this.#role === "leader") this.#stepLeader(message);
    else if (this.#role === "candidate" || this.#role === "precandidate") {
      this.#stepCampaigner(message);
    } else this.#stepFollower(message);
    this.#failStaleForwards();
    this.#checkInvariants();
  }

  /**
   * Whether a vote or pre-vote asked by `peer` is refused at once, without taking its term: this
   * peer is a voter that follows a leader of its term (or leads it), and `peer` has no vote in
   * its membership, so a removed peer cannot disrupt a working group (the thesis, section
   * 4.2.3). Every other request is answered in full, since the group may need the vote and this
   * peer's membership may be out of date: a learner may have been promoted, with the asker, by
   * entries it has not received (etcd found the same), and in a group without a leader the asker
   * may hold the only log that can win (see `#mayCampaign`). A voter whose leader is gone stops
   * following it within an election timeout, when it campaigns. Drivers that refuse such
   * requests before the core sees them (to count or log them) ask this, so the rule is one.
   */
  refusesVoteOf(peer: number): boolean {
    const membership = this.#membership;
    return this.#leaderId !== NO_LEADER && isVoter(membership, this.id) &&
      !isVoter(membership, peer);
  }

  /**
   * Peer `from`, leader of `term`, was heard from through something that is not a message for
   * the core: a chunk of the snapshot it is sending (the driver steps the whole snapshot once it
   * has arrived). As an AppendEntries from it would, this keeps the peer from starting an
   * election while a long transfer runs, and a newer term makes the peer its follower (the term
   * goes into the next Ready's hard state). A stale term changes nothing.
   */
  heardFromLeader(from: number, term: number): void {
    assert(
      from !== this.id && Number.isSafeInteger(from) && from >= 0,
      `Peer ${this.id} cannot hear from leader ${from}: not another peer`,
    );
    if (term < this.#term) return;
    // A campaigner of this term lost (or, pre-campaigning, never ran): the term has a leader.
    if (term > this.#term || this.#role !== "leader") this.#becomeFollower(term, from);
    assert(
      this.#role === "follower",
      `Peer ${this.id} leads term ${this.#term} but heard from leader ${from} of the same term`,
    );
    this.#acceptLeader(from);
    this.#checkInvariants();
  }

  /**
   * Leadership transfer (the Raft thesis, section 3.10): this leader stops taking proposals,
   * brings `target` up to date, then sends it TimeoutNow, on which `target` campaigns at once
   * (without PreVote, past its peers' vote lease) and, its log being as complete as any, wins.
   * Given up after an election timeout, when proposals are taken again. A second call replaces
   * the first. Only a leader can transfer, and only to another voter of the group.
   */
  transferLeadership(target: number): void {
    assert(
      this.#role === "leader",
      `Peer ${this.id} cannot hand leadership over: it is ${this.#role} of term ${this.#term}`,
    );
    assert(
      target !== this.id && isVoter(this.#membership, target),
      `Peer ${this.id} cannot hand leadership to ${target}: not another voter of the group`,
    );
    this.#transferTarget = target;
    this.#transferElapsedTicks = 0;
    this.#timeoutNowSent = false;
    if (!this.#maybeSendTimeoutNow()) this.#sendAppends(target);
    this.#checkInvariants();
  }

  /** The peer this leader is handing leadership to, or {@linkcode NO_LEADER}. */
  get transferTarget(): number {
    return this.#transferTarget;
  }

  /**
   * The lab's `Start`: when leader, appends `command` to the log with the current term and at
   * once sends it to every follower that has no append in flight, so an idle group commits a
   * command in one round trip; followers with an append in flight get it with their next
   * append (when their reply arrives, or at the next heartbeat). When not leader, does nothing.
   * `command` must be encodable by `rpc/codec.ts`. The command is committed only if it comes out
   * of `committedEntries` at `index`; leadership may be lost before that.
   */
  propose(command: unknown): ProposeResult {
    // While handing leadership over, proposals are refused: the target must catch up once.
    if (this.#role !== "leader" || this.#transferTarget !== NO_LEADER) {
      return { index: -1, term: this.#term, isLeader: false };
    }
    assert(
      membershipOfCommand(command) === null,
      `Peer ${this.id} cannot propose a membership as a command: use proposeMembership`,
    );
    const entry = this.#appendOwn(command);
    this.#maybeCommit();
    this.#checkInvariants();
    return { index: entry.index, term: entry.term, isLeader: true };
  }

  /**
   * A single-server membership change (see membership.ts): adds a learner, promotes a learner to
   * voter, or removes a member. When leader, appends the new membership, which is in force at
   * once: the leader replicates to new members and stops counting removed ones. Refused (with
   * the reason) when this peer does not lead or hands leadership over, when an earlier change is
   * not committed yet (one change in flight at a time), when the change is unsound, and when the
   * leader has not committed an entry of its term: then it appends its membership unchanged,
   * which commits like a no-op and settles any change a former leader left uncommitted, and the
   * caller retries once that entry is committed.
   */
  proposeMembership(change: MembershipChange): MembershipProposal {
    const refusal = this.#membershipRefusal();
    if (refusal !== null) return { ok: false, reason: refusal };
    const next = changedMembership(this.#membership, change);
    if (typeof next === "string") return { ok: false, reason: next };
    if (this.#log.term(this.#commitIndex) !== this.#term) {
      this.#appendMembership(this.#membership);
      return {
        ok: false,
        reason:
          `Leader ${this.id} has committed no entry of term ${this.#term} yet: retry once it has`,
      };
    }
    const entry = this.#appendMembership(next);
    return { ok: true, index: entry.index, term: entry.term, membership: next };
  }

  /** Why no membership change may be proposed now, or null. */
  #membershipRefusal(): string | null {
    if (this.#role !== "leader") {
      return `Peer ${this.id} does not lead: it is ${this.#role} of term ${this.#term}, and peer ${this.#leaderId} leads`;
    }
    if (this.#transferTarget !== NO_LEADER) {
      return `Leader ${this.id} is handing leadership to peer ${this.#transferTarget}`;
    }
    if (this.#membershipIndex > this.#commitIndex) {
      return `The membership change at entry ${this.#membershipIndex} is not committed yet (commit index ${this.#commitIndex})`;
    }
    return null;
  }

  /** Appends `membership` as a leader's entry and puts it in force at once. */
  #appendMembership(membership: Membership): Entry {
    const command: MembershipCommand = { raftMembership: membership };
    const entry = this.#appendOwn(command);
    this.#setMembership(membership, entry.index);
    this.#maybeCommit();
    this.#checkInvariants();
    return entry;
  }

  /** Appends `command` as a leader's entry of the current term; sent with the next Ready. */
  #appendOwn(command: unknown): Entry {
    const entry: Entry = { index: this.#log.lastIndex + 1, term: this.#term, command };
    this.#log.append([entry]);
    // Sent when the Ready is taken, so proposals made meanwhile leave in one append per follower.
    this.#broadcastPending = this.#progress.size > 0;
    return entry;
  }

  /**
   * Asks for a read index for read `id`, a number the driver gives it (unique among its reads
   * in flight): the outcome comes out once, in the `readStates` of a later Ready (ready.ts). A
   * leader confirms with a round of appends that it still leads (tracker/read_rounds.ts), after
   * committing an entry of its term if it has not; with `lease`, a leader within its lease
   * (CheckQuorum on) answers at once. A follower forwards the read to its leader. A peer that
   * has no leader to ask, is deposed, or gets no confirmation within an election timeout
   * refuses the read (index -1).
   */
  readIndex(id: number, lease = false): void {
    assert(Number.isSafeInteger(id), `Read ${id} has no whole-number id`);
    if (this.#role === "leader") {
      this.#leaderRead({ id, from: this.id, askedTick: this.#ticks }, lease);
    } else {
      this.#forwardRead(id, lease);
    }
    this.#checkInvariants();
  }

  /** Whether lease reads may be answered from a lease: only with CheckQuorum on. */
  get leaseReads(): boolean {
    return this.#checkQuorum;
  }

  /**
   * The lab's `Snapshot`: the service's state up to and including `index` is in `data`, so the
   * entries up to there may be dropped. `index` must not exceed the last index handed out in
   * `committedEntries` (the service may call this while applying, before `advance`). An index
   * at or below the current snapshot is ignored. The snapshot comes back in the next Ready's
   * `snapshot` to be persisted, and its bytes are kept to send InstallSnapshot to laggards.
   */
  compact(index: number, data: Uint8Array): void {
    assert(Number.isSafeInteger(index), `Cannot snapshot up to entry ${index}: not a whole number`);
    if (index <= this.#log.snapshotIndex) return;
    assert(
      index <= this.#applyingIndex,
      `Cannot snapshot up to entry ${index}: only entries up to ${this.#applyingIndex} were handed out to apply`,
    );
    const membership = this.#membershipAt(index);
    this.#log.compact(index);
    this.#snapshotData = data;
    this.#snapshotMembership = membership;
    this.#pendingSnapshot = { index, term: this.#log.snapshotTerm, data, membership };
    this.#stableLastIndex = Math.max(this.#stableLastIndex, index);
    this.#checkInvariants();
  }

  // ---------------------------------------------------------------------------------------
  // Outputs

  /** Whether `ready()` has work to hand out; false while a Ready awaits `advance`. */
  hasReady(): boolean {
    if (this.#outstanding !== null) return false;
    return this.#messages.length > 0 || this.#broadcastPending || this.#hardStateChanged() ||
      this.#pendingTruncateAfter !== -1 || this.#stableLastIndex < this.#log.lastIndex ||
      this.#pendingSnapshot !== null || this.#pendingSnapshotToApply !== null ||
      this.#applyingIndex < this.#commitIndex || this.#readStates.length > 0;
  }

  /**
   * Hands out everything to persist, send and apply since the last Ready (see the module
   * documentation for what the driver must do with it), and marks it handed out: the next Ready
   * holds only what comes after. The driver must call `advance(ready)` before the next call.
   */
  ready(): Ready {
    assert(
      this.#outstanding === null,
      `Peer ${this.id} cannot hand out a Ready before the last one is advanced`,
    );
    const ready: {
      -readonly [Field in keyof Ready]: Ready[Field];
    } = { messagesBeforePersist: [], messages: [], committedEntries: [] };
    if (this.#hardStateChanged()) {
      ready.hardState = { term: this.#term, votedFor: this.#votedFor };
      this.#handedOutHardState = ready.hardState;
    }
    if (this.#broadcastPending) this.#broadcastAppends();
    const split = this.#takeMessages(ready.hardState === undefined);
    ready.messagesBeforePersist = split.beforePersist;
    ready.messages = split.afterPersist;
    // Reads asked from now on need appends that leave after them: a new round.
    this.#reads.handedOut();
    if (this.#readStates.length > 0) ready.readStates = this.#readStates;
    this.#readStates = [];
    const logChange = this.#takeLogChange();
    if (logChange !== null) ready.logChange = logChange;
    // Once this Ready is persisted, storage holds the log as it is now.
    this.#outstandingDurableIndex = this.#log.lastIndex;
    if (this.#pendingSnapshot !== null) ready.snapshot = this.#pendingSnapshot;
    this.#pendingSnapshot = null;
    if (this.#pendingSnapshotToApply !== null) {
      ready.snapshotToApply = this.#pendingSnapshotToApply;
      this.#applyingIndex = this.#pendingSnapshotToApply.index;
      this.#pendingSnapshotToApply = null;
    }
    const last = Math.min(this.#commitIndex, this.#applyingIndex + this.#maxEntriesPerReady);
    if (last > this.#applyingIndex) {
      ready.committedEntries = this.#log.slice(this.#applyingIndex + 1, last + 1);
      this.#applyingIndex = last;
    }
    this.#outstanding = ready;
    return ready;
  }

  /** The driver persisted, sent and applied `ready` (the last one handed out). */
  advance(ready: Ready): void {
    assert(
      ready === this.#outstanding,
      `Peer ${this.id} was asked to advance a Ready it did not hand out last`,
    );
    if (ready.snapshotToApply !== undefined) this.#appliedIndex = ready.snapshotToApply.index;
    const entries = ready.committedEntries;
    if (entries.length > 0) this.#appliedIndex = entries[entries.length - 1].index;
    assert(
      this.#outstandingDurableIndex >= this.#durableLastIndex,
      `Peer ${this.id} would lower its durable index from ${this.#durableLastIndex} to ${this.#outstandingDurableIndex} by persisting`,
    );
    this.#durableLastIndex = this.#outstandingDurableIndex;
    this.#outstanding = null;
    // The leader's own copies now count: entries acknowledged meanwhile may commit.
    if (this.#role === "leader") this.#maybeCommit();
    this.#checkInvariants();
  }

  /**
   * Takes the waiting messages, split in two: a leader's requests go before the persist when
   * the Ready does not change the hard state (the term they carry is durable already);
   * everything else, replies and votes above all, waits for it.
   */
  #takeMessages(
    hardStateIsDurable: boolean,
  ): { beforePersist: Message[]; afterPersist: Message[] } {
    const beforePersist: Message[] = [];
    const afterPersist: Message[] = [];
    // Bounded by maxPendingMessages.
    for (const message of this.#messages) {
      const fromLeader = message.type === "AppendEntries" || message.type === "InstallSnapshot";
      if (!hardStateIsDurable || !fromLeader) {
        afterPersist.push(message);
        continue;
      }
      // Without a hard state change the term is the one these requests were made in. The peer
      // may have stepped down since (CheckQuorum keeps the term): they are still its term's, as
      // if the network had held them.
      assert(
        message.term === this.#term,
        `Peer ${this.id}, ${this.#role} of term ${this.#term}, would send a ${message.type} of term ${message.term} before persisting`,
      );
      beforePersist.push(message);
    }
    this.#messages = [];
    return { beforePersist, afterPersist };
  }

  // ---------------------------------------------------------------------------------------
  // Roles

  #stepFollower(message: Message): void {
    switch (message.type) {
      case "RequestVote":
        return this.#handleRequestVote(message);
      case "AppendEntries":
        this.#acceptLeader(message.from);
        return this.#handleAppendEntries(message);
      case "InstallSnapshot":
        this.#acceptLeader(message.from);
        return this.#handleInstallSnapshot(message);
      default:
        // Replies in a term where this peer is a follower answer requests it no longer cares about.
        return;
    }
  }

  /** A candidate's or pre-candidate's step: each counts only the answers to its own requests. */
  #stepCampaigner(message: Message): void {
    switch (message.type) {
      case "RequestVote":
        return this.#handleRequestVote(message);
      case "AppendEntries":
      case "InstallSnapshot":
        // A leader of this term exists (another peer won its election): follow it.
        this.#becomeFollower(this.#term, message.from);
        return this.#stepFollower(message);
      case "RequestVoteReply":
        if (this.#role === "candidate") this.#handleVoteReply(message);
        return;
      case "PreVoteReply":
        if (this.#role === "precandidate") this.#handlePreVoteReply(message);
        return;
      default:
        return;
    }
  }

  #stepLeader(message: Message): void {
    switch (message.type) {
      case "RequestVote":
        return this.#handleRequestVote(message);
      case "AppendEntries":
      case "InstallSnapshot":
        assert(
          false,
          `Peer ${this.id} leads term ${this.#term} but got ${message.type} from peer ${message.from} in the same term`,
        );
        return;
      case "AppendEntriesReply":
        // A peer removed since the request left: nothing to track any more.
        if (!this.#progress.has(message.from)) return;
        this.#recentlyActive.add(message.from);
        if (this.#reads.echoed(message.from, message.readRound ?? 0)) this.#confirmReads();
        return this.#handleAppendReply(message);
      case "InstallSnapshotReply":
        if (!this.#progress.has(message.from)) return;
        this.#recentlyActive.add(message.from);
        return this.#handleSnapshotReply(message);
      default:
        return;
    }
  }

  #becomeFollower(term: number, leaderId: number): void {
    assert(term >= this.#term, `Peer ${this.id} cannot go back from term ${this.#term} to ${term}`);
    // A deposed leader's reads are never served: it may no longer hold the latest commits.
    if (this.#role === "leader") this.#refuseLeaderReads();
    if (term > this.#term) {
      this.#term = term;
      this.#votedFor = NO_VOTE;
    }
    this.#role = "follower";
    this.#leaderId = leaderId;
    this.#progress.clear();
    this.#broadcastPending = false;
    this.#votesGranted.clear();
    this.#endTransfer();
  }

  /**
   * PreVote (the thesis, section 9.6): ask every peer whether it would vote in the next term,
   * without taking it; campaign only with a majority's consent.
   */
  #preCampaign(): void {
    this.#role = "precandidate";
    this.#leaderId = NO_LEADER;
    this.#votesGranted = new Set([this.id]);
    this.#resetElectionTimer();
    if (this.#electionWon()) return this.#campaign();
    this.#askVotes({ type: "PreVote", term: this.#term + 1 });
  }

  /** Sends every other peer a vote request of `kind` with this peer's last log position. */
  #askVotes(
    kind:
      | Pick<PreVote, "type" | "term">
      | Pick<RequestVote, "type" | "term" | "leadershipTransfer">,
  ): void {
    for (const peer of this.#membership.voters) {
      if (peer === this.id) continue;
      const position = { lastLogIndex: this.#log.lastIndex, lastLogTerm: this.#log.lastTerm };
      this.#emit({ ...kind, from: this.id, to: peer, ...position });
    }
  }

  #campaign(leadershipTransfer = false): void {
    this.#term++;
    this.#role = "candidate";
    this.#votedFor = this.id;
    this.#leaderId = NO_LEADER;
    this.#votesGranted = new Set([this.id]);
    this.#resetElectionTimer();
    if (this.#electionWon()) return this.#becomeLeader();
    this.#askVotes(
      leadershipTransfer
        ? { type: "RequestVote", term: this.#term, leadershipTransfer: true }
        : { type: "RequestVote", term: this.#term },
    );
  }

  /** Whether the votes (or pre-votes) granted so far win the election in this configuration. */
  #electionWon(): boolean {
    return voteResult(this.#membership.voters, this.#votesGranted, NO_REFUSALS) === "won";
  }

  #becomeLeader(): void {
    assert(
      this.#votedFor === this.id,
      `Peer ${this.id} cannot lead term ${this.#term} without voting for itself`,
    );
    this.#role = "leader";
    this.#leaderId = this.id;
    this.#heartbeatElapsedTicks = 0;
    this.#electionElapsedTicks = 0;
    this.#recentlyActive.clear();
    this.#endTransfer();
    this.#leaseForfeited = false;
    this.#progress.clear();
    this.#trackMembers();
    const stale = this.#reads.clear();
    assert(stale.length === 0, `Peer ${this.id} starts leading with ${stale.length} reads waiting`);
    // An entry of the new term, so that what earlier leaders committed commits here too. Empty,
    // not the membership repeated: a membership entry carries this leader's members' addresses.
    if (this.#noOpOnElection) this.#appendOwn(null);
    // Assert leadership at once rather than a heartbeat later: a probe at the end of the log.
    for (const peer of this.#progress.keys()) this.#sendAppend(peer, true);
    this.#maybeCommit();
  }

  #acceptLeader(leaderId: number): void {
    this.#leaderId = leaderId;
    this.#resetElectionTimer();
  }

  #resetElectionTimer(): void {
    this.#electionElapsedTicks = 0;
    this.#randomizedElectionTimeoutTicks = this.#electionTimeoutTicks +
      this.#random.int(this.#electionTimeoutTicks);
  }

  // ---------------------------------------------------------------------------------------
  // Elections (section 5.2, 5.4.1)

  /** Whether a candidate whose log ends at `request`'s last entry is at least as up to date. */
  #logIsUpToDate(request: RequestVote | PreVote): boolean {
    return request.lastLogTerm > this.#log.lastTerm ||
      (request.lastLogTerm === this.#log.lastTerm && request.lastLogIndex >= this.#log.lastIndex);
  }

  /**
   * Consents to a pre-vote when the asker could win: its log is up to date, and it would
   * campaign in a later term, or in this one where this peer has neither voted for another nor
   * heard from a leader. Changes nothing here: no term, no vote, no timer.
   */
  #handlePreVote(request: PreVote): void {
    const canVote = request.term > this.#term ||
      ((this.#votedFor === NO_VOTE || this.#votedFor === request.from) &&
        this.#leaderId === NO_LEADER);
    const granted = canVote && this.#logIsUpToDate(request);
    this.#emit(
      {
        type: "PreVoteReply",
        from: this.id,
        to: request.from,
        term: granted ? request.term : this.#term,
        voteGranted: granted,
      } satisfies PreVoteReply,
    );
  }

  /** Sends the transfer's TimeoutNow once its target holds the whole log; returns whether it did. */
  #maybeSendTimeoutNow(): boolean {
    const target = this.#transferTarget;
    if (target === NO_LEADER || this.#timeoutNowSent) return false;
    if (this.#progressOf(target).matchIndex < this.#log.lastIndex) return false;
    this.#timeoutNowSent = true;
    this.#leaseForfeited = true;
    this.#emit({ type: "TimeoutNow", from: this.id, to: target, term: this.#term });
    return true;
  }

  #endTransfer(): void {
    this.#transferTarget = NO_LEADER;
    this.#transferElapsedTicks = 0;
    this.#timeoutNowSent = false;
  }

  /**
   * The leader of this term hands leadership over: campaign at once, past PreVote and the
   * voters' lease. A leader never gets one in its own term (two leaders of one term).
   */
  #handleTimeoutNow(request: TimeoutNow): void {
    assert(
      this.#role !== "leader",
      `Peer ${this.id} leads term ${this.#term} but got TimeoutNow from peer ${request.from} in the same term`,
    );
    // A learner cannot stand: the leader's view of it was out of date.
    const accepted = isVoter(this.#membership, this.id);
    this.#emit(
      {
        type: "TimeoutNowReply",
        from: this.id,
        to: request.from,
        term: this.#term,
        accepted,
      } satisfies TimeoutNowReply,
    );
    if (accepted) this.#campaign(true);
  }

  #handleRequestVote(request: RequestVote): void {
    const canVote = this.#votedFor === NO_VOTE || this.#votedFor === request.from;
    const granted = canVote && this.#logIsUpToDate(request);
    if (granted) {
      this.#votedFor = request.from;
      this.#resetElectionTimer();
    } else {
      this.#standBackFor(request);
    }
    this.#emit(
      {
        type: "RequestVoteReply",
        from: this.id,
        to: request.from,
        term: this.#term,
        voteGranted: granted,
      } satisfies RequestVoteReply,
    );
  }

  /**
   * This peer refused `request` (for its stale term, or for a vote given in this term already):
   * if it would vote for a log like the candidate's, it stands back one election timeout, so the
   * candidate, which learns the term from the refusal, can ask again in a later term and win.
   * Else a peer whose membership leaves the candidate out (it never asks it, so the candidate
   * never hears its terms) could keep raising its term first, and no one be elected.
   */
  #standBackFor(request: RequestVote): void {
    if (this.#role !== "leader" && this.#logIsUpToDate(request)) this.#resetElectionTimer();
  }

  /** Consent counts only for the term this peer would campaign in. */
  #handlePreVoteReply(reply: PreVoteReply): void {
    if (!reply.voteGranted || reply.term !== this.#term + 1) return;
    this.#votesGranted.add(reply.from);
    if (this.#electionWon()) this.#campaign();
  }

  #handleVoteReply(reply: RequestVoteReply): void {
    if (!reply.voteGranted) return;
    this.#votesGranted.add(reply.from);
    if (this.#electionWon()) this.#becomeLeader();
  }

  /**
   * Answers `request` with a refusal carrying this peer's term: a stale request (the term deposes
   * its sender), a vote or pre-vote of a later term while in the lease (see `#inLease`), or a
   * read index asked of a peer that does not lead.
   */
  #refuseRequest(request: RequestMessage): void {
    const base = { from: this.id, to: request.from, term: this.#term };
    switch (request.type) {
      case "PreVote":
        return this.#emit({ type: "PreVoteReply", ...base, voteGranted: false });
      case "RequestVote":
        return this.#emit({ type: "RequestVoteReply", ...base, voteGranted: false });
      case "AppendEntries":
        return this.#emit({
          type: "AppendEntriesReply",
          ...base,
          success: false,
          matchIndex: 0,
          conflictIndex: 0,
          conflictTerm: -1,
          rejectedIndex: 0,
        });
      case "InstallSnapshot":
        return this.#emit({ type: "InstallSnapshotReply", ...base, matchIndex: 0 });
      case "TimeoutNow":
        return this.#emit({ type: "TimeoutNowReply", ...base, accepted: false });
      case "ReadIndex":
        return this.#emit({ type: "ReadIndexReply", ...base, readId: request.readId, index: -1 });
    }
  }

  // ---------------------------------------------------------------------------------------
  // Log replication, follower side (section 5.3)

  #handleAppendEntries(request: AppendEntries): void {
    const log = this.#log;
    const prevIsInSnapshot = request.prevLogIndex < log.snapshotIndex;
    if (!prevIsInSnapshot && !log.matchesTerm(request.prevLogIndex, request.prevLogTerm)) {
      return this.#rejectAppend(request);
    }
    // Entries at or below the snapshot index are committed, hence identical: merge skips them.
    const truncatedAfter = log.merge(request.entries);
    if (truncatedAfter !== -1) this.#noteTruncation(truncatedAfter);
    const carriesMembership = request.entries.some((entry) =>
      membershipOfCommand(entry.command) !== null
    );
    if (truncatedAfter !== -1 || carriesMembership) this.#reloadMembership();
    const lastNewIndex = request.prevLogIndex + request.entries.length;
    // Not lastIndex: entries past lastNewIndex may be stale ones from an older leader.
    const commit = Math.min(request.leaderCommit, lastNewIndex);
    if (commit > this.#commitIndex) this.#setCommitIndex(commit);
    this.#emit(
      {
        type: "AppendEntriesReply",
        from: this.id,
        to: request.from,
        term: this.#term,
        success: true,
        matchIndex: Math.max(lastNewIndex, log.snapshotIndex),
        conflictIndex: 0,
        conflictTerm: -1,
        rejectedIndex: 0,
        ...echoedRound(request),
      } satisfies AppendEntriesReply,
    );
  }

  #rejectAppend(request: AppendEntries): void {
    const log = this.#log;
    let conflictIndex = log.lastIndex + 1;
    let conflictTerm = -1;
    if (request.prevLogIndex <= log.lastIndex) {
      assert(
        request.prevLogIndex > log.snapshotIndex,
        `Leader ${request.from} of term ${request.term} disagrees with peer ${this.id}'s snapshot at ${log.snapshotIndex}`,
      );
      conflictTerm = log.term(request.prevLogIndex);
      conflictIndex = log.firstIndexOfTerm(conflictTerm);
    }
    this.#emit(
      {
        type: "AppendEntriesReply",
        from: this.id,
        to: request.from,
        term: this.#term,
        success: false,
        matchIndex: 0,
        conflictIndex,
        conflictTerm,
        rejectedIndex: request.prevLogIndex,
        ...echoedRound(request),
      } satisfies AppendEntriesReply,
    );
  }

  #handleInstallSnapshot(request: InstallSnapshot): void {
    const index = request.lastIncludedIndex;
    // An old snapshot must not roll back what is already committed.
    if (index > this.#commitIndex) {
      // Entries held past the commit index may differ from the leader's up to `index`.
      const committedBefore = this.#commitIndex;
      const kept = this.#log.installSnapshot(index, request.lastIncludedTerm);
      if (!kept) {
        this.#noteTruncation(index);
        this.#lowerDurableIndex(committedBefore);
      }
      this.#stableLastIndex = Math.max(this.#stableLastIndex, index);
      this.#setCommitIndex(index);
      this.#snapshotData = request.data;
      this.#snapshotMembership = request.membership;
      this.#reloadMembership();
      const snapshot = {
        index,
        term: request.lastIncludedTerm,
        data: request.data,
        membership: request.membership,
      };
      this.#pendingSnapshot = snapshot;
      this.#pendingSnapshotToApply = snapshot;
    }
    this.#emit(
      {
        type: "InstallSnapshotReply",
        from: this.id,
        to: request.from,
        term: this.#term,
        matchIndex: index,
      } satisfies InstallSnapshotReply,
    );
  }

  // ---------------------------------------------------------------------------------------
  // Log replication, leader side (section 5.3, 5.4.2, 7)

  /**
   * Sends `peer` what it needs next unless it is paused: entries from its nextIndex (capped in
   * count and bytes), or the snapshot when they are compacted. With `evenIfEmpty`, an append
   * without entries goes out when the log has nothing more (a probe of where the follower's log
   * ends). Returns whether anything was sent.
   */
  #sendAppend(peer: number, evenIfEmpty = false): boolean {
    const progress = this.#progressOf(peer);
    if (progress.isPaused()) return false;
    if (progress.nextIndex <= this.#log.snapshotIndex) {
      this.#sendSnapshot(peer, progress);
      return true;
    }
    const { entries, bytes } = this.#entriesToSend(progress.nextIndex);
    if (entries.length === 0 && !evenIfEmpty) return false;
    if (this.#holdsBack(progress, entries)) return false;
    this.#emitAppend(peer, progress.nextIndex - 1, entries);
    if (entries.length > 0) progress.sentEntries(entries[entries.length - 1].index, bytes);
    return true;
  }

  /**
   * Whether a streaming follower's next append waits for an acknowledgement, as Nagle's
   * algorithm holds back a small segment: while appends are in flight, a batch that is not full
   * (it ends at the log's end, under the count cap) waits for the next acknowledgement, which
   * sends everything proposed meanwhile in one append. A full batch (a backlog) goes at once, so
   * catch-up still streams; with nothing in flight, the batch goes at once, so an idle group
   * still commits in one round trip.
   */
  #holdsBack(progress: Progress, entries: readonly Entry[]): boolean {
    if (progress.state !== "replicate" || progress.inflightAppends === 0) return false;
    if (entries.length === 0) return false;
    const last = entries[entries.length - 1];
    return last.index === this.#log.lastIndex && entries.length < this.#maxEntriesPerAppend;
  }

  /** Sends `peer` as many appends as its state admits: one probe, or a window's worth. */
  #sendAppends(peer: number): void {
    // Bounded: each send takes a slot of the window or pauses the follower.
    for (let sent = 0; sent <= this.#window.appendsMax; sent++) {
      if (!this.#sendAppend(peer)) return;
    }
  }

  /** Sends the entries proposed since the last Ready to every follower that is not paused. */
  #broadcastAppends(): void {
    this.#broadcastPending = false;
    for (const peer of this.#progress.keys()) this.#sendAppends(peer);
  }

  /**
   * The heartbeat interval passed. A follower in replicate gets an append without entries whose
   * `prevLogIndex` is the end of what was sent: its success acknowledges the whole window, and
   * its refusal reveals a lost append (back to probe). A follower in probe gets its probe again
   * (it or its answer may be lost); one in snapshot waits, until the snapshot times out.
   */
  #sendHeartbeat(peer: number): void {
    const progress = this.#progressOf(peer);
    progress.heartbeat(this.#silenceTimeoutHeartbeats);
    if (progress.state === "probe") {
      this.#sendAppend(peer, true);
    } else if (progress.state === "replicate") {
      // Entries below the snapshot are gone: vouch for the snapshot's end instead.
      this.#emitAppend(peer, Math.max(progress.nextIndex - 1, this.#log.snapshotIndex), []);
    }
  }

  #emitAppend(peer: number, prevLogIndex: number, entries: Entry[]): void {
    this.#emit(
      {
        type: "AppendEntries",
        from: this.id,
        to: peer,
        term: this.#term,
        prevLogIndex,
        prevLogTerm: this.#log.term(prevLogIndex),
        entries,
        leaderCommit: this.#commitIndex,
        ...(this.#reads.round > 0 ? { readRound: this.#reads.round } : {}),
      } satisfies AppendEntries,
    );
  }

  #sendSnapshot(peer: number, progress: Progress): void {
    this.#emit(
      {
        type: "InstallSnapshot",
        from: this.id,
        to: peer,
        term: this.#term,
        lastIncludedIndex: this.#log.snapshotIndex,
        lastIncludedTerm: this.#log.snapshotTerm,
        data: this.#snapshotData,
        membership: this.#snapshotMembership,
      } satisfies InstallSnapshot,
    );
    progress.sentSnapshot(this.#log.snapshotIndex);
  }

  /**
   * Entries from `from`, capped in count and estimated bytes, at least one if any exist, with
   * their estimated bytes.
   */
  #entriesToSend(from: number): { entries: Entry[]; bytes: number } {
    const last = Math.min(this.#log.lastIndex, from + this.#maxEntriesPerAppend - 1);
    let bytes = 0;
    let end = from;
    // Bounded by maxEntriesPerAppend.
    while (end <= last) {
      const entryBytes = estimateEncodedBytes(this.#log.entry(end).command) + 16;
      if (end > from && bytes + entryBytes > this.#maxAppendBytes) break;
      bytes += entryBytes;
      end++;
    }
    return { entries: this.#log.slice(from, end), bytes };
  }

  #handleAppendReply(reply: AppendEntriesReply): void {
    const progress = this.#progressOf(reply.from);
    if (reply.success) return this.#acknowledge(reply.from, progress, reply.matchIndex);
    // No hint: the request was refused for its term, and the reply is stale for this term.
    if (reply.conflictIndex < 1) return;
    let hintIndex = reply.conflictIndex;
    if (reply.conflictTerm !== -1) {
      const lastOfTerm = this.#log.lastIndexOfTerm(reply.conflictTerm);
      if (lastOfTerm !== -1) hintIndex = lastOfTerm + 1;
    }
    // A refusal of an append since superseded (the window moved on, or a later probe is out)
    // changes nothing; otherwise probe again from the hint.
    if (progress.rejected(reply.rejectedIndex, hintIndex)) this.#sendAppend(reply.from, true);
  }

  #handleSnapshotReply(reply: InstallSnapshotReply): void {
    // matchIndex 0: refused for its term, stale for this one.
    if (reply.matchIndex < 1) return;
    this.#acknowledge(reply.from, this.#progressOf(reply.from), reply.matchIndex);
  }

  /** `peer` holds the leader's log up to `matchIndex`: advance, commit, continue. */
  #acknowledge(peer: number, progress: Progress, matchIndex: number): void {
    assert(
      matchIndex <= this.#log.lastIndex,
      `Peer ${peer} acknowledged entry ${matchIndex}: leader ${this.id}'s log ends at ${this.#log.lastIndex}`,
    );
    if (progress.acknowledge(matchIndex)) this.#maybeCommit();
    // Committing its own removal ends a leader's term of office.
    if (this.#role !== "leader") return;
    if (peer === this.#transferTarget && this.#maybeSendTimeoutNow()) return;
    this.#sendAppends(peer);
  }

  /**
   * Commits the highest index held durably by a majority, but only if its entry is from the
   * current term: entries from earlier terms commit indirectly (section 5.4.2, Figure 8).
   */
  #maybeCommit(): void {
    // Itself only up to what it persisted: entries sent before its own write may be lost.
    assert(
      this.#durableLastIndex <= this.#log.lastIndex,
      `Leader ${this.id} counts itself up to entry ${this.#durableLastIndex}: its log ends at ${this.#log.lastIndex}`,
    );
    // Voters only: learners do not count, nor does a leader that removed itself.
    const matchIndexes = this.#membership.voters.map((voter) =>
      voter === this.id ? this.#durableLastIndex : this.#progressOf(voter).matchIndex
    );
    const index = majorityIndex(matchIndexes);
    if (index > this.#commitIndex && this.#log.term(index) === this.#term) {
      this.#setCommitIndex(index);
      this.#releaseAwaitingReads();
    }
    // A leader outside the committed membership steps down (the thesis, section 4.2.2).
    const removed = !isVoter(this.#membership, this.id);
    if (removed && this.#membershipIndex <= this.#commitIndex) {
      this.#becomeFollower(this.#term, NO_LEADER);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Membership (the thesis, chapter 4)

  /** Puts `membership`, carried by entry `index`, in force; a leader tracks its members. */
  #setMembership(membership: Membership, index: number): void {
    this.#membership = membership;
    this.#membershipIndex = index;
    if (this.#role !== "leader") return;
    this.#trackMembers();
    if (this.#transferTarget !== NO_LEADER && !isVoter(membership, this.#transferTarget)) {
      this.#endTransfer();
    }
  }

  /**
   * The membership in force after the log changed under a follower: the latest membership entry
   * in the log, else the snapshot's. Scans the log, which happens only when a membership entry
   * arrived or entries were truncated or replaced by a snapshot.
   */
  #reloadMembership(): void {
    const { membership, index } = this.#latestMembershipAt(this.#log.lastIndex);
    this.#setMembership(membership, index);
  }

  /** The membership in force at `index` (at or after the snapshot), for a snapshot up to it. */
  #membershipAt(index: number): Membership {
    return this.#latestMembershipAt(index).membership;
  }

  /**
   * The latest membership at or below `index` (at or after the snapshot) and the index of the
   * entry that carries it: the snapshot's when no entry after it does.
   */
  #latestMembershipAt(index: number): { membership: Membership; index: number } {
    // Bounded by the entries between the snapshot and `index`.
    for (let at = index; at > this.#log.snapshotIndex; at--) {
      const membership = membershipOfCommand(this.#log.entry(at).command);
      if (membership !== null) return { membership, index: at };
    }
    return { membership: this.#snapshotMembership, index: this.#log.snapshotIndex };
  }

  /** A leader's progress map holds exactly the other members: new ones probed from the end. */
  #trackMembers(): void {
    const members = membersOf(this.#membership).filter((peer) => peer !== this.id);
    for (const peer of [...this.#progress.keys()]) {
      if (!members.includes(peer)) this.#progress.delete(peer);
    }
    for (const peer of members) {
      if (this.#progress.has(peer)) continue;
      this.#progress.set(peer, new Progress(this.#log.lastIndex + 1, this.#window));
    }
  }

  #progressOf(peer: number): Progress {
    const progress = this.#progress.get(peer);
    assert(progress !== undefined, `Leader ${this.id} has no progress for peer ${peer}`);
    return progress;
  }

  // ---------------------------------------------------------------------------------------
  // Reads (the thesis, section 6.4; see tracker/read_rounds.ts)

  /** A leader's read: it waits for a commit of the term, then for a round, unless leased. */
  #leaderRead(asker: ReadAsker, lease: boolean): void {
    if (this.#log.term(this.#commitIndex) !== this.#term) return this.#awaitTermCommit(asker);
    if (lease && this.#inLeaderLease()) return this.#readDone(asker, this.#commitIndex);
    this.#fileRead(asker, this.#commitIndex);
  }

  /**
   * Until a leader commits an entry of its term its commit index may lag behind entries an
   * earlier leader committed (section 5.4.2): the read waits, and a leader with no entry of its
   * term to commit appends its membership unchanged, a no-op for the service (section 6.4).
   */
  #awaitTermCommit(asker: ReadAsker): void {
    if (this.#readsAwaitingCommit.length >= this.#maxPendingReads) return this.#readDone(asker, -1);
    this.#readsAwaitingCommit.push(asker);
    const handingOver = this.#transferTarget !== NO_LEADER;
    if (this.#log.lastTerm !== this.#term && !handingOver) this.#appendMembership(this.#membership);
  }

  /** The leader committed an entry of its term: the reads waiting for it get their index. */
  #releaseAwaitingReads(): void {
    const reads = this.#readsAwaitingCommit;
    this.#readsAwaitingCommit = [];
    for (const read of reads) this.#fileRead(read, this.#commitIndex);
  }

  /** Files a read with its read index under a round whose appends have not left yet. */
  #fileRead(asker: ReadAsker, index: number): void {
    if (this.#reads.startRound(this.#ticks)) this.#sendRoundAppends();
    if (!this.#reads.add({ ...asker, index })) return this.#readDone(asker, -1);
    this.#confirmReads();
  }

  /**
   * Sends every other voter an append without entries, at an index it is known to hold, so its
   * answer (success or mismatch, in this term) echoes the new round whatever its state.
   */
  #sendRoundAppends(): void {
    for (const voter of this.#membership.voters) {
      if (voter === this.id) continue;
      const matchIndex = this.#progressOf(voter).matchIndex;
      this.#emitAppend(voter, Math.max(matchIndex, this.#log.snapshotIndex), []);
    }
  }

  #confirmReads(): void {
    const reads = this.#reads.confirm(this.#membership.voters, this.id);
    for (const read of reads) this.#readDone(read, read.index);
  }

  /**
   * Whether a lease read may be answered without a round (read_rounds.ts): with CheckQuorum on,
   * within the lease, and not while handing leadership over, since the target's election
   * ignores the voters' leases.
   */
  #inLeaderLease(): boolean {
    const start = this.#reads.leaseStartTick;
    return this.#checkQuorum && this.#transferTarget === NO_LEADER && !this.#leaseForfeited &&
      start !== null && this.#ticks - start < this.#leaseTicks;
  }

  /** Tells the asker the outcome: into the next Ready, or a reply to the follower that asked. */
  #readDone(read: Pick<ReadAsker, "id" | "from">, index: number): void {
    if (read.from === this.id) {
      this.#readStates.push({ id: read.id, index });
      return;
    }
    this.#emit(
      {
        type: "ReadIndexReply",
        from: this.id,
        to: read.from,
        term: this.#term,
        readId: read.id,
        index,
      } satisfies ReadIndexReply,
    );
  }

  /** A deposed leader refuses every read it has not confirmed. */
  #refuseLeaderReads(): void {
    for (const read of this.#reads.clear()) this.#readDone(read, -1);
    for (const read of this.#readsAwaitingCommit) this.#readDone(read, -1);
    this.#readsAwaitingCommit = [];
  }

  /** A follower's read goes to its leader, which confirms it (section 6.4, "followers"). */
  #forwardRead(id: number, lease: boolean): void {
    this.#failStaleForwards();
    const full = this.#forwardedReads.size >= this.#maxPendingReads;
    if (this.#role !== "follower" || this.#leaderId === NO_LEADER || full) {
      this.#readStates.push({ id, index: -1 });
      return;
    }
    assert(!this.#forwardedReads.has(id), `Peer ${this.id} was asked read ${id} twice`);
    this.#forwardedReads.set(id, this.#ticks);
    this.#forwardedTo = { term: this.#term, leader: this.#leaderId };
    this.#emit(
      {
        type: "ReadIndex",
        from: this.id,
        to: this.#leaderId,
        term: this.#term,
        readId: id,
        ...(lease ? { lease: true } : {}),
      } satisfies ReadIndex,
    );
  }

  #handleReadIndex(request: ReadIndex): void {
    if (this.#role !== "leader") return this.#refuseRequest(request);
    const asker = { id: request.readId, from: request.from, askedTick: this.#ticks };
    this.#leaderRead(asker, request.lease === true);
  }

  /** An answer to a forwarded read, unless it was refused already (expired or orphaned). */
  #handleReadIndexReply(reply: ReadIndexReply): void {
    if (!this.#forwardedReads.delete(reply.readId)) return;
    this.#readStates.push({ id: reply.readId, index: reply.index });
  }

  /**
   * Forwarded reads went to one leader in one term: once this peer follows another, or none,
   * their answers may never come, so they are refused (the client retries).
   */
  #failStaleForwards(): void {
    const to = this.#forwardedTo;
    if (this.#forwardedReads.size === 0) return;
    if (to.term === this.#term && to.leader === this.#leaderId) return;
    for (const id of this.#forwardedReads.keys()) this.#readStates.push({ id, index: -1 });
    this.#forwardedReads.clear();
  }

  /**
   * Refuses reads left unconfirmed for an election timeout: their leader is likely cut off or
   * gone, and the client does better to retry, elsewhere if need be.
   */
  #expireReads(): void {
    const askedBefore = this.#ticks - this.#electionTimeoutTicks;
    if (this.#role === "leader") {
      for (const read of this.#reads.expire(askedBefore)) this.#readDone(read, -1);
      const waiting = this.#readsAwaitingCommit;
      const expired = countLeading(waiting, (read) => read.askedTick <= askedBefore);
      this.#readsAwaitingCommit = waiting.slice(expired);
      for (const read of waiting.slice(0, expired)) this.#readDone(read, -1);
    }
    // Bounded by maxPendingReads; oldest first, so the first one too young ends the scan.
    for (const [id, askedTick] of this.#forwardedReads) {
      if (askedTick > askedBefore) break;
      this.#forwardedReads.delete(id);
      this.#readStates.push({ id, index: -1 });
    }
    this.#failStaleForwards();
  }

  // ---------------------------------------------------------------------------------------
  // Bookkeeping

  #setCommitIndex(index: number): void {
    assert(
      index >= this.#commitIndex,
      `Commit index of peer ${this.id} would go back from ${this.#commitIndex} to ${index}`,
    );
    assert(
      index <= this.#log.lastIndex,
      `Peer ${this.id} cannot commit entry ${index}: its log ends at ${this.#log.lastIndex}`,
    );
    this.#commitIndex = index;
  }

  /** Entries after `index` were removed from memory; the persisted log must lose them too. */
  #noteTruncation(index: number): void {
    assert(
      this.#role !== "leader",
      `Leader ${this.id} cannot truncate its own log after entry ${index}`,
    );
    assert(
      index >= this.#commitIndex,
      `Peer ${this.id} cannot truncate after entry ${index}: entries up to ${this.#commitIndex} are committed`,
    );
    this.#lowerDurableIndex(index);
    if (index < this.#stableLastIndex) {
      this.#pendingTruncateAfter = this.#pendingTruncateAfter === -1
        ? index
        : Math.min(this.#pendingTruncateAfter, index);
      this.#stableLastIndex = index;
    }
  }

  /**
   * Memory's log may differ from what it was after `index`. Storage may hold entries there that
   * memory no longer has: they do not count as durable, now or once the outstanding Ready
   * (handed out before the change) is persisted. And acknowledgements not yet handed out must
   * not promise entries past `index`: they leave only after the next persist, which removes
   * those entries (group commit can put an old leader's acknowledgement and a new leader's
   * truncation in one Ready). Up to `index` they stay true: those entries did not change.
   */
  #lowerDurableIndex(index: number): void {
    this.#durableLastIndex = Math.min(this.#durableLastIndex, index);
    this.#outstandingDurableIndex = Math.min(this.#outstandingDurableIndex, index);
    const messages = this.#messages;
    // Bounded by maxPendingMessages.
    for (let position = 0; position < messages.length; position++) {
      const message = messages[position];
      const acknowledges = message.type === "AppendEntriesReply" ||
        message.type === "InstallSnapshotReply";
      if (acknowledges && message.matchIndex > index) {
        messages[position] = { ...message, matchIndex: index };
      }
    }
  }

  #takeLogChange(): LogChange | null {
    const lastIndex = this.#log.lastIndex;
    if (this.#pendingTruncateAfter === -1 && this.#stableLastIndex >= lastIndex) return null;
    const append = this.#stableLastIndex < lastIndex
      ? this.#log.slice(this.#stableLastIndex + 1, lastIndex + 1)
      : [];
    const change: LogChange = this.#pendingTruncateAfter === -1
      ? { append }
      : { truncateAfter: this.#pendingTruncateAfter, append };
    this.#pendingTruncateAfter = -1;
    this.#stableLastIndex = lastIndex;
    return change;
  }

  #hardStateChanged(): boolean {
    return this.#term !== this.#handedOutHardState.term ||
      this.#votedFor !== this.#handedOutHardState.votedFor;
  }

  #emit(message: Message): void {
    assert(
      this.#messages.length < this.#maxPendingMessages,
      `Peer ${this.id} has ${this.#messages.length} messages waiting: the driver stopped calling ready()`,
    );
    this.#messages.push(message);
  }

  #checkInvariants(): void {
    const log = this.#log;
    assert(
      this.#appliedIndex <= this.#applyingIndex && this.#applyingIndex <= this.#commitIndex &&
        this.#commitIndex <= log.lastIndex,
      `Peer ${this.id} breaks applied ${this.#appliedIndex} <= handed out ${this.#applyingIndex} <= commit ${this.#commitIndex} <= last ${log.lastIndex}`,
    );
    assert(
      this.#durableLastIndex <= log.lastIndex,
      `Peer ${this.id} counts entries up to ${this.#durableLastIndex} as persisted: its log ends at ${log.lastIndex}`,
    );
    assert(
      this.#commitIndex >= log.snapshotIndex,
      `Peer ${this.id} has snapshot ${log.snapshotIndex} past commit ${this.#commitIndex}`,
    );
    assert(
      log.lastTerm <= this.#term,
      `Peer ${this.id} holds term ${log.lastTerm} past its term ${this.#term}`,
    );
    if (this.#role === "candidate" || this.#role === "leader") {
      assert(
        this.#votedFor === this.id,
        `Peer ${this.id} is ${this.#role} of term ${this.#term} without its own vote`,
      );
    }
    assert(
      this.#transferTarget === NO_LEADER || this.#role === "leader",
      `Peer ${this.id}, ${this.#role}, hands leadership to ${this.#transferTarget}`,
    );
    assert(
      this.#role === "leader" || this.#reads.size + this.#readsAwaitingCommit.length === 0,
      `Peer ${this.id}, ${this.#role}, holds ${this.#reads.size} reads only a leader confirms`,
    );
    if (this.#role === "leader") {
      assert(
        this.#leaderId === this.id,
        `Leader ${this.id} names peer ${this.#leaderId} as leader`,
      );
      const others = membersOf(this.#membership).filter((peer) => peer !== this.id);
      assert(
        others.length === this.#progress.size && others.every((peer) => this.#progress.has(peer)),
        `Leader ${this.id} tracks peers ${[...this.#progress.keys()].join(",")}, not its members ${
          others.join(",")
        }`,
      );
    }
  }
}

/** The read round a follower's reply to `request` echoes, if it carries one. */
function echoedRound(request: AppendEntries): { readRound?: number } {
  return request.readRound === undefined ? {} : { readRound: request.readRound };
}
