/**
 * The two messages only drivers exchange, never a core: a piece of a snapshot larger than one
 * chunk, and the acknowledgement of every piece but the last. They travel in the same
 * `Raft.Step` calls as the core's messages (raft/messages.ts), and share their shape: plain
 * data with `type`, `from`, `to` and `term`. snapshot_chunks.ts describes the protocol.
 *
 * @module
 */
import { type FieldKind, shapeProblem } from "../raft/messages.ts";
import { type Membership, membershipProblem } from "../raft/membership.ts";

/**
 * One piece of a snapshot larger than one chunk (the paper's InstallSnapshot with `offset` and
 * `done`). The leader's driver cuts its core's `InstallSnapshot` into chunks of at most
 * its `snapshotChunkBytes` and sends them one at a time, in order; the follower's driver joins
 * them and steps its core with the whole InstallSnapshot once the last one arrived.
 */
export interface InstallSnapshotChunk {
  /** Discriminant. */
  readonly type: "InstallSnapshotChunk";
  /** The leader. */
  readonly from: number;
  /** The follower. */
  readonly to: number;
  /** The leader's term, as in the InstallSnapshot the chunk is cut from. */
  readonly term: number;
  /** The snapshot replaces every entry up to and including this index. */
  readonly lastIncludedIndex: number;
  /** Term of the entry at `lastIncludedIndex`. */
  readonly lastIncludedTerm: number;
  /** The group's membership as of `lastIncludedIndex`; the same in every chunk. */
  readonly membership: Membership;
  /** Where `data` starts in the snapshot's bytes. */
  readonly offset: number;
  /** The whole snapshot's size in bytes; the same in every chunk of one snapshot. */
  readonly totalBytes: number;
  /** The snapshot's bytes from `offset` on; empty only when `totalBytes` is 0. */
  readonly data: Uint8Array;
  /** Whether this is the last chunk: true exactly when `offset + data.length === totalBytes`. */
  readonly done: boolean;
}

/**
 * A follower took an {@linkcode InstallSnapshotChunk} that was not the last: the leader may send
 * the next one. (The last chunk is answered by the core's `InstallSnapshotReply`, and
 * a refused chunk by an InstallSnapshotReply with `matchIndex` 0.)
 */
export interface InstallSnapshotChunkAck {
  /** Discriminant. */
  readonly type: "InstallSnapshotChunkAck";
  /** The follower. */
  readonly from: number;
  /** The leader. */
  readonly to: number;
  /** The follower's durable term. */
  readonly term: number;
  /** Bytes of the snapshot the follower now holds: where the next chunk must start. */
  readonly receivedBytes: number;
}

/** A message only drivers exchange. */
export type ChunkMessage = InstallSnapshotChunk | InstallSnapshotChunkAck;

/** The fields each chunk message must have beyond `type`, `from`, `to` and `term`. */
const CHUNK_FIELDS: Readonly<Record<ChunkMessage["type"], Readonly<Record<string, FieldKind>>>> = {
  InstallSnapshotChunk: {
    lastIncludedIndex: "number",
    lastIncludedTerm: "number",
    offset: "number",
    totalBytes: "number",
    done: "boolean",
  },
  InstallSnapshotChunkAck: { receivedBytes: "number" },
};

/** Whether `value` claims to be a message of type `type` (true of malformed ones too). */
export function hasType(value: unknown, type: ChunkMessage["type"]): boolean {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === type;
}

/**
 * Why `value` (for instance a decoded network payload) is not a well-formed
 * {@linkcode ChunkMessage}, as a plain sentence, or `null` when it is one. Checks shapes and
 * integer fields; the assembler checks offsets and sizes.
 */
export function chunkMessageProblem(value: unknown): string | null {
  const problem = shapeProblem(value, CHUNK_FIELDS);
  if (problem !== null) return problem;
  const message = value as Record<string, unknown>;
  if (message.type === "InstallSnapshotChunk") {
    if (!(message.data instanceof Uint8Array)) {
      return "InstallSnapshotChunk field data is not a byte array";
    }
    const problem = membershipProblem(message.membership);
    if (problem !== null) return `InstallSnapshotChunk carries no sound membership: ${problem}`;
  }
  return null;
}
