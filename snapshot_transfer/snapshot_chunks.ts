/**
 * Snapshots in bounded chunks, so that a service state larger than one RPC frame can still reach
 * a lagging follower. The core knows nothing of chunks: it emits one {@linkcode InstallSnapshot}
 * holding the whole snapshot, and steps one whole InstallSnapshot on the follower. The drivers
 * (raft/node.ts) cut and join, with {@linkcode snapshotChunk} and {@linkcode SnapshotAssembler}.
 *
 * Wire format, all within `Raft.Step` calls:
 *
 * - A snapshot of at most `snapshotChunkBytes` bytes travels as the core's InstallSnapshot in one
 *   call, answered by the core's InstallSnapshotReply, exactly as before chunks existed.
 * - A larger one travels as {@linkcode InstallSnapshotChunk} calls, one at a time and in order.
 *   Each repeats the leader's term, its id (`from`), `lastIncludedIndex`, `lastIncludedTerm` and
 *   `totalBytes`, and carries the bytes from `offset`: `chunkBytes` of them in every chunk but
 *   the last, which has `done` set.
 * - The follower answers a chunk it took that is not the last with an
 *   {@linkcode InstallSnapshotChunkAck} whose `receivedBytes` is where the next chunk starts; the
 *   last one with its core's InstallSnapshotReply for the whole snapshot (after persisting it);
 *   and a chunk it refuses (of a stale term, out of order, of another snapshot than the one it
 *   is assembling, announcing more than its cap, or inconsistent) with an InstallSnapshotReply
 *   whose `matchIndex` is 0 and whose term is the follower's durable term. A refusal drops what
 *   the follower had assembled from that leader; the leader stops the transfer, and its core
 *   sends the snapshot again later (from offset 0), as it resends any request that got no reply.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { InstallSnapshot } from "../raft/messages.ts";
import type { Membership } from "../raft/membership.ts";
import type { InstallSnapshotChunk } from "./chunk_messages.ts";

/** Default size of a snapshot chunk (1 MiB): one RPC frame each, far below the frame limit. */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/**
 * Default cap on the size a follower accepts for a chunked snapshot (1 GiB): it allocates that
 * much at most for the snapshot it assembles.
 */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024;

/**
 * Upper bound on what one chunk's RPC frame adds to its data: the call envelope, the field
 * names and the numbers at their widest (checked by a test against the real encoding).
 */
export const SNAPSHOT_CHUNK_ENVELOPE_BYTES = 512;

/** The chunk of `request`'s snapshot that starts at `offset`: at most `chunkBytes` of it. */
export function snapshotChunk(
  request: InstallSnapshot,
  offset: number,
  chunkBytes: number,
): InstallSnapshotChunk {
  const totalBytes = request.data.length;
  assert(chunkBytes > 0, `Snapshot chunks of ${chunkBytes} bytes cannot carry anything`);
  assert(
    Number.isSafeInteger(offset) && offset >= 0 && (offset < totalBytes || offset === 0),
    `Cannot cut a chunk at byte ${offset} of a ${totalBytes}-byte snapshot`,
  );
  const end = Math.min(totalBytes, offset + chunkBytes);
  return {
    type: "InstallSnapshotChunk",
    from: request.from,
    to: request.to,
    term: request.term,
    lastIncludedIndex: request.lastIncludedIndex,
    lastIncludedTerm: request.lastIncludedTerm,
    membership: request.membership,
    offset,
    totalBytes,
    data: request.data.subarray(offset, end),
    done: end === totalBytes,
  };
}

/** Whether `a` and `b` carry the same snapshot from the same leader in the same term. */
export function sameSnapshot(
  a: Pick<InstallSnapshot, "from" | "term" | "lastIncludedIndex" | "lastIncludedTerm">,
  b: Pick<InstallSnapshot, "from" | "term" | "lastIncludedIndex" | "lastIncludedTerm">,
): boolean {
  return a.from === b.from && a.term === b.term && a.lastIncludedIndex === b.lastIncludedIndex &&
    a.lastIncludedTerm === b.lastIncludedTerm;
}

