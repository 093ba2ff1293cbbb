import { type Membership, membershipOfCommand, membershipProblem } from "./membership.ts";

/**
 * The messages Raft peers exchange, as plain data: numbers, booleans, strings, `Uint8Array`s,
 * arrays and plain objects only, so every message survives the MessagePack codec
 * (`rpc/codec.ts`) unchanged and can be compared field by field in tests.
 *
 * Six messages are requests and six are their replies:
 *
 * | request           | reply                  |
 * | ----------------- | ---------------------- |
 * | `PreVote`         | `PreVoteReply`         |
 * | `TimeoutNow`      | `TimeoutNowReply`      |
 * | `RequestVote`     | `RequestVoteReply`     |
 * | `AppendEntries`   | `AppendEntriesReply`   |
 * | `InstallSnapshot` | `InstallSnapshotReply` |
 * | `ReadIndex`       | `ReadIndexReply`       |
 *
 * Every message carries `from` and `to` (peer ids) and `term` (the sender's current term when it
 * sent the message).
 *
 * @module
 */

/** One entry of the replicated log. Treated as immutable once created. */
export interface Entry {
  /** Position in the log, counted from 1. */
  readonly index: number;
  /** Term of the leader that created the entry. */
  readonly term: number;
  /** The service's command, opaque to Raft; must be encodable by `rpc/codec.ts`. */
  readonly command: unknown;
}

/** A candidate asks for a vote (Figure 2, RequestVote RPC). */
export interface RequestVote {
  /** Discriminant. */
  readonly type: "RequestVote";
  /** The candidate. */
  readonly from: number;
  /** The peer asked for its vote. */
  readonly to: number;
  /** The candidate's term. */
  readonly term: number;
  /** Index of the candidate's last log entry (the snapshot index when the log is empty). */
  readonly lastLogIndex: number;
  /** Term of the candidate's last log entry (the snapshot term when the log is empty). */
  readonly lastLogTerm: number;
  /**
   * Present (and true) only when the candidate campaigns because its leader handed leadership
   * over ({@linkcode TimeoutNow}): voters then ignore their vote lease (they heard from that
   * leader just now, and it asked for this election).
   */
  readonly leadershipTransfer?: true;
}

/** The answer to a {@linkcode RequestVote}. */
export interface RequestVoteReply {
  /** Discriminant. */
  readonly type: "RequestVoteReply";
  /** The voter. */
  readonly from: number;
  /** The candidate. */
  readonly to: number;
  /** The voter's current term, after it saw the request. */
  readonly term: number;
  /** Whether the voter gave the candidate its vote for `term`. */
  readonly voteGranted: boolean;
}

/**
 * A peer whose election timer ran out asks whether it could win an election before it starts
 * one (the Raft thesis, section 9.6): `term` is the term it would campaign in, one above its own,
 * which it does not take. A peer that hears from a leader, or whose log is more up to date,
 * refuses; only with a majority's consent does the asker start a real election. So a peer that
 * was partitioned away, and whose elections failed there, cannot depose a healthy leader when it
 * comes back.
 */
export interface PreVote {
  /** Discriminant. */
  readonly type: "PreVote";
  /** The peer that would campaign. */
  readonly from: number;
  /** The peer asked. */
  readonly to: number;
  /** The term it would campaign in: its own term plus one. */
  readonly term: number;
  /** Index of its last log entry (the snapshot index when the log is empty). */
  readonly lastLogIndex: number;
  /** Term of its last log entry (the snapshot term when the log is empty). */
  readonly lastLogTerm: number;
}

/**
 * The answer to a {@linkcode PreVote}. Consent carries the request's term (which the answering
 * peer does not take either); a refusal carries the answering peer's own term.
 */
export interface PreVoteReply {
  /** Discriminant. */
  readonly type: "PreVoteReply";
  /** The peer asked. */
  readonly from: number;
  /** The peer that would campaign. */
  readonly to: number;
  /** The request's term on consent, the answering peer's term on refusal. */
  readonly term: number;
  /** Whether the peer would vote for the asker in `term`. */
  readonly voteGranted: boolean;
}

/**
 * A leader hands leadership over (the Raft thesis, section 3.10): the follower, whose log the
 * leader has just seen match its own, starts an election at once, without PreVote.
 */
export interface TimeoutNow {
  /** Discriminant. */
  readonly type: "TimeoutNow";
  /** The leader. */
  readonly from: number;
  /** The follower taking over. */
  readonly to: number;
  /** The leader's term. */
  readonly term: number;
}

/** The answer to a {@linkcode TimeoutNow}: whether the follower started the election. */
export interface TimeoutNowReply {
  /** Discriminant. */
  readonly type: "TimeoutNowReply";
  /** The follower. */
  readonly from: number;
  /** The leader. */
  readonly to: number;
  /** The follower's term when it answered. */
  readonly term: number;
  /** Whether it started an election. */
  readonly accepted: boolean;
}

