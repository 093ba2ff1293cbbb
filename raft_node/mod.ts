/**
 * The Raft driver: {@linkcode RaftNode} connects a core (`raft/`) to a clock, peers and storage,
 * and sends large snapshots in chunks (`snapshot_transfer/`).
 *
 * @module
 */
export * from "./node.ts";
export * from "../snapshot_transfer/mod.ts";
