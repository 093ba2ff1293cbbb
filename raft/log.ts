/**
 * The Raft log in memory: the entries after the latest snapshot, plus the index and term the
 * snapshot ends at. It hides the snapshot offset so the core never does index arithmetic of its
 * own, and it checks every index it is given.
 *
 * Indexes count from 1. The snapshot covers indexes 1 … `snapshotIndex` (none when it is 0); the
 * entries held are `firstIndex` … `lastIndex`, where `firstIndex` is always `snapshotIndex + 1`.
 * The log is empty when `lastIndex === snapshotIndex`. Terms never decrease along the log, which
 * lets the term searches below run in logarithmic time.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Entry } from "./messages.ts";

/** What the core lets others read of its log. Entries returned are shared: do not modify them. */
export interface ReadonlyRaftLog {
  /** The last index the snapshot covers; 0 without a snapshot. */
  readonly snapshotIndex: number;
  /** The term of the entry at `snapshotIndex`; 0 without a snapshot. */
  readonly snapshotTerm: number;
  /** The first index held as an entry (`snapshotIndex + 1`), even when the log is empty. */
  readonly firstIndex: number;
  /** The last index in the log, or `snapshotIndex` when no entry follows the snapshot. */
  readonly lastIndex: number;
  /** The term at `lastIndex`. */
  readonly lastTerm: number;
  /** The term at `index`, for `snapshotIndex ≤ index ≤ lastIndex`. */
  term(index: number): number;
  /** The entry at `index`, for `firstIndex ≤ index ≤ lastIndex`. */
  entry(index: number): Entry;
  /** Entries `from … toExclusive - 1`, for `firstIndex ≤ from ≤ toExclusive ≤ lastIndex + 1`. */
  slice(from: number, toExclusive: number): Entry[];
}

/** Where a log starts: its snapshot and the entries that follow it. */
export interface RaftLogState {
  /** The last index the snapshot covers; 0 without a snapshot. */
  readonly snapshotIndex: number;
  /** The term at `snapshotIndex`; 0 without a snapshot. */
  readonly snapshotTerm: number;
  /** Entries `snapshotIndex + 1 …`, contiguous, terms never decreasing. */
  readonly entries: readonly Entry[];
}

/** The in-memory Raft log. Only the core mutates it; see {@linkcode ReadonlyRaftLog}. */
export class RaftLog implements ReadonlyRaftLog {
  #snapshotIndex: number;
  #snapshotTerm: number;
  /** `#entries[i]` has index `#snapshotIndex + 1 + i`. */
  #entries: Entry[] = [];

  /** Creates an empty log, or one restored from `state`; checks that the entries fit. */
  constructor(state: RaftLogState = { snapshotIndex: 0, snapshotTerm: 0, entries: [] }) {
    assert(
      Number.isSafeInteger(state.snapshotIndex) && state.snapshotIndex >= 0,
      `Cannot start a log at snapshot index ${state.snapshotIndex}: it is not a whole number`,
    );
    assert(
      Number.isSafeInteger(state.snapshotTerm) && state.snapshotTerm >= 0,
      `Cannot start a log at snapshot term ${state.snapshotTerm}: it is not a whole number`,
    );
    assert(
      (state.snapshotIndex === 0) === (state.snapshotTerm === 0),
      `Cannot start a log at snapshot index ${state.snapshotIndex} with term ${state.snapshotTerm}`,
    );
    this.#snapshotIndex = state.snapshotIndex;
    this.#snapshotTerm = state.snapshotTerm;
    this.append(state.entries);
  }

  /** The last index the snapshot covers; 0 without a snapshot. */
  get snapshotIndex(): number {
    return this.#snapshotIndex;
  }

  /** The term at `snapshotIndex`; 0 without a snapshot. */
  get snapshotTerm(): number {
    return this.#snapshotTerm;
  }

  /** The first index held as an entry (`snapshotIndex + 1`), even when the log is empty. */
  get firstIndex(): number {
    return this.#snapshotIndex + 1;
  }

