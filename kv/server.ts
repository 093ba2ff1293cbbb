/**
 * The key/value server: it hands each client operation to its Raft peer and answers once that
 * operation comes out of the apply stream at the index Raft gave it. It depends only on a
 * {@linkcode KvRaft} and a {@linkcode Clock}, so the simulated lab servers and the real
 * `kv-server` (TCP and files) run this same code.
 *
 * Why each answer is safe:
 * - OK only for the very operation (client id, sequence number, term) found at its index, so a
 *   leader that lost its entry to a newer leader never reports success for it;
 * - a Put or Append retried after it was applied is recognised by its (client id, sequence
 *   number) and has no second effect; the table of last sequence numbers is in the snapshot;
 * - a Get writes nothing to the log: the server asks its Raft peer for a read index (the
 *   leader's commit index, confirmed by a round of heartbeats, or within the leader's lease)
 *   and answers once it has applied that far, so it reflects every write acknowledged before it
 *   began, whichever server answers; a serializable Get answers from the local state at once.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";
import type { RpcHandlers } from "../rpc/types.ts";
import type { ApplyMessage, RaftState, StartResult } from "../lab_api/lab_raft.ts";
import { MinHeap } from "../util/min_heap.ts";
import { KvStateMachine } from "./state_machine.ts";
import {
  commandProblem,
  type KvCommand,
  LEASE_EXPIRE_KIND,
  loggedCommand,
  READ_KINDS,
} from "./command.ts";
import { LeaseDeadlines } from "./lease_deadlines.ts";
import { WatchPolls } from "./watch_polls.ts";
import { KV_WATCH_METHOD, parseWatchRequest } from "./watch_protocol.ts";
import {
  ERR_LEASE_NOT_FOUND,
  ERR_TIMEOUT,
  ERR_WRONG_LEADER,
  KV_OPERATION_METHOD,
  type KvReply,
  OK,
} from "./protocol.ts";

/** The Raft peer as the server sees it (the lab's API plus the size of what it persisted). */
export interface KvRaft {
  /** Starts agreement on `command` if this peer leads. */
  start(command: unknown): StartResult;
  /**
   * A read index: the service answers a read once it has applied up to it; rejects when no
   * leader confirmed it. With `lease`, a leader within its lease answers without a round.
   */
  readIndex(lease: boolean): Promise<number>;
  /** The current term and whether this peer believes it leads. */
  getState(): RaftState;
  /** The service's state up to and including `index` is in `snapshot`: trim the log. */
  snapshot(index: number, snapshot: Uint8Array): void;
  /** Bytes of the Raft state last persisted (term, vote, log), as checked against the limit. */
  raftStateSize(): number;
  /** Stops the peer for good. */
  kill(): void;
}

/** Default for {@linkcode KvServerConfig.applyTimeoutMs}. */
export const DEFAULT_APPLY_TIMEOUT_MS = 500;
/** Default for {@linkcode KvServerConfig.leadershipCheckMs}. */
export const DEFAULT_LEADERSHIP_CHECK_MS = 100;
/** Default for {@linkcode KvServerConfig.maxWaitingOperations}. */
export const DEFAULT_MAX_WAITING_OPERATIONS = 10_000;
/** While leases exist, how often the leader looks for expired ones and who leads. */
export const LEASE_CHECK_MS = 50;
/** How long before the leader proposes an expiry again, if the first proposal was lost. */
const LEASE_EXPIRE_RETRY_MS = 1_000;
/**
 * A snapshot is taken once the persisted Raft state reaches this share of `maxRaftStateBytes`,
 * so the state rarely passes the limit by more than an entry or a batch.
 */
export const SNAPSHOT_THRESHOLD_FRACTION = 0.9;

/** How to build a {@linkcode KvServer}. */
export interface KvServerConfig {
  /** This server's id (for messages). */
  readonly id: number;
  /** Time and timers. */
  readonly clock: Clock;
  /** Snapshot once the persisted Raft state nears this many bytes; -1 never snapshots. */
  readonly maxRaftStateBytes: number;
  /** The snapshot persisted by the previous incarnation, if any: the state to start from. */
  readonly snapshot: Uint8Array | null;
  /**
   * Starts the Raft peer, which must hand committed commands and snapshots to `apply` (and must
   * not call it before this function returns), as the lab's `Make` does.
   */
  readonly makeRaft: (apply: (message: ApplyMessage) => void) => KvRaft;
  /** How long an operation may wait to be applied before the server answers timeout. */
  readonly applyTimeoutMs?: number;
  /** While an operation waits, how often the server checks that it still leads in its term. */
  readonly leadershipCheckMs?: number;
  /** Operations that may wait at once; more are refused with {@linkcode ERR_TIMEOUT}. */
  readonly maxWaitingOperations?: number;
  /** Revisions of history this replica keeps for watches and past reads; default 10,000. */
  readonly historyRevisions?: number;
}

