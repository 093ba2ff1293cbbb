/**
 * {@linkcode RaftStorage} over the lab's {@linkcode Persister}, so the lab suites run the same
 * driver as real peers.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { decode } from "../rpc/codec.ts";
import { errorText } from "../util/error_text.ts";
import type { Snapshot } from "../raft/ready.ts";
import { type Membership, membershipProblem } from "../raft/membership.ts";
import type { Entry } from "../raft/messages.ts";
import type { PersistRequest, RaftStorage, RestoredState } from "../raft/storage.ts";
import { EncodedEntries } from "./encoded_entries.ts";
import type { Persister } from "./persister.ts";

/** The MessagePack shape of the lab's Raft state bytes. */
interface EncodedRaftState {
  term: number;
  votedFor: number;
  snapshotIndex: number;
  snapshotTerm: number;
  /** The membership as of the snapshot; absent when the snapshot records none. */
  snapshotMembership?: Membership;
  entries: Entry[];
}

/**
 * {@linkcode RaftStorage} over the lab's {@linkcode Persister}: every persist saves the whole
 * Raft state (term, vote, snapshot index and term, entries) as MessagePack, as the lab's
 * `persist()` does, so `raftStateSize` counts real bytes, together with the latest snapshot.
 */
export class PersisterStorage implements RaftStorage {
  readonly #persister: Persister;
  readonly #restored: RestoredState;
  #term: number;
  #votedFor: number;
  #snapshotIndex: number;
  #snapshotTerm: number;
  #snapshotMembership: Membership | undefined;
  readonly #entries = new EncodedEntries();
  #snapshotData: Uint8Array | null;

  /** Storage that reads from and writes to `persister`; throws when its state is unreadable. */
  constructor(persister: Persister) {
    this.#persister = persister;
    const state = readRaftState(persister);
    this.#term = state.term;
    this.#votedFor = state.votedFor;
    this.#snapshotIndex = state.snapshotIndex;
    this.#snapshotTerm = state.snapshotTerm;
    this.#snapshotMembership = state.snapshotMembership;
    for (const entry of state.entries) this.#entries.push(entry);
    this.#snapshotData = persister.readSnapshot();
    const restored: { -readonly [Field in keyof RestoredState]: RestoredState[Field] } = {
      hardState: { term: state.term, votedFor: state.votedFor },
      entries: state.entries,
    };
    if (state.snapshotIndex > 0) {
      const data = this.#snapshotData;
      if (data === null) {
        throw new Error(
          `Cannot restore a snapshot up to entry ${state.snapshotIndex}: the persister holds no snapshot bytes`,
        );
      }
      const snapshot = { index: state.snapshotIndex, term: state.snapshotTerm, data };
      const membership = state.snapshotMembership;
      restored.snapshot = membership === undefined ? snapshot : { ...snapshot, membership };
    }
    this.#restored = restored;
  }

  /** The state found in the persister when this storage was made. */
  load(): RestoredState {
    return this.#restored;
  }

  /** Applies `request` to the state in memory and saves all of it, synchronously. */
  persist(request: PersistRequest): void {
    if (request.hardState !== undefined) {
      this.#term = request.hardState.term;
      this.#votedFor = request.hardState.votedFor;
    }
    const truncateAfter = request.logChange?.truncateAfter;
    if (truncateAfter !== undefined) this.#entries.truncate(truncateAfter - this.#snapshotIndex);
    if (request.snapshot !== undefined) this.#installSnapshot(request.snapshot);
    const append = request.logChange?.append ?? [];
    if (append.length > 0) {
      const expected = this.#snapshotIndex + this.#entries.count + 1;
      assert(
        append[0].index === expected,
        `Cannot persist entry ${append[0].index}: the persisted log ends at ${expected - 1}`,
      );
      for (const entry of append) this.#entries.push(entry);
    }
    const header = {
      term: this.#term,
      votedFor: this.#votedFor,
      snapshotIndex: this.#snapshotIndex,
      snapshotTerm: this.#snapshotTerm,
    };
    const membership = this.#snapshotMembership;
    const raftState = this.#entries.encodeWith(
      membership === undefined ? header : { ...header, snapshotMembership: membership },
    );
    this.#persister.save(raftState, this.#snapshotData);
  }

  #installSnapshot(snapshot: Snapshot): void {
    assert(
      snapshot.index >= this.#snapshotIndex,
      `Cannot persist snapshot ${snapshot.index}: snapshot ${this.#snapshotIndex} is newer`,
    );
    this.#entries.dropFirst(snapshot.index - this.#snapshotIndex);
    this.#snapshotIndex = snapshot.index;
    this.#snapshotTerm = snapshot.term;
    this.#snapshotMembership = snapshot.membership;
    this.#snapshotData = snapshot.data;
  }
}

function readRaftState(persister: Persister): EncodedRaftState {
  const bytes = persister.readRaftState();
  if (bytes.byteLength === 0) {
    return { term: 0, votedFor: -1, snapshotIndex: 0, snapshotTerm: 0, entries: [] };
  }
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (error) {
    throw new Error(`Cannot read the persisted Raft state: ${errorText(error)}`);
  }
  const problem = raftStateProblem(value);
  if (problem !== null) throw new Error(`Cannot read the persisted Raft state: ${problem}`);
  return value as EncodedRaftState;
}

function raftStateProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "it is not a map";
  const record = value as Record<string, unknown>;
  for (const name of ["term", "votedFor", "snapshotIndex", "snapshotTerm"]) {
    if (!Number.isSafeInteger(record[name])) return `field ${name} is not a whole number`;
  }
  if (record.snapshotMembership !== undefined) {
    const problem = membershipProblem(record.snapshotMembership);
    if (problem !== null) return `field snapshotMembership is unsound: ${problem}`;
  }
  if (!Array.isArray(record.entries)) return "field entries is not an array";
  const first = (record.snapshotIndex as number) + 1;
  for (let position = 0; position < record.entries.length; position++) {
    const entry = record.entries[position] as Partial<Entry> | null;
    if (entry?.index !== first + position || !Number.isSafeInteger(entry.term)) {
      return `entry ${position} is not an entry with index ${first + position}`;
    }
  }
  return null;
}
