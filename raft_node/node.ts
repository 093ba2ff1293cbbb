/**
 * The Raft driver: connects a {@linkcode RaftCore} to time, peers, storage and the service. It is
 * generic over all four (a {@linkcode Clock}, {@linkcode RpcClient}s, a {@linkcode RaftStorage}
 * and an apply callback), so the same driver runs inside the simulation (virtual clock,
 * simulated network, in-memory persister) and in real processes (timers, TCP, files).
 *
 * What it does, following the contract in raft/core.ts:
 *
 * - ticks the core every `tickMs`;
 * - after every input (tick, incoming message, proposal, snapshot) it works through the core's
 *   Ready batches: first it sends the requests the core allows before the persist (a leader's
 *   entries, so that its fsync and its followers' overlap), then persists, then sends the rest
 *   as `Raft.Step` calls and hands replies back as the results of the calls that carried their
 *   requests, then applies, then calls `advance`;
 * - answers incoming `Raft.Step` calls: validates the message, steps it, and resolves the call
 *   with the reply the core addresses back to the caller, once what the reply depends on is
 *   persisted. Replies pair with waiting calls first in, first out, per (requester, type);
 * - group commit: while an asynchronous persist is running, inputs keep going into the core and
 *   come out merged in the next Ready, so there is never more than one persist at a time and
 *   never a reply or vote before the persist it depends on. Followers' acknowledgements of
 *   entries sent early may arrive during the leader's own persist: the core counts them, and
 *   counts the leader's copy once `advance` reports it durable;
 * - snapshots in chunks: a snapshot larger than `snapshotChunkBytes` goes to a follower as a
 *   sequence of chunk calls, one at a time, so that no frame outgrows the transport's limit;
 *   the follower's driver joins them and steps its core once with the whole snapshot. The core
 *   sees one InstallSnapshot and one reply either way (snapshot_transfer/snapshot_chunks.ts has
 *   the wire format). A follower's core hears of the leader only when the last chunk arrives,
 *   so a transfer must take less than the election timeout, as one whole frame had to before.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";
import type { Random } from "../util/random.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../rpc/codec.ts";
import type { RpcClient, RpcHandlers } from "../rpc/types.ts";
import { type ProposeResult, RaftCore, type Role } from "../raft/core.ts";
import { type ReadState, type Ready, writesToStorage } from "../raft/ready.ts";
import {
  type InstallSnapshot,
  type InstallSnapshotReply,
  isRequest,
  type Message,
  messageProblem,
  REPLY_TYPE_OF,
  type ReplyMessage,
  type RequestMessage,
} from "../raft/messages.ts";
import {
  type ChunkMessage,
  chunkMessageProblem,
  hasType,
  type InstallSnapshotChunk,
  type InstallSnapshotChunkAck,
} from "../snapshot_transfer/chunk_messages.ts";
import {
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  sameSnapshot,
  SNAPSHOT_CHUNK_ENVELOPE_BYTES,
  SnapshotAssembler,
  snapshotChunk,
} from "../snapshot_transfer/snapshot_chunks.ts";
import type { RaftStorage } from "../raft/storage.ts";
import type { ReadonlyRaftLog } from "../raft/log.ts";
import { type Membership, type MembershipChange, membershipOfCommand } from "../raft/membership.ts";
import type { RaftCoreConfig } from "../raft/config.ts";

/** The RPC method peers call on each other; its argument is a request, its result the reply. */
export const RAFT_STEP_METHOD = "Raft.Step";

/** Default logical tick (the lab's drivers: 10 ms). */
export const DEFAULT_TICK_MS = 10;
/** Default heartbeat, in ticks: at most ten heartbeats a second. */
export const DEFAULT_HEARTBEAT_TICKS = 10;
/** Default base election timeout, in ticks: elections after 300 to 600 ms of silence. */
export const DEFAULT_ELECTION_TIMEOUT_TICKS = 30;
/** Default cap on incoming calls waiting for their reply. */
export const DEFAULT_MAX_WAITING_CALLS = 10_000;
/** Default cap on outgoing calls in flight; past it requests are dropped (the core retries). */
export const DEFAULT_MAX_CALLS_IN_FLIGHT = 10_000;
/** Ready batches one round of processing may handle before it yields to other work. */
const MAX_READY_BATCHES_PER_ROUND = 10_000;
/**
 * Ticks given at once to a core whose ticks fell behind the clock (a paused process): enough to
 * end any lease and election timeout, few enough to send a bounded burst of heartbeats.
 */