/** An operation handed to Raft, waiting for its index to be applied. */
interface Waiter {
  readonly command: KvCommand;
  readonly index: number;
  readonly term: number;
  readonly deadlineMs: number;
  readonly resolve: (reply: KvReply) => void;
  timer: TimerHandle;
}

/** A read with its read index, waiting for the server to apply that far. */
interface ReadWaiter {
  /** The reply, made once the server has applied up to `index`. */
  readonly answer: () => KvReply;
  readonly index: number;
  readonly resolve: (reply: KvReply) => void;
  timer: TimerHandle;
}

/** One replica of the key/value service, with its Raft peer inside. */
export class KvServer {
  /** This server's id. */
  readonly id: number;
  /** The client-facing RPC methods (register them with the Raft peer's on the same server). */
  readonly handlers: RpcHandlers;
  readonly #clock: Clock;
  readonly #maxRaftStateBytes: number;
  readonly #applyTimeoutMs: number;
  readonly #leadershipCheckMs: number;
  readonly #maxWaitingOperations: number;
  readonly #machine: KvStateMachine;
  /** Waiting operations by log index: at most one per index. */
  readonly #waiters = new Map<number, Waiter>();
  /** Gets waiting for their read index to be applied, lowest index first. */
  readonly #readWaiters: MinHeap<ReadWaiter>;
  /** Gets waiting for a read index or for it to be applied. */
  #readsWaiting = 0;
  readonly #raft: KvRaft;
  #killed = false;
  readonly #watches: WatchPolls;
  readonly #leases: LeaseDeadlines;
  #leaseTimer: TimerHandle = null;
  /** The last term in which a watch poll had this server settle its term (see #settleTerm). */
  #settledTerm = 0;
  #lastSnapshotIndex = 0;
  /** The persisted size seen when the last snapshot was asked for (-1: none asked for yet). */
  #raftStateSizeAtSnapshot = -1;