/** The leader replicates entries, or sends a heartbeat when `entries` is empty. */
export interface AppendEntries {
  /** Discriminant. */
  readonly type: "AppendEntries";
  /** The leader. */
  readonly from: number;
  /** The follower. */
  readonly to: number;
  /** The leader's term. */
  readonly term: number;
  /** Index of the entry just before `entries` (0 when they start the log). */
  readonly prevLogIndex: number;
  /** Term of the entry at `prevLogIndex` (0 when `prevLogIndex` is 0). */
  readonly prevLogTerm: number;
  /** Entries `prevLogIndex + 1 …`, contiguous and in order; empty for a heartbeat. */
  readonly entries: readonly Entry[];
  /** The leader's commit index. */
  readonly leaderCommit: number;
  /**
   * The leader's read round when it sent this append (raft/read_rounds.ts); absent or 0 before
   * its first round. The reply echoes it.
   */
  readonly readRound?: number;
}

/**
 * The answer to an {@linkcode AppendEntries}.
 *
 * On success `matchIndex` is the last index the follower now holds identical to the leader's log
 * (`prevLogIndex + entries.length`, or the follower's snapshot index if that is higher).
 *
 * On a log mismatch (`success` false, `conflictIndex` ≥ 1) the hints let the leader back up over a
 * whole term in one round (the lab's XTerm/XIndex/XLen):
 * - the follower's log is too short: `conflictTerm` is -1 and `conflictIndex` is the follower's
 *   last index + 1;
 * - the entry at `prevLogIndex` has another term: `conflictTerm` is that term and `conflictIndex`
 *   the first index the follower holds with that term.
 *
 * A refusal because the request's term was stale has `conflictIndex` 0 and `conflictTerm` -1 (no
 * hint); its `term` is higher than the request's, which tells the sender to step down.
 *
 * A mismatch also names the request it refuses (`rejectedIndex`, its `prevLogIndex`): a leader
 * that streams appends may get a refusal of an append it has since superseded, and ignores it.
 */
export interface AppendEntriesReply {
  /** Discriminant. */
  readonly type: "AppendEntriesReply";
  /** The follower. */
  readonly from: number;
  /** The leader. */
  readonly to: number;
  /** The follower's current term, after it saw the request. */
  readonly term: number;
  /** Whether the follower's log now contains the request's entries. */
  readonly success: boolean;
  /** On success: the last index known to match the leader's log; 0 otherwise. */
  readonly matchIndex: number;
  /** On a mismatch: where the leader should look next (see above); 0 when there is no hint. */
  readonly conflictIndex: number;
  /** On a mismatch: the follower's term at `prevLogIndex`, or -1 (see above). */
  readonly conflictTerm: number;
  /** On a mismatch: the refused request's `prevLogIndex`; 0 otherwise. */
  readonly rejectedIndex: number;
  /** The request's `readRound`, when it had one and the term was current. */
  readonly readRound?: number;
}

/** The leader sends its whole latest snapshot to a follower that lags behind its log. */
export interface InstallSnapshot {
  /** The group's membership as of `lastIncludedIndex`: part of the replicated state. */
  readonly membership: Membership;
  /** Discriminant. */
  readonly type: "InstallSnapshot";
  /** The leader. */
  readonly from: number;
  /** The follower. */
  readonly to: number;
  /** The leader's term. */
  readonly term: number;
  /** The snapshot replaces every entry up to and including this index. */
  readonly lastIncludedIndex: number;
  /** Term of the entry at `lastIncludedIndex`. */
  readonly lastIncludedTerm: number;
  /** The service's snapshot bytes, whole. */
  readonly data: Uint8Array;
}

/**
 * The answer to an {@linkcode InstallSnapshot}. Unlike the paper's reply it also echoes how far
 * the follower now matches the leader, because the leader may receive replies late or twice and
 * must not guess which request a reply answers.
 */
export interface InstallSnapshotReply {
  /** Discriminant. */
  readonly type: "InstallSnapshotReply";
  /** The follower. */
  readonly from: number;
  /** The leader. */
  readonly to: number;
  /** The follower's current term, after it saw the request. */
  readonly term: number;
  /** The request's `lastIncludedIndex` when the term was current, else 0. */
  readonly matchIndex: number;
}

/**
 * A follower asks its leader for a read index on behalf of a read asked of it (the Raft thesis,
 * section 6.4): the leader answers once it has confirmed that it still leads, as for its own
 * reads (raft/read_rounds.ts), so the follower can serve the read once it has applied that far.
 */
