/**
 * How a snapshot travels between Raft drivers: in bounded chunks when it is larger than one
 * chunk, so a service state above the RPC frame limit still reaches a lagging follower. The
 * sending driver cuts with {@linkcode snapshotChunk}; the receiving one joins with a
 * {@linkcode SnapshotAssembler}; the Raft core sees one whole InstallSnapshot either way.
 *
 * @example
 * ```ts
 * import { DEFAULT_SNAPSHOT_CHUNK_BYTES } from "./mod.ts";
 *
 * console.log(`snapshots travel in chunks of ${DEFAULT_SNAPSHOT_CHUNK_BYTES} bytes`);
 * ```
 *
 * @module
 */
export * from "./chunk_messages.ts";
export * from "./snapshot_chunks.ts";