  /** Restores the state from `config.snapshot` and starts the Raft peer. */
  constructor(config: KvServerConfig) {
    this.id = config.id;
    this.#clock = config.clock;
    this.#maxRaftStateBytes = config.maxRaftStateBytes;
    this.#applyTimeoutMs = config.applyTimeoutMs ?? DEFAULT_APPLY_TIMEOUT_MS;
    this.#leadershipCheckMs = config.leadershipCheckMs ?? DEFAULT_LEADERSHIP_CHECK_MS;
    this.#maxWaitingOperations = config.maxWaitingOperations ?? DEFAULT_MAX_WAITING_OPERATIONS;
    this.#readWaiters = new MinHeap(this.#maxWaitingOperations);
    this.#machine = new KvStateMachine({ historyRevisions: config.historyRevisions });
    this.#watches = new WatchPolls(this.#clock, () => this.#machine.store);
    this.#leases = new LeaseDeadlines(this.#clock);
    assert(
      this.#maxRaftStateBytes === -1 || this.#maxRaftStateBytes > 0,
      `Server ${this.id} cannot keep its Raft state below ${this.#maxRaftStateBytes} bytes`,
    );
    assert(this.#applyTimeoutMs > 0, `Apply timeout of ${this.#applyTimeoutMs} ms is not positive`);
    assert(
      this.#leadershipCheckMs > 0,
      `Check every ${this.#leadershipCheckMs} ms is not positive`,
    );
    if (config.snapshot !== null && config.snapshot.byteLength > 0) {
      this.#machine.restoreSnapshot(config.snapshot);
      this.#lastSnapshotIndex = this.#machine.appliedIndex;
    }
    this.handlers = {
      [KV_OPERATION_METHOD]: (args: unknown) => this.#receive(args),
      [KV_WATCH_METHOD]: (args: unknown) => {
        if (this.#killed) throw new Error(`Server ${this.id} is stopped`);
        const request = parseWatchRequest(args);
        this.#settleTerm();
        return this.#watches.poll(request);
      },
    };
    this.#raft = config.makeRaft((message) => this.#apply(message));
    this.#timeLeases();
  }

  /**
   * A watch answers from this replica's applied state, without a read index. After a leader
   * change, entries an earlier leader committed are applied only once the new leader commits an
   * entry of its own term (section 5.4.2), which, with no write or read coming, never happens: a
   * watcher would not see a write acknowledged just before the change. So once per term a
   * polled server asks for a read index, which makes a leader without an entry of its term
   * append its no-op; asked again at a later poll if it failed (no leader yet).
   */
  #settleTerm(): void {
    const { term } = this.#raft.getState();
    if (term === this.#settledTerm) return;
    this.#settledTerm = term;
    this.#raft.readIndex(false).catch(() => {
      if (this.#settledTerm === term) this.#settledTerm = 0;
    });
  }

  /** The last log index applied to the key/value state. */
  get appliedIndex(): number {
    return this.#machine.appliedIndex;
  }

  /** Whether `kill()` was called. */
  get killed(): boolean {
    return this.#killed;
  }

  /** The Raft peer's term and whether it believes it leads. */
  raftState(): RaftState {
    return this.#raft.getState();
  }

  /** Stops the server and its Raft peer; waiting operations are answered wrong-leader. */
  kill(): void {
    if (this.#killed) return;
    this.#killed = true;
    this.#raft.kill();
    this.#watches.close();
    this.#clock.clearTimeout(this.#leaseTimer);
    this.#leaseTimer = null;
    for (const waiter of [...this.#waiters.values()]) this.#answer(waiter, ERR_WRONG_LEADER, "");
    for (const waiter of this.#readWaiters.clear()) this.#answerRead(waiter, ERR_WRONG_LEADER);
  }

  #receive(args: unknown): KvReply | Promise<KvReply> {
    const problem = commandProblem(args);
    if (problem !== null) throw new Error(`Server ${this.id} refused an operation: ${problem}`);
    if (this.#killed) return { err: ERR_WRONG_LEADER, value: "" };
    const received = args as KvCommand;
    if (READ_KINDS.includes(received.kind)) return this.#read(received);
    if (received.kind === "lease-keepalive") return this.#keepAlive(received.lease ?? 0);
    if (received.kind === LEASE_EXPIRE_KIND) {
      throw new Error(`Server ${this.id} refused a lease-expire: only a leader proposes one`);
    }
    const command = loggedCommand(received);
    if (this.#waiters.size >= this.#maxWaitingOperations) return { err: ERR_TIMEOUT, value: "" };
    const started = this.#raft.start(command);
    if (!started.isLeader) return { err: ERR_WRONG_LEADER, value: "" };
    assert(
      started.index > this.#machine.appliedIndex,
      `Server ${this.id} got index ${started.index} for a new entry, but applied up to ${this.#machine.appliedIndex}`,
    );
    return new Promise((resolve) => {
      const replaced = this.#waiters.get(started.index);
      // An older leadership's entry at this index was overwritten: it can never be applied.
      if (replaced !== undefined) this.#answer(replaced, ERR_WRONG_LEADER, "");
      const waiter: Waiter = {
        command,
        index: started.index,
        term: started.term,
        deadlineMs: this.#clock.now() + this.#applyTimeoutMs,
        resolve,
        timer: null,
      };
      this.#waiters.set(started.index, waiter);
      this.#armCheck(waiter);
    });
  }

  /** A read: from the local state at once, or once a read index is applied. */
  #read(command: KvCommand): KvReply | Promise<KvReply> {
    const consistency = command.consistency ?? "linearizable";
    if (consistency === "serializable") return this.#machine.read(command);
    return this.#afterReadIndex(consistency === "lease", () => this.#machine.read(command));
  }

  /**
   * `answer()` once this server has applied up to a read index: the state then reflects every
   * write acknowledged before the call (and, asked of the leader, confirms it still leads).
   */
  #afterReadIndex(lease: boolean, answer: () => KvReply): KvReply | Promise<KvReply> {
    if (this.#readsWaiting + this.#waiters.size >= this.#maxWaitingOperations) {
      return { err: ERR_TIMEOUT, value: "" };
    }
    this.#readsWaiting++;
    return this.#raft.readIndex(lease).then(
      (index) => this.#whenApplied(answer, index),
      () => {
        this.#readsWaiting--;
        return { err: ERR_WRONG_LEADER, value: "" };
      },
    );
  }

  /**
   * A keep-alive: only the leader times leases, so it must still lead (confirmed by a read
   * index) and know the lease (applied up to that index).
   */
  #keepAlive(lease: number): KvReply | Promise<KvReply> {
    if (!this.#raft.getState().isLeader) return { err: ERR_WRONG_LEADER, value: "" };
    return this.#afterReadIndex(false, () => {
      this.#observeLeadership();
      if (!this.#leases.leading) return { err: ERR_WRONG_LEADER, value: "" };
      const ttlMs = this.#leases.keepAlive(lease);
      if (ttlMs === null) return { err: ERR_LEASE_NOT_FOUND, value: "", lease };
      return { err: OK, value: "", lease, ttlMs, revision: this.#machine.revision };
    });
  }

  #observeLeadership(): void {
    const state = this.#raft.getState();
    this.#leases.observe(state.isLeader, state.term, () => this.#machine.leases());
  }

  /**
   * While leases exist: follows who leads and, leading, proposes the expiry of every lease past
   * its deadline. Replicas delete a lease's keys only when that entry applies.
   */
  #timeLeases(): void {
    if (this.#killed || this.#leaseTimer !== null) return;
    if (this.#machine.store.leaseCount() === 0) {
      this.#leases.observe(false, 0, () => []);
      return;
    }
    this.#leaseTimer = this.#clock.setTimeout(() => {
      this.#leaseTimer = null;
      if (this.#killed) return;
      this.#observeLeadership();
      for (const lease of this.#leases.due(LEASE_EXPIRE_RETRY_MS)) {
        this.#raft.start({
          clientId: 0,
          sequence: 1,
          kind: LEASE_EXPIRE_KIND,
          key: "",
          value: "",
          lease,
        });
      }
      this.#timeLeases();
    }, LEASE_CHECK_MS);
  }

  /** Answers a read once the entries up to its read index are applied. */
  #whenApplied(answer: () => KvReply, index: number): KvReply | Promise<KvReply> {
    if (this.#killed) {
      this.#readsWaiting--;
      return { err: ERR_WRONG_LEADER, value: "" };
    }
    if (index <= this.#machine.appliedIndex) {
      this.#readsWaiting--;
      return answer();
    }
    return new Promise((resolve) => {
      const waiter: ReadWaiter = { answer, index, resolve, timer: null };
      // No leadership to watch: any server may serve it once applied; the clerk retries late ones.
      waiter.timer = this.#clock.setTimeout(() => {
        waiter.timer = null;
        this.#readWaiters.retain((other) => other !== waiter);
        this.#answerRead(waiter, ERR_TIMEOUT);
      }, this.#applyTimeoutMs);
      this.#readWaiters.push(index, waiter);
    });
  }

  #answerRead(waiter: ReadWaiter, err: KvReply["err"]): void {
    this.#readsWaiting--;
    this.#clock.clearTimeout(waiter.timer);
    waiter.timer = null;
    waiter.resolve(err === OK ? waiter.answer() : { err, value: "" });
  }

  /** Answers the Gets whose read index is now applied. */
  #answerAppliedReads(): void {
    const applied = this.#machine.appliedIndex;
    // Bounded by maxWaitingOperations.
    while (this.#readWaiters.size > 0 && this.#readWaiters.minKey <= applied) {
      this.#answerRead(this.#readWaiters.pop(), OK);
    }
  }

  /** Wakes the waiter at its next leadership check, or at its deadline if that comes first. */
  #armCheck(waiter: Waiter): void {
    const delayMs = Math.min(this.#leadershipCheckMs, waiter.deadlineMs - this.#clock.now());
    waiter.timer = this.#clock.setTimeout(() => this.#check(waiter), delayMs);
  }

  #check(waiter: Waiter): void {
    waiter.timer = null;
    if (this.#waiters.get(waiter.index) !== waiter) return;
    const state = this.#raft.getState();
    // A new term means a new leader may have replaced the entry; the clerk will find out.
    if (!state.isLeader || state.term !== waiter.term) {
      this.#answer(waiter, ERR_WRONG_LEADER, "");
    } else if (this.#clock.now() >= waiter.deadlineMs) {
      this.#answer(waiter, ERR_TIMEOUT, "");
    } else {
      this.#armCheck(waiter);
    }
  }

  #answer(waiter: Waiter, err: KvReply["err"], value: string): void {
    this.#answerWith(waiter, { err, value });
  }

  #answerWith(waiter: Waiter, reply: KvReply): void {
    assert(this.#waiters.get(waiter.index) === waiter, `Waiter at ${waiter.index} is not listed`);
    this.#waiters.delete(waiter.index);
    this.#clock.clearTimeout(waiter.timer);
    waiter.timer = null;
    waiter.resolve(reply);
  }

  #apply(message: ApplyMessage): void {
    if (this.#killed) return;
    if ("snapshotValid" in message) {
      this.#applySnapshot(message.snapshot, message.snapshotIndex);
      return;
    }
    const membership = "membershipValid" in message;
    const index = membership ? message.membershipIndex : message.commandIndex;
    // Covered by the snapshot this server started from or installed.
    if (index <= this.#machine.appliedIndex) return;
    // A membership entry changes no key: its index is applied as a skipped one.
    const command = membership ? undefined : message.command;
    const term = membership ? message.membershipTerm : message.commandTerm;
    const problem = membership ? "a membership entry" : commandProblem(command);
    let result: KvReply = { err: OK, value: "" };
    if (problem === null) {
      result = this.#machine.apply(index, command as KvCommand);
      this.#noteLeaseChange(command as KvCommand, result);
    } else {
      this.#machine.skip(index);
    }
    this.#watches.changed();
    const waiter = this.#waiters.get(index);
    if (waiter !== undefined) {
      const applied = command as KvCommand;
      const same = problem === null && term === waiter.term &&
        applied.clientId === waiter.command.clientId &&
        applied.sequence === waiter.command.sequence;
      if (same) this.#answerWith(waiter, result);
      else this.#answer(waiter, ERR_WRONG_LEADER, "");
    }
    this.#answerAppliedReads();
    this.#maybeSnapshot();
  }

  /** Keeps the leader's lease deadlines in step with the leases applied. */
  #noteLeaseChange(command: KvCommand, result: KvReply): void {
    if (result.err !== OK || result.lease === undefined) return;
    if (command.kind === "lease-grant") {
      this.#leases.granted(result.lease, result.ttlMs!);
      this.#timeLeases();
    } else if (command.kind === "lease-revoke" || command.kind === LEASE_EXPIRE_KIND) {
      this.#leases.ended(result.lease);
    }
  }

  #applySnapshot(snapshot: Uint8Array, snapshotIndex: number): void {
    if (snapshotIndex <= this.#machine.appliedIndex) return;
    this.#machine.restoreSnapshot(snapshot);
    assert(
      this.#machine.appliedIndex === snapshotIndex,
      `Server ${this.id} got snapshot ${snapshotIndex} holding state up to ${this.#machine.appliedIndex}`,
    );
    this.#lastSnapshotIndex = snapshotIndex;
    this.#watches.changed();
    // A new state may hold other leases: start timing afresh from it.
    this.#leases.observe(false, 0, () => []);
    this.#timeLeases();
    // Their entries are inside the snapshot or were replaced: which, this server cannot tell.
    for (const waiter of [...this.#waiters.values()]) {
      if (waiter.index <= snapshotIndex) this.#answer(waiter, ERR_WRONG_LEADER, "");
    }
    this.#answerAppliedReads();
  }

  /**
   * Hands Raft a snapshot once its persisted state nears the limit. Raft persists the trimmed
   * log only after this apply batch, so until the persisted size changes it still shows the
   * size before the last snapshot: asking again then would only encode the state once more.
   */
  #maybeSnapshot(): void {
    if (this.#maxRaftStateBytes === -1) return;
    const size = this.#raft.raftStateSize();
    if (size < this.#maxRaftStateBytes * SNAPSHOT_THRESHOLD_FRACTION) return;
    if (this.#machine.appliedIndex <= this.#lastSnapshotIndex) return;
    if (size === this.#raftStateSizeAtSnapshot) return;
    this.#raft.snapshot(this.#machine.appliedIndex, this.#machine.encodeSnapshot());
    this.#lastSnapshotIndex = this.#machine.appliedIndex;
    this.#raftStateSizeAtSnapshot = size;
  }
}
