/**
 * A peer's stable storage in the safety simulation: it holds exactly what the peer's Ready
 * batches told it to persist, applied in the order of the core's driver contract, and can stop
 * part way through a batch to model a crash between two writes.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type HardState, NO_VOTE, type Ready, type Snapshot } from "../raft/ready.ts";
import type { Entry } from "../raft/messages.ts";

/** The steps of persisting one Ready, in the order the driver contract prescribes. */
export const PERSIST_STEPS = ["hard state", "truncate", "snapshot", "append"] as const;

/** How many steps persisting a whole Ready takes. */
export const PERSIST_STEP_COUNT: number = PERSIST_STEPS.length;

/** A read-only view of persisted state, as a restarted core receives it. */
export interface PersistedView {
  /** Term and vote. */
  readonly hardState: HardState;
  /** The latest snapshot (index 0, term 0 and no bytes without one). */
  readonly snapshot: Snapshot;
  /** Entries after the snapshot, contiguous from `snapshot.index + 1`. */
  readonly entries: readonly Entry[];
}

/** One peer's stable storage: survives crashes, changes only through {@linkcode persist}. */
export class MemoryStorage implements PersistedView {
  #hardState: HardState = { term: 0, votedFor: NO_VOTE };
  #snapshot: Snapshot = { index: 0, term: 0, data: new Uint8Array(0) };
  #entries: Entry[] = [];

  /** Term and vote. */
  get hardState(): HardState {
    return this.#hardState;
  }

  /** The latest snapshot. */
  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Entries after the snapshot. */
  get entries(): readonly Entry[] {
    return this.#entries;
  }

  /** The last index held, in an entry or as the snapshot's last index. */
  get lastIndex(): number {
    return this.#snapshot.index + this.#entries.length;
  }

  /** The term of the last index held. */
  get lastTerm(): number {
    const count = this.#entries.length;
    return count === 0 ? this.#snapshot.term : this.#entries[count - 1].term;
  }

  /**
   * Persists `ready`, or only its first `steps` steps (see {@linkcode PERSIST_STEPS}) when a
   * crash interrupts the batch. Each step is atomic, as an fsynced write is.
   */
  persist(ready: Ready, steps: number = PERSIST_STEP_COUNT): void {
    assert(
      Number.isSafeInteger(steps) && steps >= 0 && steps <= PERSIST_STEP_COUNT,
      `Cannot persist ${steps} steps of a Ready: there are ${PERSIST_STEP_COUNT}`,
    );
    const change = ready.logChange;
    if (steps >= 1 && ready.hardState !== undefined) this.#hardState = { ...ready.hardState };
    if (steps >= 2 && change?.truncateAfter !== undefined) {
      this.#truncateAfter(change.truncateAfter);
    }
    if (steps >= 3 && ready.snapshot !== undefined) this.#storeSnapshot(ready.snapshot);
    if (steps >= 4 && change !== undefined && change.append.length > 0) this.#append(change.append);
  }

  #truncateAfter(index: number): void {
    const keep = Math.max(0, index - this.#snapshot.index);
    if (keep < this.#entries.length) this.#entries = this.#entries.slice(0, keep);
  }

  #storeSnapshot(snapshot: Snapshot): void {
    const dropped = snapshot.index - this.#snapshot.index;
    // A snapshot older than the stored one would lose committed state.
    assert(
      dropped >= 0,
      `Cannot store snapshot ${snapshot.index}: storage holds snapshot ${this.#snapshot.index}`,
    );
    // The contract: entries at or below the snapshot go; the core truncates any that conflict.
    this.#entries = this.#entries.slice(Math.min(dropped, this.#entries.length));
    this.#snapshot = { ...snapshot, data: snapshot.data.slice() };
  }

  #append(entries: readonly Entry[]): void {
    const expected = this.lastIndex + 1;
    assert(
      entries[0].index === expected,
      `Cannot append entry ${entries[0].index}: storage ends at entry ${expected - 1}`,
    );
    for (const entry of entries) this.#entries.push({ ...entry });
  }
}
