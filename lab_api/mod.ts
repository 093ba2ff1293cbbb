/**
 * The lab's Raft API on dsys's driver: `make` returns a peer with `start`, `getState`,
 * `snapshot` and an apply stream, persisting through the lab's in-memory {@linkcode Persister}
 * as {@linkcode PersisterStorage}, so the lab suites run the same driver as real peers.
 *
 * @module
 */
export * from "./persister.ts";
export * from "./lab_raft.ts";
export { PersisterStorage } from "./persister_storage.ts";
