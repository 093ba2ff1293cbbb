/**
 * Raft for dsys: the pure state machine ({@linkcode RaftCore}), its log and its messages; the
 * driver ({@linkcode RaftNode}) that connects a core to a clock, peers and storage; the lab's
 * in-memory {@linkcode Persister} and API (`make`). See core.ts for the driver contract.
 *
 * @module
 */
export * from "./core.ts";
export * from "./log.ts";
export * from "./messages.ts";
export * from "./node.ts";
export * from "./storage.ts";
export * from "./persister.ts";
export * from "./lab.ts";
export { FileStorage, type FileStorageOptions } from "./file_storage.ts";
export { CorruptFileError } from "./atomic_file.ts";
export type { Random } from "../util/random.ts";
export type { Clock, TimerHandle } from "../util/clock.ts";
export type { FileSystem } from "./file_system.ts";
