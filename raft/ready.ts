/**
 * The driver contract of the Raft core: the {@linkcode Ready} batch the core hands out and what
 * a driver must do with it, and the persistent state it carries.
 *
 * ## The Ready batch
 *
 * Inputs only change memory. What must happen in the world is collected into a
 * {@linkcode Ready}. The driver loop is:
 *
 * ```ts
 * while (core.hasReady()) {
 *   const ready = core.ready();
 *   // 1. Send ready.messagesBeforePersist (a leader's AppendEntries and InstallSnapshot
 *   //    requests only): they may leave while step 2 runs.
 *   // 2. Persist, durably (fsync), in this order:
 *   //    a. ready.hardState (term and vote);
 *   //    b. if ready.logChange?.truncateAfter is present: delete persisted entries after it;
 *   //    c. ready.snapshot: store it (replacing the old one), then delete persisted entries at
 *   //       or below its index;
 *   //    d. ready.logChange?.append: add to the end of the persisted log.
 *   // 3. Only then send ready.messages: requests as RPC calls, replies as the results of the
 *   //    calls that carried their requests (see "Requests and replies" below).
 *   // 4. Apply ready.snapshotToApply (if present) to the service, then
 *   //    ready.committedEntries in order. The service may call core.compact() meanwhile.
 *   core.advance(ready);
 * }
 * ```
 *
 * The order in step 2 keeps storage consistent after a crash at any point (at worst it holds a
 * prefix of the log); a driver that writes a whole Ready atomically, like the simulation's
 * persister, may apply the parts in any order. A driver may also persist the whole state
 * instead of the changes: `term`, `votedFor`, the latest snapshot, and `log.slice(
 * log.firstIndex, log.lastIndex + 1)` read after `ready()`, since persisting more than the
 * Ready asks is harmless. On restart the driver passes what it persisted to the constructor.
 *
 * ## Sending before persisting (section 10.2.1 of the Raft thesis)
 *
 * A leader may send its entries to followers while it writes them to its own disk, so that
 * the two fsyncs of a commit (the leader's and the followers') overlap instead of following
 * each other. This is safe because the leader counts itself toward the commit majority only
 * for entries it has persisted (its durable index, learnt in `advance`): an entry commits once
 * a majority holds it durably, whoever that majority is. If the leader crashes before its own
 * write, the entry may survive on followers and be committed by a later leader, or be lost
 * uncommitted; either is allowed. Everything else waits for the persist: every reply (a vote or
 * an acknowledgement promises what is on disk), every RequestVote, and a leader's requests in
 * a Ready that changes the hard state (the term they carry must be durable first). So
 * `messagesBeforePersist` holds only a leader's AppendEntries and InstallSnapshot requests, in
 * a Ready without `hardState`. A driver that ignores the distinction and sends both lists
 * after persisting is still correct, only slower.
 *
 * Inputs may be given between `ready()` and `advance()` (for instance messages that arrive while
 * the driver waits for fsync, such as followers' acknowledgements of the entries sent early);
 * what they produce goes into the next Ready. `ready()` may not be called again until the
 * previous Ready has been advanced, and `hasReady()` answers false while a Ready is
 * outstanding, so after `advance` the driver asks `hasReady()` again. `advance` promises that
 * the Ready's persist is done.
 *
 * ## Requests and replies
 *
 * The network is request/reply, like the lab's labrpc. Messages of type `RequestVote`,
 * `AppendEntries` and `InstallSnapshot` in either list are requests: the driver makes one
 * RPC call per request to `message.to`. On the receiving side the driver steps the request, and
 * stepping a request always produces exactly one reply message addressed back to the requester
 * (`RequestVoteReply`, `AppendEntriesReply` or `InstallSnapshotReply`, see `REPLY_TYPE_OF`),
 * which comes out in the messages of the next Ready handed out, the same Ready that lists for
 * persistence whatever the reply depends on (a granted vote, appended entries, a snapshot).
 * Replies come out in the order their requests were stepped, so the receiving driver pairs them
 * with its pending calls first in, first out, per (requester, request type), and returns each
 * reply as the call's result once step 2 is done. The calling driver then steps the reply it
 * received. A call that fails (request or reply dropped, timeout, peer dead) is simply
 * forgotten: the core tolerates replies that come late, twice, or never, and retries on its own
 * at the next heartbeat.
 *
 * One request is answered later: a `ReadIndex` (a follower's read, forwarded to its leader) gets
 * its `ReadIndexReply` once the leader has confirmed or refused the read, within an election
 * timeout, possibly after replies to later requests. The reply names its read (`readId`), so
 * the driver may pair it with any call of that requester waiting for a `ReadIndexReply`.
 *
 * ## Reads
 *
 * `RaftCore.readIndex` asks for a read index; its outcome comes out in `readStates` of a later
 * Ready, exactly once per read. It depends on nothing being persisted: the driver hands it to
 * the service at once (in step 1), and the service answers the read once it has applied the
 * entries up to its index.
 *
 * @module
 */
