/**
 * For storage tests: the state a {@linkcode RaftStorage} must restore after a sequence of persist
 * requests, computed by a {@linkcode MemoryStorage} (the driver contract's rules, raft/core.ts),
 * also after a crash part way through file storage's writes, and a seeded
 * generator of request sequences shaped like a core's Ready batches (elections, appends,
 * conflicting entries replaced, snapshots taken and installed).
 *
 * @module
 */
import type { Random } from "../../util/random.ts";
import type { Snapshot } from "../../raft/ready.ts";
import type { Entry } from "../../raft/messages.ts";
import { MemoryStorage } from "../memory_storage.ts";
import type { PersistRequest, RaftStorage, RestoredState } from "../../raft/storage.ts";

/** The state before anything was persisted. */
export const EMPTY_STATE: RestoredState = { entries: [] };

/** `state` after the whole of `request`, in the core's order. */
export function withRequest(state: RestoredState, request: PersistRequest): RestoredState {
  const storage = new MemoryStorage(state);
  storage.persist(request);
  return storage.load();
}

/**
 * Every state a crash part way through persisting `request` onto `state` may leave, in the
 * order file storage writes its parts (hard state, snapshot, log), first `state` itself and last
 * the whole request.
 */
export function partialStates(state: RestoredState, request: PersistRequest): RestoredState[] {
  const states = [state];
  let afterHardState = state;
  if (request.hardState !== undefined) {
    afterHardState = withRequest(state, { hardState: request.hardState });
    states.push(afterHardState);
  }
  if (request.snapshot !== undefined) {
    // The snapshot file is durable before the log hears of the truncation.
    states.push(withSnapshotFirst(afterHardState, request.snapshot));
  }
  const change = request.logChange;
  const changesLog = request.snapshot !== undefined || change?.truncateAfter !== undefined ||
    (change?.append.length ?? 0) > 0;
  if (changesLog) states.push(withRequest(state, request));
  return states;
}

/**
 * `state` with `snapshot` stored before the log heard of it, as file storage loads it: entries
 * after the snapshot stay only if the entry at its index has its term (Figure 13, steps 6 and
 * 7), since otherwise the core would have deleted them first.
 */
function withSnapshotFirst(state: RestoredState, snapshot: Snapshot): RestoredState {
  const storage = new MemoryStorage(state);
  const matches = snapshot.index <= storage.lastIndex &&
    storage.termAt(snapshot.index) === snapshot.term;
  const logChange = matches ? undefined : { truncateAfter: snapshot.index, append: [] };
  storage.persist(logChange === undefined ? { snapshot } : { snapshot, logChange });
  return storage.load();
}

/** `load()`'s answer without fields that are present but undefined, for comparisons. */
export function modelOf(restored: RestoredState): RestoredState {
  const state: { -readonly [Field in keyof RestoredState]: RestoredState[Field] } = {
    entries: [...restored.entries],
  };
  if (restored.hardState !== undefined) state.hardState = restored.hardState;
  if (restored.snapshot !== undefined) state.snapshot = restored.snapshot;
  return state;
}

/** Persists every request in order, waiting for each. */
export async function persistAll(
  storage: RaftStorage,
  requests: readonly PersistRequest[],
): Promise<void> {
  for (const request of requests) await storage.persist(request);
}

/** A command of one of the shapes services use. */
function randomCommand(random: Random, index: number): unknown {
  const kind = random.int(4);
  if (kind === 0) return index * 31 + random.int(1000);
  if (kind === 1) return `command ${index} ${"x".repeat(random.int(40))}`;
  if (kind === 2) return Uint8Array.from({ length: random.int(64) }, () => random.int(256));
  return { op: "put", key: `key ${random.int(10)}`, value: `value ${index}`, seq: index };
}

/** How a generated sequence looks. */
export interface GeneratorOptions {
  /** Requests to make. */
  readonly count: number;
  /** Largest batch of entries one request appends. Default 6. */
  readonly maxAppend?: number;
  /** The persisted state to go on from. Default: nothing persisted. */
  readonly start?: RestoredState;
}

