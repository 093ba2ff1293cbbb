/**
 * Where a Raft driver keeps what must survive a crash, behind one interface so the same driver
 * runs on memory (`storage/memory_storage.ts`), on the lab's persister (`lab_api/`) and on files
 * (`storage/`).
 *
 * @module
 */
import type { HardState, LogChange, Snapshot } from "./ready.ts";
import type { Entry } from "./messages.ts";

/** One batch to make durable, straight from a core's Ready (see raft/ready.ts for the order). */
export interface PersistRequest {
  /** New term and vote, when they changed. */
  readonly hardState?: HardState;
  /** Entries to delete and append, when the log changed. */
  readonly logChange?: LogChange;
  /** A snapshot replacing the previous one and every entry at or below its index. */
  readonly snapshot?: Snapshot;
}

/** What a storage held when the peer (re)started: the parts of a core's configuration. */
export interface RestoredState {
  /** Term and vote; absent for a fresh peer. */
  readonly hardState?: HardState;
  /** The latest snapshot; absent when there is none. */
  readonly snapshot?: Snapshot;
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
}

/** Stable storage for one Raft peer. */
export interface RaftStorage {
  /** Reads what was persisted, once, when the peer starts. Throws when it is unreadable. */
  load(): RestoredState;
  /**
   * Makes `request` durable. Returns once it is (a Promise for storage that waits, such as
   * fsync); the driver sends and applies nothing that depends on it before then, and never
   * calls `persist` again before a previous call is done.
   */
  persist(request: PersistRequest): void | Promise<void>;
}