const MAX_CATCH_UP_TICKS = 128;

/** A committed command, handed to the service in log order. */
export interface CommandMessage {
  /** Discriminant: this message carries a command. */
  readonly commandValid: true;
  /** The command as given to `propose`, after a trip through the codec. */
  readonly command: unknown;
  /** Its log index. */
  readonly commandIndex: number;
  /** The term of the leader that created the entry. */
  readonly commandTerm: number;
}

/** A snapshot from the leader that the service must load in place of its state. */
export interface SnapshotMessage {
  /** Discriminant: this message carries a snapshot. */
  readonly snapshotValid: true;
  /** The service's bytes. */
  readonly snapshot: Uint8Array;
  /** The term of the last entry the snapshot covers. */
  readonly snapshotTerm: number;
  /** The last index the snapshot covers. */
  readonly snapshotIndex: number;
}

/**
 * A committed membership entry: the group's members changed at this index. Services need not
 * act on it, but count it as applied (its index is applied like a command's).
 */
export interface MembershipMessage {
  /** Discriminant: this message carries a membership. */
  readonly membershipValid: true;
  /** The membership the entry carries. */
  readonly membership: Membership;
  /** Its log index. */
  readonly membershipIndex: number;
  /** The term of the leader that created the entry. */
  readonly membershipTerm: number;
}

/** What the driver hands the service (the lab's `ApplyMsg`, and memberships). */
export type ApplyMessage = CommandMessage | SnapshotMessage | MembershipMessage;

/**
 * The clients a driver calls its peers through: one per peer, indexed by id, or a function
 * that finds the client of a peer (undefined when it cannot be reached, as a member whose
 * address is unknown): the membership changes, so the set of peers does too.
 */
export type PeerClients = readonly RpcClient[] | ((id: number) => RpcClient | undefined);

/** The core's caps on appends, which a driver may set (see {@linkcode RaftCoreConfig}). */
export type ReplicationLimits = Pick<
  RaftCoreConfig,
  "maxEntriesPerAppend" | "maxAppendBytes" | "maxInflightAppends" | "maxInflightBytes"
>;

/** How to build a {@linkcode RaftNode}. */
export interface RaftNodeConfig {
  /** This peer's id. */
  readonly id: number;
  /** The clients of the other peers (the entry or answer for `id` is never used). */
  readonly peers: PeerClients;
  /**
   * The group's first voters, used until the log or a snapshot holds a membership. Default:
   * every index of `peers` when it is a list. Empty for a peer that joins a running group.
   */
  readonly bootstrapVoters?: readonly number[];
  /** Where the first voters listen, by id; carried in the membership for drivers that dial. */
  readonly bootstrapAddresses?: Readonly<Record<string, string>>;
  /** Stable storage; its `load()` gives the state the peer restarts from. */
  readonly storage: RaftStorage;
  /** Time and timers. */
  readonly clock: Clock;
  /** The source of election-timeout jitter. */
  readonly random: Random;
  /**
   * Receives committed commands and leader snapshots in order, never after `kill()`. It may
   * call `propose` and `snapshot` on the node; it must not throw.
   */
  readonly apply: (message: ApplyMessage) => void;
  /** Logical tick length. Default {@linkcode DEFAULT_TICK_MS}. */
  readonly tickMs?: number;
  /** Default {@linkcode DEFAULT_HEARTBEAT_TICKS}. */
  readonly heartbeatTicks?: number;
  /** Default {@linkcode DEFAULT_ELECTION_TIMEOUT_TICKS}. */
  readonly electionTimeoutTicks?: number;
  /** Default {@linkcode DEFAULT_MAX_WAITING_CALLS}. */
  readonly maxWaitingCalls?: number;
  /** Default {@linkcode DEFAULT_MAX_CALLS_IN_FLIGHT}. */
  readonly maxCallsInFlight?: number;
  /** How the core batches and pipelines appends; the core's defaults where absent. */
  readonly replication?: ReplicationLimits;
  /**
   * PreVote, CheckQuorum and a new leader's empty first entry; the core's defaults (the first
   * two on, the entry off) where absent.
   */
  readonly elections?: Pick<RaftCoreConfig, "preVote" | "checkQuorum" | "noOpOnElection">;
  /**
   * Snapshots larger than this go to followers in chunks of this many bytes, one call each (see
   * snapshot_transfer/snapshot_chunks.ts). A chunk and its envelope must fill at most half of
   * `maxFrameBytes`. Default {@linkcode DEFAULT_SNAPSHOT_CHUNK_BYTES}.
   */
  readonly snapshotChunkBytes?: number;
  /**
   * The largest frame the peers' transport carries (the `maxFrameBytes` of `rpc/`'s clients and
   * servers); only used to check `snapshotChunkBytes`. Default the transport's default,
   * {@linkcode DEFAULT_MAX_FRAME_BYTES}.
   */
  readonly maxFrameBytes?: number;
  /**
   * The largest chunked snapshot this peer takes from a leader; it allocates that much at most
   * to assemble one. Default {@linkcode DEFAULT_MAX_SNAPSHOT_BYTES}.
   */
  readonly maxSnapshotBytes?: number;
  /**
   * Called once when the peer stops on a broken invariant or a failed persist (it is already
   * killed then). Default: rethrow it outside any caller, which ends the process, as a real
   * server should rather than go on with state it cannot trust.
   */
  readonly onFatal?: (error: unknown) => void;
}

