/**
 * {@linkcode RaftStorage} in memory, in the manner of etcd's raft `MemoryStorage`: it holds
 * exactly what the persist requests told it, applied in the order of the driver contract
 * (raft/ready.ts), and nothing survives the process. Simulations and tests use it as a peer's
 * stable storage (it survives the peer's crashes because it outlives the core), and as the
 * reference for what any storage must restore after a sequence of requests.
 *
 * A crash part way through a write is modelled with {@linkcode MemoryStorage.persistPrefix}:
 * only the first steps of {@linkcode PERSIST_STEPS} happen, each of them atomic as an fsynced
 * write is.
 *
 * @module
 */
import { assert, AssertionError } from "../util/assert.ts";
import { type HardState, NO_VOTE, type Snapshot } from "../raft/ready.ts";
import type { Entry } from "../raft/messages.ts";
import type { PersistRequest, RaftStorage, RestoredState } from "../raft/storage.ts";

/** The steps of persisting one request, in the order the driver contract prescribes. */
export const PERSIST_STEPS = ["hard state", "truncate", "snapshot", "append"] as const;

/** One step of {@linkcode PERSIST_STEPS}. */
export type PersistStep = (typeof PERSIST_STEPS)[number];

/** How many steps persisting a whole request takes. */
export const PERSIST_STEP_COUNT: number = PERSIST_STEPS.length;

/** What a peer has persisted, as a restarted core receives it; parts never persisted read empty. */
export interface PersistedView {
  /** Term and vote (term 0 and no vote before any was persisted). */
  readonly hardState: HardState;
  /** The latest snapshot (index 0, term 0 and no bytes without one). */
  readonly snapshot: Snapshot;
  /** Entries after the snapshot, contiguous from `snapshot.index + 1`. */
  readonly entries: readonly Entry[];
}

const NO_HARD_STATE: HardState = Object.freeze({ term: 0, votedFor: NO_VOTE });
const NO_SNAPSHOT: Snapshot = Object.freeze({ index: 0, term: 0, data: new Uint8Array(0) });

/**
 * One peer's stable storage in memory: changes only through {@linkcode MemoryStorage.persist}
 * (or its crashing variant), keeps its own copies of what it is given, and asserts the log's
 * invariants on every change: entries contiguous after the snapshot, a snapshot never older
 * than the one held, appends starting right after the kept log.
 */
export class MemoryStorage implements RaftStorage, PersistedView {
  #hardState: HardState | undefined;
  #snapshot: Snapshot | undefined;
  #entries: Entry[] = [];

  /** Storage holding `restored` (default: nothing persisted yet); throws when it is not a log. */
  constructor(restored: RestoredState = { entries: [] }) {
    if (restored.hardState !== undefined) this.#storeHardState(restored.hardState);
    if (restored.snapshot !== undefined) this.#storeSnapshot(restored.snapshot);
    this.#append(restored.entries);
  }

  /** Term and vote. */
  get hardState(): HardState {
    return this.#hardState ?? NO_HARD_STATE;
  }

  /** The latest snapshot. */
  get snapshot(): Snapshot {
    return this.#snapshot ?? NO_SNAPSHOT;
  }

  /** Entries after the snapshot: a live view that later persists change (copy it to keep it). */
  get entries(): readonly Entry[] {
    return this.#entries;
  }

  /** The last index held, in an entry or as the snapshot's last index (0 when empty). */
  get lastIndex(): number {
    return this.snapshot.index + this.#entries.length;
  }

  /** The term of {@linkcode MemoryStorage.lastIndex}. */
  get lastTerm(): number {
    return this.#entries.at(-1)?.term ?? this.snapshot.term;
  }

  /** The term of the entry at `index`, which must be the snapshot's index or a held entry's. */
  termAt(index: number): number {
    const snapshot = this.snapshot;
    assert(
      index >= snapshot.index && index <= this.lastIndex,
      `Cannot read the term of entry ${index}: storage holds ${snapshot.index} to ${this.lastIndex}`,
    );
    return index === snapshot.index
      ? snapshot.term
      : this.#entries[index - snapshot.index - 1].term;
  }

  /** What was persisted: parts never persisted are absent, as a fresh peer's are. */
  load(): RestoredState {
    const restored: { -readonly [Field in keyof RestoredState]: RestoredState[Field] } = {
      entries: [...this.#entries],
    };
    if (this.#hardState !== undefined) restored.hardState = this.#hardState;
    if (this.#snapshot !== undefined) restored.snapshot = this.#snapshot;
    return restored;
  }

  /** Persists the whole of `request` (a core's Ready will do), synchronously. */
  persist(request: PersistRequest): void {
    this.persistPrefix(request, PERSIST_STEP_COUNT);
  }

  /**
   * Persists only the first `stepsMax` steps of `request` (see {@linkcode PERSIST_STEPS}), as a
   * crash part way through writing it leaves storage; a step counts whether or not the request
   * has a part for it, so `stepsMax` 0 writes nothing and {@linkcode PERSIST_STEP_COUNT} all.
   */
  persistPrefix(request: PersistRequest, stepsMax: number): void {
    assert(
      Number.isSafeInteger(stepsMax) && stepsMax >= 0 && stepsMax <= PERSIST_STEP_COUNT,
      `Cannot persist ${stepsMax} steps of a request: there are ${PERSIST_STEP_COUNT}`,
    );
    const change = request.logChange;
    if (stepsMax >= 1 && request.hardState !== undefined) this.#storeHardState(request.hardState);
    if (stepsMax >= 2 && change?.truncateAfter !== undefined) {
      this.#truncateAfter(change.truncateAfter);
    }
    if (stepsMax >= 3 && request.snapshot !== undefined) this.#storeSnapshot(request.snapshot);
    if (stepsMax >= 4 && change !== undefined) this.#append(change.append);
  }

  #storeHardState(hardState: HardState): void {
    this.#hardState = { term: hardState.term, votedFor: hardState.votedFor };
  }

  /** Deletes the entries after `index` (all of them when `index` is at or below the snapshot). */
  #truncateAfter(index: number): void {
    const keep = Math.max(0, index - this.snapshot.index);
    if (keep < this.#entries.length) this.#entries = this.#entries.slice(0, keep);
  }

  /** Replaces the snapshot, then deletes the entries it covers (the driver contract's step c). */
  #storeSnapshot(snapshot: Snapshot): void {
    const dropped = snapshot.index - this.snapshot.index;
    // A snapshot older than the stored one would lose committed state.
    assert(
      Number.isSafeInteger(snapshot.index) && dropped >= 0,
      `Cannot store snapshot ${snapshot.index}: storage holds snapshot ${this.snapshot.index}`,
    );
    // Entries after the snapshot stay: the core truncates any that conflict with it first.
    this.#entries = this.#entries.slice(Math.min(dropped, this.#entries.length));
    const { index, term, data, membership } = snapshot;
    this.#snapshot = membership === undefined
      ? { index, term, data: data.slice() }
      : { index, term, data: data.slice(), membership };
  }

  /** Adds `entries` at the end, checking all of them first so that a refusal changes nothing. */
  #append(entries: readonly Entry[]): void {
    const first = this.lastIndex + 1;
    const gap = entries.findIndex((entry, position) => entry.index !== first + position);
    if (gap !== -1) {
      const before = gap === 0
        ? `storage ends at entry ${first - 1}`
        : `the entry before it is ${entries[gap - 1].index}`;
      throw new AssertionError(`Cannot append entry ${entries[gap].index}: ${before}`);
    }
    for (const entry of entries) this.#entries.push({ ...entry });
  }
}