/** What became of a chunk given to {@linkcode SnapshotAssembler.accept}. */
export type ChunkOutcome =
  /** Taken; the snapshot is not complete yet. */
  | { readonly kind: "partial"; readonly receivedBytes: number }
  /** Taken, and it was the last: the whole snapshot, to step into the core. */
  | { readonly kind: "complete"; readonly snapshot: InstallSnapshot }
  /** Refused, for `reason` (a sentence); the sender must stop this transfer. */
  | { readonly kind: "refused"; readonly reason: string };

/** The snapshot being assembled: its identity, its bytes, and how many have arrived. */
interface PartialSnapshot {
  readonly from: number;
  readonly to: number;
  readonly term: number;
  readonly lastIncludedIndex: number;
  readonly lastIncludedTerm: number;
  readonly membership: Membership;
  readonly bytes: Uint8Array;
  receivedBytes: number;
}

/**
 * Joins the chunks of a snapshot on the follower, in order, in bounded memory. It holds at most
 * one partial snapshot, of at most `maxSnapshotBytes`: only the newest leader's transfer can be
 * of use, and two leaders never share a term. A chunk starting a transfer (offset 0) replaces
 * the partial snapshot unless that one is newer (a later term, or the same term and a later
 * index); any other chunk must continue the partial snapshot of its sender exactly where it
 * stopped, or the partial snapshot is dropped.
 */
export class SnapshotAssembler {
  readonly #maxSnapshotBytes: number;
  #partial: PartialSnapshot | null = null;

  /** An assembler that refuses snapshots announced above `maxSnapshotBytes`. */
  constructor(maxSnapshotBytes: number) {
    assert(
      Number.isSafeInteger(maxSnapshotBytes) && maxSnapshotBytes >= 0,
      `Snapshot cap ${maxSnapshotBytes} is not a whole number of bytes`,
    );
    this.#maxSnapshotBytes = maxSnapshotBytes;
  }

  /** Bytes allocated for the partial snapshot (its announced size), 0 without one. */
  get bufferedBytes(): number {
    return this.#partial?.bytes.length ?? 0;
  }

  /** The sender of the partial snapshot and how far it got, or null without one. */
  get partial(): { readonly from: number; readonly receivedBytes: number } | null {
    const partial = this.#partial;
    return partial === null ? null : { from: partial.from, receivedBytes: partial.receivedBytes };
  }

  /** Takes `chunk` (already checked by `chunkMessageProblem`), or says why it refuses it. */
  accept(chunk: InstallSnapshotChunk): ChunkOutcome {
    const problem = this.#chunkProblem(chunk);
    if (problem !== null) {
      this.discardFrom(chunk.from);
      return { kind: "refused", reason: problem };
    }
    if (chunk.offset === 0) return this.#start(chunk);
    const partial = this.#partial;
    if (partial === null || partial.from !== chunk.from) {
      return { kind: "refused", reason: `No snapshot from peer ${chunk.from} is being assembled` };
    }
    if (!sameSnapshot(partial, chunk) || partial.bytes.length !== chunk.totalBytes) {
      this.#partial = null;
      return {
        kind: "refused",
        reason: `Chunk of ${describe(chunk)} does not continue the snapshot being assembled, ` +
          describe({ ...partial, totalBytes: partial.bytes.length }),
      };
    }
    if (chunk.offset !== partial.receivedBytes) {
      this.#partial = null;
      return {
        kind: "refused",
        reason: `Chunk at byte ${chunk.offset} of ${
          describe(chunk)
        } is out of order: ${partial.receivedBytes} bytes have arrived`,
      };
    }
    return this.#append(partial, chunk);
  }

