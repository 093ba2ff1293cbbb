/**
 * Storage for a Raft peer: {@linkcode MemoryStorage} in memory (the simulations, tests and
 * benchmarks), and durable storage: {@linkcode FileStorage} keeps term and vote, the snapshot and
 * an append-only checksummed log in one folder, writes every replaced file atomically (temp file,
 * fsync, rename, fsync of the folder) and refuses files of another cluster or node. Every file
 * operation goes through a {@linkcode FileSystem}, the seam where tests inject crashes.
 *
 * @module
 */
export { FileStorage, type FileStorageOptions } from "./file_storage.ts";
export { CorruptFileError } from "./atomic_file.ts";
export type { FileSystem } from "./file_system.ts";
export {
  MemoryStorage,
  PERSIST_STEP_COUNT,
  PERSIST_STEPS,
  type PersistedView,
  type PersistStep,
} from "./memory_storage.ts";
