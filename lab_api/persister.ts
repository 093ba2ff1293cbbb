/**
 * The lab's `Persister`: an in-memory stand-in for stable storage that holds Raft's state and
 * the service's snapshot as bytes. The simulated crash of a server keeps only what was saved
 * here, and a restarted server gets a {@linkcode Persister.copy}, so the dead incarnation can
 * never touch what the new one reads.
 *
 * @module
 */

const EMPTY_BYTES = new Uint8Array(0);

/** Raft state and snapshot bytes, replaced together by each {@linkcode Persister.save}. */
export class Persister {
  #raftState: Uint8Array = EMPTY_BYTES;
  #snapshot: Uint8Array | null = null;

  /**
   * Replaces the saved Raft state and snapshot together, as the lab's `Save` does: null saves
   * no snapshot, so a caller that has one passes it again with every new Raft state. The bytes
   * are kept, not copied: callers hand over arrays they no longer change.
   */
  save(raftState: Uint8Array, snapshot: Uint8Array | null): void {
    this.#raftState = raftState;
    this.#snapshot = snapshot;
  }

  /** The saved Raft state; empty when nothing was saved. */
  readRaftState(): Uint8Array {
    return this.#raftState;
  }

  /** The saved snapshot, or null when none was saved. */
  readSnapshot(): Uint8Array | null {
    return this.#snapshot;
  }

  /** Bytes of the saved Raft state (the lab's `RaftStateSize`, checked against MAXLOGSIZE). */
  raftStateSize(): number {
    return this.#raftState.byteLength;
  }

  /** A new persister holding the same bytes; saving to either leaves the other unchanged. */
  copy(): Persister {
    const copy = new Persister();
    copy.#raftState = this.#raftState;
    copy.#snapshot = this.#snapshot;
    return copy;
  }
}