import type { Entry, Message } from "./messages.ts";
import type { Membership } from "./membership.ts";

/** `votedFor` when the peer has not voted in its current term. */
export const NO_VOTE: number = -1;

/** What Raft must persist besides the log (Figure 2, "persistent state"). */
export interface HardState {
  /** The latest term the peer has seen. */
  readonly term: number;
  /** The candidate voted for in `term`, or {@linkcode NO_VOTE}. */
  readonly votedFor: number;
}

/** A snapshot of the service's state covering every entry up to `index`. */
export interface Snapshot {
  /** The last index the snapshot covers. */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  /** The service's bytes. */
  readonly data: Uint8Array;
  /**
   * The group's membership as of `index`. Absent only in a snapshot taken before memberships
   * were recorded: the bootstrap membership is meant then.
   */
  readonly membership?: Membership;
}

/**
 * How the persisted log must change. If `truncateAfter` is present, delete every persisted
 * entry with an index above it first. Then append `append`: contiguous entries that start right
 * after the last entry still persisted (or right after the snapshot index, whichever is higher).
 */
export interface LogChange {
  /** Delete persisted entries with an index above this one. Absent: delete nothing. */
  readonly truncateAfter?: number;
  /** Entries to add at the end of the persisted log, in order. May be empty. */
  readonly append: readonly Entry[];
}

/**
 * One batch of work for the driver: see the module documentation for the exact order. Optional
 * fields are absent (not undefined) when there is nothing of that kind to do.
 */
export interface Ready {
  /** The hard state to persist, present only when it changed since the last Ready. */
  readonly hardState?: HardState;
  /** How the persisted log must change, present only when it did. */
  readonly logChange?: LogChange;
  /**
   * A snapshot to persist (replacing the previous one, together with dropping persisted
   * entries at or below its index). It comes from `RaftCore.compact` or from a
   * leader's InstallSnapshot; in the latter case it is also in `snapshotToApply`.
   */
  readonly snapshot?: Snapshot;
  /**
   * Requests that may be sent before (or while) the persist above runs: only a leader's
   * AppendEntries and InstallSnapshot, and only in a Ready without `hardState`. Send them
   * before `messages`.
   */
  readonly messagesBeforePersist: readonly Message[];
  /** Messages to send only after everything above is durable: every reply and vote. */
  readonly messages: readonly Message[];
  /**
   * A snapshot from the leader that the service must load, before `committedEntries`; every
   * entry in `committedEntries` then has a higher index.
   */
  readonly snapshotToApply?: Snapshot;
  /** Committed entries to apply in order; their indexes are consecutive. */
  readonly committedEntries: readonly Entry[];
  /** Outcomes of reads asked with `RaftCore.readIndex`, present only when there are any. */
  readonly readStates?: readonly ReadState[];
}

/** The outcome of a read asked with `RaftCore.readIndex`. */
export interface ReadState {
  /** The number the driver gave the read. */
  readonly id: number;
  /**
   * The read index: the service may answer the read from its state once it has applied every
   * entry up to here. -1 when the read was refused: this peer neither leads nor reached a
   * leader that could confirm it, so the client should try again, possibly elsewhere.
   */
  readonly index: number;
}

/**
 * Whether persisting `ready` writes anything (term and vote, the log, a snapshot). A driver skips
 * the persist, and its fsync, for a Ready that writes nothing.
 */
export function writesToStorage(ready: Ready): boolean {
  return ready.hardState !== undefined || ready.logChange !== undefined ||
    ready.snapshot !== undefined;
}