  /** The last index in the log, or `snapshotIndex` when no entry follows the snapshot. */
  get lastIndex(): number {
    return this.#snapshotIndex + this.#entries.length;
  }

  /** The term at `lastIndex`. */
  get lastTerm(): number {
    return this.term(this.lastIndex);
  }

  /** The term at `index`, for `snapshotIndex ≤ index ≤ lastIndex`. */
  term(index: number): number {
    this.#checkIndex(index, "read the term of entry");
    assert(
      index >= this.#snapshotIndex,
      `Cannot read the term of entry ${index}: it is compacted into the snapshot at ${this.#snapshotIndex}`,
    );
    if (index === this.#snapshotIndex) return this.#snapshotTerm;
    return this.#entries[index - this.#snapshotIndex - 1].term;
  }

  /** The entry at `index`, for `firstIndex ≤ index ≤ lastIndex`. */
  entry(index: number): Entry {
    this.#checkIndex(index, "read entry");
    assert(
      index > this.#snapshotIndex,
      `Cannot read entry ${index}: it is compacted into the snapshot at ${this.#snapshotIndex}`,
    );
    return this.#entries[index - this.#snapshotIndex - 1];
  }

  /** Entries `from … toExclusive - 1`, for `firstIndex ≤ from ≤ toExclusive ≤ lastIndex + 1`. */
  slice(from: number, toExclusive: number): Entry[] {
    assert(
      Number.isSafeInteger(from) && Number.isSafeInteger(toExclusive) && from <= toExclusive,
      `Cannot slice entries ${from} to ${toExclusive}: not an ascending range of whole numbers`,
    );
    assert(
      from > this.#snapshotIndex,
      `Cannot slice from entry ${from}: it is compacted into the snapshot at ${this.#snapshotIndex}`,
    );
    assert(
      toExclusive <= this.lastIndex + 1,
      `Cannot slice up to entry ${toExclusive - 1}: log ends at ${this.lastIndex}`,
    );
    const offset = this.#snapshotIndex + 1;
    return this.#entries.slice(from - offset, toExclusive - offset);
  }

  /**
   * Whether the log holds an entry with `term` at `index` (`index ≥ snapshotIndex`; the
   * snapshot's last entry counts). False when `index` is past the end.
   */
  matchesTerm(index: number, term: number): boolean {
    assert(
      Number.isSafeInteger(index) && index >= this.#snapshotIndex,
      `Cannot match entry ${index}: it is compacted into the snapshot at ${this.#snapshotIndex}`,
    );
    return index <= this.lastIndex && this.term(index) === term;
  }

  /**
   * Appends `entries`, which must start at `lastIndex + 1`, be contiguous and keep terms from
   * decreasing. This is how a leader grows its own log; followers use {@linkcode merge}.
   */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      const expected = this.lastIndex + 1;
      assert(
        entry.index === expected,
        `Cannot append entry ${entry.index}: log ends at ${this.lastIndex}`,
      );
      assert(
        Number.isSafeInteger(entry.term) && entry.term >= this.lastTerm,
        `Cannot append entry ${entry.index} with term ${entry.term}: the log's last term is ${this.lastTerm}`,
      );
      this.#entries.push(entry);
    }
  }

  /**
   * The index of the first of `entries` that the log does not already hold with the same term
   * (either a different term at that index or past the end), or 0 when the log holds them all.
   * Entries covered by the snapshot are committed, so they always count as held.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (entry.index <= this.#snapshotIndex) continue;
      if (!this.matchesTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * Merges entries from a leader whose previous entry the caller already found matching
   * (Figure 2, AppendEntries receiver rules 3 and 4): entries already held with the same term
   * are left alone, and the log is truncated only at the first real conflict, so a stale or
   * duplicated request never removes entries that match. Entries must be contiguous and start
   * no later than `lastIndex + 1`.
   *
   * Returns the index after which entries were removed, or -1 when nothing was removed.
   */
  merge(entries: readonly Entry[]): number {
    if (entries.length === 0) return -1;
    const first = entries[0].index;
    assert(
      first <= this.lastIndex + 1,
      `Cannot merge entries from ${first}: log ends at ${this.lastIndex}`,
    );
    const conflict = this.findConflict(entries);
    if (conflict === 0) return -1;
    let truncatedAfter = -1;
    if (conflict <= this.lastIndex) {
      truncatedAfter = conflict - 1;
      this.#entries.length = truncatedAfter - this.#snapshotIndex;
    }
    this.append(entries.slice(conflict - first));
    return truncatedAfter;
  }

  /**
   * Drops every entry up to and including `index`, which becomes the snapshot index (the
   * service took a snapshot of the state up to there). The term at `index` is kept.
   */
  compact(index: number): void {
    assert(
      Number.isSafeInteger(index) && index > this.#snapshotIndex,
      `Cannot compact up to entry ${index}: the log is already compacted up to ${this.#snapshotIndex}`,
    );
    assert(
      index <= this.lastIndex,
      `Cannot compact up to entry ${index}: log ends at ${this.lastIndex}`,
    );
    this.#snapshotTerm = this.term(index);
    this.#entries = this.#entries.slice(index - this.#snapshotIndex);
    this.#snapshotIndex = index;
  }

  /**
   * Replaces the log's prefix with a snapshot from the leader ending at `index` with `term`.
   * When the log holds an entry at `index` with `term`, the entries after it are kept (they
   * match the leader's); otherwise every entry is discarded. Returns whether the log matched at
   * `index` (and so kept whatever followed it).
   */
  installSnapshot(index: number, term: number): boolean {
    assert(
      Number.isSafeInteger(index) && index > this.#snapshotIndex,
      `Cannot install a snapshot up to entry ${index}: the log is already compacted up to ${this.#snapshotIndex}`,
    );
    assert(
      Number.isSafeInteger(term) && term >= this.#snapshotTerm && term > 0,
      `Cannot install a snapshot with term ${term}: the current snapshot has term ${this.#snapshotTerm}`,
    );
    const keep = this.matchesTerm(index, term);
    this.#entries = keep ? this.#entries.slice(index - this.#snapshotIndex) : [];
    this.#snapshotIndex = index;
    this.#snapshotTerm = term;
    return keep;
  }

  /**
   * The lowest index in `firstIndex … lastIndex` whose entry has `term`, or -1 when none has.
   * A follower reports it as the conflict index so the leader can skip the whole term.
   */
  firstIndexOfTerm(term: number): number {
    const index = this.#firstIndexWithTermAtLeast(term);
    return index <= this.lastIndex && this.term(index) === term ? index : -1;
  }

  /**
   * The highest index in `snapshotIndex … lastIndex` whose term is `term` (the snapshot's last
   * entry counts), or -1 when none is. A leader uses it to jump past a follower's conflicting
   * term.
   */
  lastIndexOfTerm(term: number): number {
    const after = this.#firstIndexWithTermAtLeast(term + 1);
    const candidate = after - 1;
    if (candidate < this.#snapshotIndex) return -1;
    if (candidate === this.#snapshotIndex && this.#snapshotIndex === 0) return -1;
    return this.term(candidate) === term ? candidate : -1;
  }

  /** Binary search: the lowest index ≥ firstIndex with term ≥ `term`, or lastIndex + 1. */
  #firstIndexWithTermAtLeast(term: number): number {
    let low = 0;
    let high = this.#entries.length;
    // Terms never decrease along the log; each round halves [low, high).
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#entries[middle].term < term) low = middle + 1;
      else high = middle;
    }
    return this.#snapshotIndex + 1 + low;
  }

  #checkIndex(index: number, action: string): void {
    assert(
      Number.isSafeInteger(index) && index >= 0,
      `Cannot ${action} ${index}: not a whole number`,
    );
    assert(index <= this.lastIndex, `Cannot ${action} ${index}: log ends at ${this.lastIndex}`);
  }
}