/** A read asked of the core, waiting for its outcome. */
interface WaitingRead {
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
}

/** An incoming call waiting for the reply its request will produce. */
interface WaitingCall {
  readonly resolve: (reply: ReplyMessage) => void;
  readonly reject: (error: Error) => void;
}

/** A chunked snapshot on its way to one follower: the core's request, and the chunk in flight. */
interface SnapshotTransfer {
  readonly request: InstallSnapshot;
  /** Where the chunk in flight starts. */
  offset: number;
}

/** One Raft peer, driven: timers, peers, storage and the service around a {@linkcode RaftCore}. */
export class RaftNode {
  /** This peer's id. */
  readonly id: number;
  /** The RPC methods this peer serves; register them on its server. */
  readonly handlers: RpcHandlers;
  readonly #core: RaftCore;
  readonly #clientOf: (id: number) => RpcClient | undefined;
  readonly #storage: RaftStorage;
  readonly #clock: Clock;
  readonly #apply: (message: ApplyMessage) => void;
  readonly #tickMs: number;
  readonly #maxWaitingCalls: number;
  readonly #maxCallsInFlight: number;
  readonly #onFatal: (error: unknown) => void;
  readonly #snapshotChunkBytes: number;
  /** Joins the chunks of a snapshot coming from a leader. */
  readonly #assembler: SnapshotAssembler;
  /** Chunked snapshots being sent, by follower id; at most one per follower. */
  readonly #transfers = new Map<number, SnapshotTransfer>();
  /** The term made durable by the latest persist: what a refused chunk is answered with. */
  #durableTerm: number;
  /** Waiting incoming calls by `${requester}/${reply type}`, oldest first. */
  readonly #waiting = new Map<string, WaitingCall[]>();
  #waitingCount = 0;
  #callsInFlight = 0;
  /** Reads asked of the core and not answered yet, by id; the core answers each once. */
  readonly #reads = new Map<number, WaitingRead>();
  #nextReadId = 1;
  /** The clock's time the core's ticks have reached: it lags the clock by less than a tick. */
  #tickedToMs: number;
  #tickTimer: TimerHandle = null;
  #killed = false;
  /** A round of Ready processing is running (possibly waiting for a persist). */
  #processing = false;
  /** A `#processSoon` is queued and has not run yet. */
  #processScheduled = false;
  readonly #onTick = () => this.#tick();
  readonly #onReply = (reply: unknown) => this.#receiveReply(reply);
  readonly #onCallFailed = () => {
    // A lost call is forgotten: the core resends at the next heartbeat.
    this.#callsInFlight--;
  };

  /** Restores the peer from `config.storage` and starts its tick timer. */
  constructor(config: RaftNodeConfig) {
    const peers = config.peers;
    const voters = config.bootstrapVoters ??
      (typeof peers === "function" ? [] : peers.map((_, index) => index));
    assert(
      Number.isSafeInteger(config.id) && config.id >= 0,
      `Peer id ${config.id} is not a whole number`,
    );
    const restored = config.storage.load();
    this.id = config.id;
    this.#clientOf = typeof peers === "function" ? peers : (id) => peers[id];
    this.#storage = config.storage;
    this.#clock = config.clock;
    this.#apply = config.apply;
    this.#tickMs = config.tickMs ?? DEFAULT_TICK_MS;
    this.#maxWaitingCalls = config.maxWaitingCalls ?? DEFAULT_MAX_WAITING_CALLS;
    this.#maxCallsInFlight = config.maxCallsInFlight ?? DEFAULT_MAX_CALLS_IN_FLIGHT;
    this.#onFatal = config.onFatal ?? rethrowOutside;
    this.#snapshotChunkBytes = config.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES;
    this.#assembler = new SnapshotAssembler(config.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES);
    this.#durableTerm = restored.hardState?.term ?? 0;
    assert(this.#tickMs > 0, `Tick of ${this.#tickMs} ms is not positive`);
    assertChunkFits(this.#snapshotChunkBytes, config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.#core = new RaftCore({
      id: config.id,
      peers: voters,
      bootstrapAddresses: config.bootstrapAddresses,
      electionTimeoutTicks: config.electionTimeoutTicks ?? DEFAULT_ELECTION_TIMEOUT_TICKS,
      heartbeatTicks: config.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS,
      random: config.random,
      hardState: restored.hardState,
      snapshot: restored.snapshot,
      entries: restored.entries,
      ...config.replication,
      ...config.elections,
    });
    this.handlers = { [RAFT_STEP_METHOD]: (args: unknown) => this.#receiveRequest(args) };
    this.#tickedToMs = this.#clock.now();
    this.#tickTimer = this.#clock.setTimeout(this.#onTick, this.#tickMs);
  }

  /** The latest term this peer has seen. */
  get term(): number {
    return this.#core.term;
  }

  /** This peer's role. */
  get role(): Role {
    return this.#core.role;
  }

  /** The peer this one believes leads its term, or -1. */
  get leaderId(): number {
    return this.#core.leaderId;
  }

  /** The highest index this peer knows to be committed. */
  get commitIndex(): number {
    return this.#core.commitIndex;
  }

  /** The highest index this peer has applied. */
  get appliedIndex(): number {
    return this.#core.appliedIndex;
  }

  /** This peer's log, to read (a trace samples it). */
  get log(): ReadonlyRaftLog {
    return this.#core.log;
  }

  /** The membership in force: the latest in the log, committed or not. */
  get membership(): Membership {
    return this.#core.membership;
  }

  /** The index of the entry that carries {@linkcode membership} (the snapshot's, or 0). */
  get membershipIndex(): number {
    return this.#core.membershipIndex;
  }

  /** Whether a vote request from `peer` is refused outright (see {@linkcode RaftCore.refusesVoteOf}). */
  refusesVoteOf(peer: number): boolean {
    return this.#core.refusesVoteOf(peer);
  }

  /** How far the leader knows `peer`'s log to match its own, or null when not leader. */
  matchIndexOf(peer: number): number | null {
    return this.#core.followerProgress(peer)?.matchIndex ?? null;
  }

  /**
   * Proposes a single-server membership change (see {@linkcode RaftCore.proposeMembership}).
   * Returns the index of its entry, which is in force at once and final once committed (it
   * comes out of the apply callback); throws a one-line error saying why it was refused.
   */
  proposeMembership(change: MembershipChange): number {
    if (this.#killed) throw new Error(`Raft peer ${this.id} was killed`);
    const proposal = this.#core.proposeMembership(change);
    this.#processSoon();
    if (!proposal.ok) throw new Error(proposal.reason);
    return proposal.index;
  }

  /** Whether `kill()` was called. */
  get killed(): boolean {
    return this.#killed;
  }

  /**
   * Hands leadership to peer `target` (see {@linkcode RaftCore.transferLeadership}): proposals
   * are refused until it leads or the transfer is given up after an election timeout. Throws a
   * one-line error when this peer does not lead or `target` is not another peer.
   */
  transferLeadership(target: number): void {
    if (this.#killed) throw new Error(`Raft peer ${this.id} was killed`);
    const core = this.#core;
    if (core.role !== "leader") {
      throw new Error(
        `Peer ${this.id} cannot hand leadership over: it is ${core.role} of term ${core.term}, and peer ${core.leaderId} leads`,
      );
    }
    const voters = core.membership.voters;
    if (!Number.isSafeInteger(target) || target === this.id || !voters.includes(target)) {
      throw new Error(
        `Peer ${this.id} cannot hand leadership to ${target}: the other voters are ${
          voters.filter((peer) => peer !== this.id).join(", ")
        }`,
      );
    }
    core.transferLeadership(target);
    this.#processOrStop();
  }

  /**
   * Appends `command` to the log when this peer leads (the lab's `Start`); it is committed only
   * if it comes out of the apply callback at the returned index. After `kill()`, refuses.
   */
  propose(command: unknown): ProposeResult {
    if (this.#killed) return { index: -1, term: this.#core.term, isLeader: false };
    const result = this.#core.propose(command);
    if (result.isLeader) this.#processSoon();
    return result;
  }

  /**
   * A read index (see {@linkcode RaftCore.readIndex}): resolves with the index the service must
   * have applied before it answers a read from its state, which is then linearizable; rejects
   * with a one-line error when the read was refused (no leader known, leadership lost, no
   * confirmation within an election timeout), and the client should retry, elsewhere if need
   * be. With `lease`, a leader within its lease answers without a round of messages; refused
   * when CheckQuorum is off. Reads asked in one task share one round.
   */
  readIndex(lease = false): Promise<number> {
    if (this.#killed) return Promise.reject(new Error(`Raft peer ${this.id} was killed`));
    if (lease && !this.#core.leaseReads) {
      return Promise.reject(
        new Error(`Raft peer ${this.id} refuses lease reads: CheckQuorum is off`),
      );
    }
    const id = this.#nextReadId++;
    const read = new Promise<number>((resolve, reject) => this.#reads.set(id, { resolve, reject }));
    try {
      // A lease is measured in ticks: they must be current, even after the process was paused.
      this.#catchUpTicks();
      this.#core.readIndex(id, lease);
      this.#processSoon();
    } catch (error) {
      this.#fatal(error);
    }
    return read;
  }

  /** The service's state up to `index` is in `data`: entries up to there may go. */
  snapshot(index: number, data: Uint8Array): void {
    if (this.#killed) return;
    this.#core.compact(index, data);
    this.#processOrStop();
  }

  /**
   * Stops the peer for good: no more ticks, persists, sends or applies; incoming calls fail.
   * A persist already running finishes, but nothing after it happens.
   */
  kill(): void {
    if (this.#killed) return;
    this.#killed = true;
    this.#clock.clearTimeout(this.#tickTimer);
    this.#tickTimer = null;
    const error = new Error(`Raft peer ${this.id} was killed`);
    for (const calls of this.#waiting.values()) {
      for (const call of calls) call.reject(error);
    }
    this.#waiting.clear();
    this.#waitingCount = 0;
    for (const read of this.#reads.values()) read.reject(error);
    this.#reads.clear();
    this.#transfers.clear();
    this.#assembler.clear();
  }

  #tick(): void {
    if (this.#killed) return;
    this.#tickTimer = this.#clock.setTimeout(this.#onTick, this.#tickMs);
    try {
      this.#catchUpTicks();
      this.#process();
    } catch (error) {
      this.#fatal(error);
    }
  }

  /**
   * Ticks the core once for every tick length the clock moved since its last tick (at most
   * {@linkcode MAX_CATCH_UP_TICKS}), so its sense of time is the clock's: a timer fires late, or
   * not at all while the process is stopped (SIGSTOP, a long pause), and a leader that counted
   * one tick for a long pause would trust a lease that ended meanwhile. Called on every timer,
   * before every read and before every message is stepped (the safety simulation found a
   * resumed leader answering a follower's forwarded lease read that had waited in its socket).
   */
  #catchUpTicks(): void {
    const dueTicks = Math.floor((this.#clock.now() - this.#tickedToMs) / this.#tickMs);
    if (dueTicks <= 0) return;
    this.#tickedToMs += dueTicks * this.#tickMs;
    const ticks = Math.min(dueTicks, MAX_CATCH_UP_TICKS);
    for (let tick = 0; tick < ticks; tick++) this.#core.tick();
  }

  /** Stops the peer for good on an error it cannot recover from, and reports it. */
  #fatal(error: unknown): void {
    if (this.#killed) return;
    this.kill();
    this.#onFatal(error);
  }

  #receiveRequest(
    args: unknown,
  ): Promise<ReplyMessage> | InstallSnapshotReply | InstallSnapshotChunkAck {
    if (this.#killed) throw new Error(`Raft peer ${this.id} was killed`);
    const chunk = hasType(args, "InstallSnapshotChunk");
    const problem = this.#incomingProblem(args, chunk ? chunkMessageProblem : messageProblem);
    if (problem !== null) throw new Error(`Raft peer ${this.id} refused a message: ${problem}`);
    if (chunk) return this.#receiveChunk(args as InstallSnapshotChunk);
    const request = args as Message;
    if (!isRequest(request)) {
      throw new Error(`Raft peer ${this.id} refused a ${request.type}: it is not a request`);
    }
    // A whole snapshot from a leader supersedes what it had sent in chunks.
    if (request.type === "InstallSnapshot") this.#assembler.discardFrom(request.from);
    return this.#stepRequest(request);
  }

  /** Steps `request` and resolves with the reply the core makes for it. */
  #stepRequest(request: RequestMessage): Promise<ReplyMessage> {
    if (this.#waitingCount >= this.#maxWaitingCalls) {
      throw new Error(`Raft peer ${this.id} has ${this.#waitingCount} calls waiting`);
    }
    const reply = new Promise<ReplyMessage>((resolve, reject) => {
      this.#waitFor(request, { resolve, reject });
    });
    try {
      // After a pause, what waited in the socket (a follower's lease read) meets a current clock.
      this.#catchUpTicks();
      this.#core.step(request);
      this.#process();
    } catch (error) {
      this.#fatal(error);
    }
    return reply;
  }

  /**
   * Takes a chunk of a leader's snapshot: acknowledges it, steps the whole snapshot when it was
   * the last, or refuses it with an InstallSnapshotReply of matchIndex 0 and the durable term
   * (which deposes a stale leader without revealing a term a crash could take back).
   */
  #receiveChunk(
    chunk: InstallSnapshotChunk,
  ): Promise<ReplyMessage> | InstallSnapshotReply | InstallSnapshotChunkAck {
    const base = { from: this.id, to: chunk.from, term: this.#durableTerm };
    const refusal: InstallSnapshotReply = { type: "InstallSnapshotReply", ...base, matchIndex: 0 };
    if (chunk.term < this.#durableTerm) {
      this.#assembler.discardFrom(chunk.from);
      return refusal;
    }
    const outcome = this.#assembler.accept(chunk);
    if (outcome.kind === "complete") return this.#stepRequest(outcome.snapshot);
    if (outcome.kind === "refused") return refusal;
    // A transfer may outlast an election timeout: each chunk counts as word from the leader.
    try {
      this.#core.heardFromLeader(chunk.from, chunk.term);
      this.#process();
    } catch (error) {
      this.#fatal(error);
    }
    return { type: "InstallSnapshotChunkAck", ...base, receivedBytes: outcome.receivedBytes };
  }

  #waitFor(request: RequestMessage, call: WaitingCall): void {
    const key = `${request.from}/${REPLY_TYPE_OF[request.type]}`;
    const calls = this.#waiting.get(key);
    if (calls === undefined) this.#waiting.set(key, [call]);
    else calls.push(call);
    this.#waitingCount++;
  }

  #receiveReply(reply: unknown): void {
    this.#callsInFlight--;
    if (this.#killed) return;
    const problem = this.#incomingProblem(reply, messageProblem);
    // A malformed reply is as good as a lost one: the core retries.
    if (problem !== null || isRequest(reply as Message)) return;
    this.#stepReply(reply as ReplyMessage);
  }

  #stepReply(reply: ReplyMessage): void {
    try {
      this.#catchUpTicks();
      this.#core.step(reply);
      this.#process();
    } catch (error) {
      this.#fatal(error);
    }
  }

  /**
   * Why `value` may not be taken: malformed (by `check`), not for this peer, or not from another
   * peer.
   */
  #incomingProblem(value: unknown, check: (value: unknown) => string | null): string | null {
    const problem = check(value);
    if (problem !== null) return problem;
    const message = value as Message | ChunkMessage;
    if (message.to !== this.id) return `${message.type} is addressed to peer ${message.to}`;
    if (message.from === this.id) return `${message.type} comes from this peer itself`;
    return null;
  }

  /**
   * Processing once the caller's task is done: proposals made in one task (a burst of client
   * requests, the lab's back-to-back `Start`s) leave in one Ready, so in one append per follower
   * rather than one each.
   */
  #processSoon(): void {
    if (this.#processScheduled) return;
    this.#processScheduled = true;
    queueMicrotask(() => {
      this.#processScheduled = false;
      this.#processOrStop();
    });
  }

  /** Processing for the service's calls: a broken invariant stops the peer. */
  #processOrStop(): void {
    try {
      this.#process();
    } catch (error) {
      this.#fatal(error);
    }
  }

  /** Works through the core's Ready batches, unless a round is already running. */
  #process(): void {
    if (this.#processing || this.#killed) return;
    this.#processing = true;
    this.#round();
  }

  /**
   * One round: Ready batches one after another while the core has any. A synchronous persist
   * keeps the round going; an asynchronous one ends this call and the round resumes when the
   * persist is done, with whatever accumulated meanwhile in the next Ready.
   */
  #round(): void {
    for (let batch = 0; batch < MAX_READY_BATCHES_PER_ROUND; batch++) {
      if (this.#killed || !this.#core.hasReady()) {
        this.#processing = false;
        return;
      }
      const ready = this.#core.ready();
      // A read's outcome depends on nothing being persisted.
      this.#answerReads(ready.readStates ?? []);
      this.#send(ready.messagesBeforePersist);
      const persisted = this.#persist(ready);
      if (persisted instanceof Promise) {
        persisted.then(() => this.#afterPersist(ready), (error) => this.#fatal(error))
          .catch((error) => this.#fatal(error));
        return;
      }
      this.#afterPersist(ready, false);
    }
    assert(false, `Raft peer ${this.id} handled ${MAX_READY_BATCHES_PER_ROUND} batches in a row`);
  }

  #answerReads(states: readonly ReadState[]): void {
    for (const state of states) {
      const read = this.#reads.get(state.id);
      assert(read !== undefined, `Raft peer ${this.id} got the outcome of read ${state.id} twice`);
      this.#reads.delete(state.id);
      if (state.index >= 0) {
        read.resolve(state.index);
        continue;
      }
      const core = this.#core;
      read.reject(
        new Error(
          `Raft peer ${this.id} could not confirm a read index: it is ${core.role} of term ${core.term}, and the leader it knows is ${core.leaderId}`,
        ),
      );
    }
  }

  #persist(ready: Ready): void | Promise<void> {
    if (!writesToStorage(ready)) return;
    return this.#storage.persist({
      hardState: ready.hardState,
      logChange: ready.logChange,
      snapshot: ready.snapshot,
    });
  }

  /** Sends, applies and advances `ready`; `resume` continues the round (after an async persist). */
  #afterPersist(ready: Ready, resume = true): void {
    if (this.#killed) return;
    if (ready.hardState !== undefined) this.#durableTerm = ready.hardState.term;
    this.#send(ready.messages);
    this.#applyReady(ready);
    this.#core.advance(ready);
    if (resume) this.#round();
  }

  #send(messages: readonly Message[]): void {
    for (const message of messages) {
      if (message.type === "InstallSnapshot") this.#sendSnapshot(message);
      else if (isRequest(message)) this.#call(message);
      else this.#answer(message);
    }
  }

  /** Sends a snapshot whole when it fits in one chunk, else in chunks unless already under way. */
  #sendSnapshot(request: InstallSnapshot): void {
    if (request.data.length <= this.#snapshotChunkBytes) {
      this.#transfers.delete(request.to);
      return this.#call(request);
    }
    // The core sends the snapshot again when it hears nothing for a while, and the chunks'
    // acknowledgements never reach it: the transfer under way carries this snapshot already.
    const current = this.#transfers.get(request.to);
    if (current !== undefined && sameSnapshot(current.request, request)) return;
    const transfer: SnapshotTransfer = { request, offset: 0 };
    this.#transfers.set(request.to, transfer);
    this.#sendChunk(transfer);
  }

  /** Sends the chunk at `transfer.offset`; past the cap on calls the transfer ends instead. */
  #sendChunk(transfer: SnapshotTransfer): void {
    const { request } = transfer;
    if (this.#callsInFlight >= this.#maxCallsInFlight) return this.#endTransfer(transfer);
    const peer = this.#clientOf(request.to);
    // A member whose address is not known yet: the core sends again later.
    if (peer === undefined) return this.#endTransfer(transfer);
    const chunk = snapshotChunk(request, transfer.offset, this.#snapshotChunkBytes);
    this.#callsInFlight++;
    peer.call(RAFT_STEP_METHOD, chunk).then(
      (reply) => this.#receiveChunkReply(transfer, chunk, reply),
      () => {
        // A lost chunk ends the transfer: the core sends the snapshot again later.
        this.#callsInFlight--;
        this.#endTransfer(transfer);
      },
    );
  }

  /**
   * The last chunk's reply, or a refusal, goes to the core; an acknowledgement sends the next
   * chunk while the transfer is current and this peer still leads its term.
   */
  #receiveChunkReply(
    transfer: SnapshotTransfer,
    chunk: InstallSnapshotChunk,
    reply: unknown,
  ): void {
    this.#callsInFlight--;
    if (this.#killed) return;
    if (this.#chunkReplyProblem(chunk, reply) !== null) return this.#endTransfer(transfer);
    const answer = reply as InstallSnapshotReply | InstallSnapshotChunkAck;
    if (answer.type === "InstallSnapshotReply") {
      this.#endTransfer(transfer);
      return this.#stepReply(answer);
    }
    const current = this.#transfers.get(chunk.to) === transfer;
    const leads = this.#core.role === "leader" && this.#core.term === chunk.term;
    if (!current || !leads) return this.#endTransfer(transfer);
    transfer.offset = answer.receivedBytes;
    this.#sendChunk(transfer);
  }

  /** Why `reply` does not answer `chunk`: malformed, from elsewhere, or for other bytes. */
  #chunkReplyProblem(chunk: InstallSnapshotChunk, reply: unknown): string | null {
    const ack = hasType(reply, "InstallSnapshotChunkAck");
    const problem = this.#incomingProblem(reply, ack ? chunkMessageProblem : messageProblem);
    if (problem !== null) return problem;
    const answer = reply as Message | InstallSnapshotChunkAck;
    if (answer.from !== chunk.to) return `${answer.type} comes from peer ${answer.from}`;
    if (answer.type === "InstallSnapshotReply") return null;
    if (answer.type !== "InstallSnapshotChunkAck") return `${answer.type} answers no chunk`;
    const end = chunk.offset + chunk.data.length;
    if (chunk.done || answer.receivedBytes !== end) {
      return `Acknowledgement of ${answer.receivedBytes} bytes answers a chunk ending at ${end}`;
    }
    return null;
  }

  /** Forgets `transfer` if it is still the one under way to its follower. */
  #endTransfer(transfer: SnapshotTransfer): void {
    const follower = transfer.request.to;
    if (this.#transfers.get(follower) === transfer) this.#transfers.delete(follower);
  }

  #call(request: RequestMessage): void {
    if (this.#callsInFlight >= this.#maxCallsInFlight) return;
    const peer = this.#clientOf(request.to);
    // A member whose address is not known yet: as good as a lost call, the core retries.
    if (peer === undefined) return;
    this.#callsInFlight++;
    peer.call(RAFT_STEP_METHOD, request).then(this.#onReply, this.#onCallFailed);
  }

  #answer(reply: ReplyMessage): void {
    const key = `${reply.to}/${reply.type}`;
    const calls = this.#waiting.get(key);
    assert(
      calls !== undefined && calls.length > 0,
      `Raft peer ${this.id} has a ${reply.type} for peer ${reply.to} but no call waits for it`,
    );
    const call = calls.shift() as WaitingCall;
    if (calls.length === 0) this.#waiting.delete(key);
    this.#waitingCount--;
    call.resolve(reply);
  }

  #applyReady(ready: Ready): void {
    const snapshot = ready.snapshotToApply;
    if (snapshot !== undefined) {
      this.#apply({
        snapshotValid: true,
        snapshot: snapshot.data,
        snapshotTerm: snapshot.term,
        snapshotIndex: snapshot.index,
      });
    }
    for (const entry of ready.committedEntries) {
      if (this.#killed) return;
      const membership = membershipOfCommand(entry.command);
      if (membership !== null) {
        this.#apply({
          membershipValid: true,
          membership,
          membershipIndex: entry.index,
          membershipTerm: entry.term,
        });
        continue;
      }
      this.#apply({
        commandValid: true,
        command: entry.command,
        commandIndex: entry.index,
        commandTerm: entry.term,
      });
    }
  }
}

/** Checks at start-up that a snapshot chunk, envelope included, fills at most half a frame. */
function assertChunkFits(chunkBytes: number, maxFrameBytes: number): void {
  assert(
    Number.isSafeInteger(chunkBytes) && chunkBytes > 0,
    `Snapshot chunks of ${chunkBytes} bytes are not a positive whole number of bytes`,
  );
  assert(
    chunkBytes + SNAPSHOT_CHUNK_ENVELOPE_BYTES <= maxFrameBytes / 2,
    `Snapshot chunks of ${chunkBytes} bytes do not fit well within frames of ` +
      `${maxFrameBytes} bytes: a chunk and its ${SNAPSHOT_CHUNK_ENVELOPE_BYTES}-byte envelope ` +
      "may fill half a frame at most",
  );
}

/** Throws `error` from a fresh task, where no caller can swallow it: it ends the process. */
function rethrowOutside(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