  /** Drops the partial snapshot if `peer` sent it (a whole snapshot or a stale term came). */
  discardFrom(peer: number): void {
    if (this.#partial?.from === peer) this.#partial = null;
  }

  /** Drops the partial snapshot, whoever sent it. */
  clear(): void {
    this.#partial = null;
  }

  /** Why `chunk` cannot be part of any snapshot this assembler would take, or null. */
  #chunkProblem(chunk: InstallSnapshotChunk): string | null {
    const { offset, totalBytes } = chunk;
    const length = chunk.data.length;
    if (totalBytes < 0 || totalBytes > this.#maxSnapshotBytes) {
      return `Snapshot of ${totalBytes} bytes is over the cap of ${this.#maxSnapshotBytes} bytes`;
    }
    if (offset < 0 || offset + length > totalBytes) {
      return `Chunk of ${length} bytes at byte ${offset} ends past the snapshot's ${totalBytes} bytes`;
    }
    if (chunk.done !== (offset + length === totalBytes)) {
      return `Chunk of ${length} bytes at byte ${offset} of ${totalBytes} says done is ${chunk.done}`;
    }
    // An empty chunk that is not the last would let a transfer go on without progress.
    if (length === 0 && !chunk.done) return `Chunk at byte ${offset} carries no bytes`;
    return null;
  }

  #start(chunk: InstallSnapshotChunk): ChunkOutcome {
    const partial = this.#partial;
    if (partial !== null && isNewer(partial, chunk)) {
      return {
        kind: "refused",
        reason:
          `A newer snapshot from peer ${partial.from} (term ${partial.term}, index ${partial.lastIncludedIndex}) is being assembled`,
      };
    }
    const started: PartialSnapshot = {
      from: chunk.from,
      to: chunk.to,
      term: chunk.term,
      lastIncludedIndex: chunk.lastIncludedIndex,
      lastIncludedTerm: chunk.lastIncludedTerm,
      membership: chunk.membership,
      bytes: new Uint8Array(chunk.totalBytes),
      receivedBytes: 0,
    };
    this.#partial = started;
    return this.#append(started, chunk);
  }

  #append(partial: PartialSnapshot, chunk: InstallSnapshotChunk): ChunkOutcome {
    assert(
      chunk.offset === partial.receivedBytes,
      `Chunk at byte ${chunk.offset} appended after ${partial.receivedBytes} bytes`,
    );
    // A copy: the chunk's bytes may be a view into a larger network buffer.
    partial.bytes.set(chunk.data, chunk.offset);
    partial.receivedBytes += chunk.data.length;
    if (!chunk.done) return { kind: "partial", receivedBytes: partial.receivedBytes };
    assert(
      partial.receivedBytes === partial.bytes.length,
      `Snapshot complete with ${partial.receivedBytes} of ${partial.bytes.length} bytes`,
    );
    this.#partial = null;
    return {
      kind: "complete",
      snapshot: {
        type: "InstallSnapshot",
        from: partial.from,
        to: partial.to,
        term: partial.term,
        lastIncludedIndex: partial.lastIncludedIndex,
        lastIncludedTerm: partial.lastIncludedTerm,
        membership: partial.membership,
        data: partial.bytes,
      },
    };
  }
}

/** Whether the partial snapshot is newer than the one `chunk` starts: a later term or index. */
function isNewer(partial: PartialSnapshot, chunk: InstallSnapshotChunk): boolean {
  if (partial.term !== chunk.term) return partial.term > chunk.term;
  return partial.lastIncludedIndex > chunk.lastIncludedIndex;
}

function describe(
  snapshot: Pick<
    InstallSnapshotChunk,
    "from" | "term" | "lastIncludedIndex" | "lastIncludedTerm" | "totalBytes"
  >,
): string {
  return `peer ${snapshot.from}'s snapshot up to entry ${snapshot.lastIncludedIndex} of term ${snapshot.lastIncludedTerm} (sent in term ${snapshot.term}, ${snapshot.totalBytes} bytes)`;
}