export interface ReadIndex {
  /** Discriminant. */
  readonly type: "ReadIndex";
  /** The follower. */
  readonly from: number;
  /** The leader it follows. */
  readonly to: number;
  /** The follower's term. */
  readonly term: number;
  /** The follower's number for the read; the reply carries it back. */
  readonly readId: number;
  /** Present (and true) when a lease read will do (the leader may answer without a round). */
  readonly lease?: true;
}

/** The answer to a {@linkcode ReadIndex}. */
export interface ReadIndexReply {
  /** Discriminant. */
  readonly type: "ReadIndexReply";
  /** The leader (or the peer asked). */
  readonly from: number;
  /** The follower. */
  readonly to: number;
  /** The answering peer's term. */
  readonly term: number;
  /** The request's `readId`. */
  readonly readId: number;
  /** The read index; -1 when refused (the peer does not lead, or could not confirm in time). */
  readonly index: number;
}

/** A request: the driver sends it as an RPC call whose result is the matching reply. */
export type RequestMessage =
  | PreVote
  | RequestVote
  | AppendEntries
  | InstallSnapshot
  | TimeoutNow
  | ReadIndex;

/** A reply: the driver returns it as the result of the call that carried its request. */
export type ReplyMessage =
  | PreVoteReply
  | RequestVoteReply
  | AppendEntriesReply
  | InstallSnapshotReply
  | TimeoutNowReply
  | ReadIndexReply;

/** Any message between Raft peers, discriminated on `type`. */
export type Message = RequestMessage | ReplyMessage;

/** The `type` of every message, for switches and validation. */
export type MessageType = Message["type"];

/** Whether `message` is a request (it expects exactly one reply). */
export function isRequest(message: Message): message is RequestMessage {
  return message.type === "PreVote" || message.type === "RequestVote" ||
    message.type === "AppendEntries" || message.type === "InstallSnapshot" ||
    message.type === "TimeoutNow" || message.type === "ReadIndex";
}

/** The reply type that answers each request type. */
export const REPLY_TYPE_OF: Readonly<Record<RequestMessage["type"], ReplyMessage["type"]>> = {
  PreVote: "PreVoteReply",
  RequestVote: "RequestVoteReply",
  AppendEntries: "AppendEntriesReply",
  InstallSnapshot: "InstallSnapshotReply",
  TimeoutNow: "TimeoutNowReply",
  ReadIndex: "ReadIndexReply",
};

/** What a message field must be: a whole number (a safe integer) or a boolean. */
export type FieldKind = "number" | "boolean";

/** The fields each message type must have beyond `type`, `from`, `to` and `term`. */
const FIELDS: Readonly<Record<MessageType, Readonly<Record<string, FieldKind>>>> = {
  PreVote: { lastLogIndex: "number", lastLogTerm: "number" },
  PreVoteReply: { voteGranted: "boolean" },
  RequestVote: { lastLogIndex: "number", lastLogTerm: "number" },
  RequestVoteReply: { voteGranted: "boolean" },
  AppendEntries: { prevLogIndex: "number", prevLogTerm: "number", leaderCommit: "number" },
  AppendEntriesReply: {
    success: "boolean",
    matchIndex: "number",
    conflictIndex: "number",
    conflictTerm: "number",
    rejectedIndex: "number",
  },
  InstallSnapshot: { lastIncludedIndex: "number", lastIncludedTerm: "number" },
  InstallSnapshotReply: { matchIndex: "number" },
  TimeoutNow: {},
  TimeoutNowReply: { accepted: "boolean" },
  ReadIndex: { readId: "number" },
  ReadIndexReply: { readId: "number", index: "number" },
};

/** Upper bound on entries one message may carry when it is checked by {@linkcode messageProblem}. */
export const MAX_ENTRIES_PER_MESSAGE_CHECKED = 1_000_000;

/**
 * Why `value` (for instance a decoded network payload) is not a well-formed {@linkcode Message},
 * as a plain sentence, or `null` when it is one. Checks shapes and integer fields, not Raft
 * semantics; a driver should check untrusted input with this before `RaftCore.step`, which
 * asserts.
 */
export function messageProblem(value: unknown): string | null {
  const problem = shapeProblem(value, FIELDS);
  if (problem !== null) return problem;
  const message = value as Record<string, unknown>;
  const echoesRound = message.type === "AppendEntries" || message.type === "AppendEntriesReply";
  if (echoesRound && message.readRound !== undefined && !isWholeNumber(message.readRound)) {
    return `${message.type} field readRound is not a whole number`;
  }
  if (message.type === "AppendEntries") {
    return entriesProblem(message.entries, message.prevLogIndex as number);
  }
  if (message.type === "InstallSnapshot") {
    if (!(message.data instanceof Uint8Array)) {
      return "InstallSnapshot field data is not a byte array";
    }
    const problem = membershipProblem(message.membership);
    if (problem !== null) return `InstallSnapshot carries no sound membership: ${problem}`;
  }
  if (
    message.type === "RequestVote" && message.leadershipTransfer !== undefined &&
    message.leadershipTransfer !== true
  ) {
    return "RequestVote field leadershipTransfer is not true";
  }
  if (message.type === "ReadIndex" && message.lease !== undefined && message.lease !== true) {
    return "ReadIndex field lease is not true";
  }
  return null;
}