/** What the generator knows: the persisted state and the commit index. */
interface GeneratorContext {
  readonly random: Random;
  readonly storage: MemoryStorage;
  readonly commit: number;
  readonly maxAppend: number;
}

/**
 * A valid sequence of persist requests for one peer, from a fresh start (a first hard state)
 * or from a restored state: elections and votes, appends, conflicting entries replaced above
 * the commit index, snapshots taken up to the commit index (alone or with new entries) and
 * snapshots installed past it by leaders of the same or a newer term.
 */
export function randomPersistRequests(random: Random, options: GeneratorOptions): PersistRequest[] {
  const maxAppend = options.maxAppend ?? 6;
  const requests: PersistRequest[] = [];
  const storage = new MemoryStorage(options.start);
  // All a restarted peer knows to be committed is what its snapshot covers.
  let commit = storage.snapshot.index;
  for (let made = 0; made < options.count; made++) {
    commit += random.int(storage.lastIndex - commit + 1);
    const request = randomRequest({ random, storage, commit, maxAppend });
    if (request.snapshot !== undefined) commit = Math.max(commit, request.snapshot.index);
    requests.push(request);
    storage.persist(request);
  }
  return requests;
}

function randomRequest(context: GeneratorContext): PersistRequest {
  const { random, storage, commit, maxAppend } = context;
  const term = storage.hardState.term;
  const last = storage.lastIndex;
  const snapshotIndex = storage.snapshot.index;
  const action = term === 0 ? 0 : random.int(10);
  const batch = () => 1 + random.int(maxAppend);
  if (action <= 1) {
    const hardState = { term: term + 1, votedFor: random.int(6) - 1 };
    if (random.int(2) === 0) return { hardState };
    return { hardState, logChange: { append: newEntries(random, last + 1, term + 1, batch()) } };
  }
  if (action <= 5) return { logChange: { append: newEntries(random, last + 1, term, batch()) } };
  if (action === 6 && last > commit) {
    const after = commit + random.int(last - commit);
    const append = newEntries(random, after + 1, term, 1 + random.int(3));
    return { logChange: { truncateAfter: after, append } };
  }
  if (action <= 8 && commit > snapshotIndex) {
    const index = snapshotIndex + 1 + random.int(commit - snapshotIndex);
    const snapshot = { index, term: storage.termAt(index), data: randomBytes(random) };
    // A service snapshot often shares its Ready with new entries.
    if (random.int(2) === 0) return { snapshot };
    return { snapshot, logChange: { append: newEntries(random, last + 1, term, batch()) } };
  }
  return installedSnapshot(context);
}

/** A snapshot a leader installs past the commit index, with what the core would ask for. */
function installedSnapshot(context: GeneratorContext): PersistRequest {
  const { random, storage, commit } = context;
  const term = storage.hardState.term;
  const last = storage.lastIndex;
  const index = commit + 1 + random.int(last - commit + 4);
  const data = randomBytes(random);
  if (index <= last && random.int(2) === 0) {
    // The snapshot ends on an entry this peer has: the entries after it stay.
    return { snapshot: { index, term: storage.termAt(index), data } };
  }
  // A leader of a newer term: the peer adopts the term, and its entries from the snapshot's
  // index on conflict with the snapshot, so they go.
  const hardState = { term: term + 1, votedFor: -1 };
  const snapshot = { index, term: term + 1, data };
  if (index < last) return { hardState, snapshot, logChange: { truncateAfter: index, append: [] } };
  return { hardState, snapshot };
}

function newEntries(random: Random, first: number, term: number, count: number): Entry[] {
  return Array.from({ length: count }, (_, offset) => ({
    index: first + offset,
    term,
    command: randomCommand(random, first + offset),
  }));
}

function randomBytes(random: Random): Uint8Array {
  return Uint8Array.from({ length: 1 + random.int(32) }, () => random.int(256));
}
