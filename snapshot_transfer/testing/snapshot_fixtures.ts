/**
 * Snapshots and their chunks for the tests of chunked snapshot transfer.
 *
 * @module
 */
import type { InstallSnapshot } from "../../raft/messages.ts";
import type { InstallSnapshotChunk } from "../chunk_messages.ts";
import { snapshotChunk } from "../snapshot_chunks.ts";

/** Bytes `seed`, `seed + 1` … (mod 251), so that a misplaced or stale chunk shows. */
export function patternBytes(length: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, position) => (position + seed) % 251);
}

/** An InstallSnapshot from leader 1 of term 4 to peer 0, up to entry 30 of term 3. */
export function snapshotRequest(
  bytes: number,
  fields: Partial<InstallSnapshot> = {},
): InstallSnapshot {
  return {
    type: "InstallSnapshot",
    from: 1,
    to: 0,
    term: 4,
    lastIncludedIndex: 30,
    lastIncludedTerm: 3,
    data: patternBytes(bytes),
    membership: { voters: [0, 1, 2], learners: [], addresses: {} },
    ...fields,
  };
}

/** Every chunk of `request`, in order, as a sending driver cuts them. */
export function chunksOf(request: InstallSnapshot, chunkBytes: number): InstallSnapshotChunk[] {
  const chunks = [snapshotChunk(request, 0, chunkBytes)];
  // Bounded by the snapshot's size: every chunk but the last carries chunkBytes.
  while (!(chunks.at(-1) as InstallSnapshotChunk).done) {
    const last = chunks.at(-1) as InstallSnapshotChunk;
    chunks.push(snapshotChunk(request, last.offset + last.data.length, chunkBytes));
  }
  return chunks;
}