/**
 * Why `value` is not an object whose `type` is a key of `fields`, with whole-number `from`, `to`
 * and `term` and the fields listed for its type, or `null`: the check of shape that every kind of
 * message between peers shares (drivers' messages too); callers check what goes beyond it.
 */
export function shapeProblem(
  value: unknown,
  fields: Readonly<Record<string, Readonly<Record<string, FieldKind>>>>,
): string | null {
  if (!isPlainObject(value)) return "Message is not an object";
  const type = value.type;
  if (typeof type !== "string" || !Object.hasOwn(fields, type)) {
    return `Message type ${JSON.stringify(type)} is unknown`;
  }
  for (const name of ["from", "to", "term"]) {
    if (!isWholeNumber(value[name])) return `${type} has no whole-number field ${name}`;
  }
  for (const [name, kind] of Object.entries(fields[type])) {
    const field = value[name];
    const ok = kind === "number" ? Number.isSafeInteger(field) : typeof field === "boolean";
    if (!ok) return `${type} field ${name} is not a ${kind === "number" ? "whole number" : kind}`;
  }
  return null;
}

function entriesProblem(entries: unknown, prevLogIndex: number): string | null {
  if (!Array.isArray(entries)) return "AppendEntries field entries is not an array";
  if (entries.length > MAX_ENTRIES_PER_MESSAGE_CHECKED) {
    return `AppendEntries carries ${entries.length} entries, over the limit`;
  }
  for (let position = 0; position < entries.length; position++) {
    const entry: unknown = entries[position];
    const expectedIndex = prevLogIndex + 1 + position;
    if (!isPlainObject(entry) || entry.index !== expectedIndex || !isWholeNumber(entry.term)) {
      return `AppendEntries entry ${position} is not an entry with index ${expectedIndex}`;
    }
    const membership = membershipOfCommand(entry.command);
    const problem = membership === null ? null : membershipProblem(membership);
    if (problem !== null) {
      return `AppendEntries entry ${expectedIndex} is a membership entry, but ${problem}`;
    }
  }
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

function isWholeNumber(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * A cheap estimate of the MessagePack size of `value` in bytes, used to cap the bytes one
 * AppendEntries carries without encoding every command twice. Exact for byte arrays, numbers and
 * ASCII strings, low by up to 3x for other text; walks at most `budgetNodes` nodes and counts
 * any beyond as 9 bytes each.
 */
export function estimateEncodedBytes(value: unknown, budgetNodes = 1024): number {
  const pending: unknown[] = [value];
  let bytes = 0;
  let visited = 0;
  // Bounded by budgetNodes; whatever is left unvisited counts as small scalars.
  while (pending.length > 0 && visited < budgetNodes) {
    const next = pending.pop();
    visited++;
    if (next instanceof Uint8Array) {
      bytes += next.byteLength + lengthHeaderBytes(next.byteLength, 256);
    } else if (typeof next === "string") bytes += next.length + lengthHeaderBytes(next.length, 32);
    else if (typeof next === "number") bytes += numberBytes(next);
    else if (Array.isArray(next)) {
      bytes += lengthHeaderBytes(next.length, 16) + pushChildren(pending, next, budgetNodes);
    } else if (typeof next === "object" && next !== null) {
      const fields = Object.entries(next);
      for (const [key] of fields) bytes += key.length + 1;
      const values = fields.map(([, item]) => item);
      bytes += lengthHeaderBytes(fields.length, 16) + pushChildren(pending, values, budgetNodes);
    } else bytes += 1;
  }
  return bytes + 9 * pending.length;
}

/** MessagePack's header for a length: one byte below `fixedBelow`, else a prefix and 1-4 bytes. */
function lengthHeaderBytes(length: number, fixedBelow: number): number {
  if (length < fixedBelow) return 1;
  if (length < 256) return 2;
  return length < 65_536 ? 3 : 5;
}

function numberBytes(value: number): number {
  if (!Number.isInteger(value)) return 9;
  const magnitude = Math.abs(value);
  if (magnitude < 128) return 1;
  if (magnitude < 65_536) return 3;
  return magnitude < 4_294_967_296 ? 5 : 9;
}

/** Queues `children` for a visit, or returns their rough size when they would overflow. */
function pushChildren(pending: unknown[], children: readonly unknown[], budget: number): number {
  if (pending.length + children.length > budget) return 9 * children.length;
  for (const child of children) pending.push(child);
  return 0;
}
