/**
 * For storage tests: the state a {@linkcode RaftStorage} must restore after a sequence of persist
 * requests, computed in memory by the driver contract's rules (raft/core.ts), and a seeded
 * generator of request sequences shaped like a core's Ready batches (elections, appends,
 * conflicting entries replaced, snapshots taken and installed).
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import type { Random } from "../../util/random.ts";
import type { HardState, LogChange, Snapshot } from "../../raft/ready.ts";
import type { Entry } from "../../raft/messages.ts";
import type { PersistRequest, RaftStorage, RestoredState } from "../../raft/storage.ts";

/** A persisted state: what `load()` gives back. */
export interface ModelState {
  /** Term and vote, absent until first persisted. */
  readonly hardState?: HardState;
  /** The latest snapshot, absent until one is persisted. */
  readonly snapshot?: Snapshot;
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
}

/** The state before anything was persisted. */
export const EMPTY_STATE: ModelState = { entries: [] };

/** `state` with `hardState` persisted. */
export function withHardState(state: ModelState, hardState: HardState): ModelState {
  return { ...state, hardState: { term: hardState.term, votedFor: hardState.votedFor } };
}

/**
 * `state` with `snapshot` persisted: entries up to its index go, and entries after it stay
 * only if the entry at its index has its term (Figure 13, steps 6 and 7).
 */
export function withSnapshot(state: ModelState, snapshot: Snapshot): ModelState {
  const previous = state.snapshot ?? { index: 0, term: 0 };
  const position = snapshot.index - previous.index - 1;
  const leadingTerm = position < 0 ? previous.term : state.entries[position]?.term;
  const entries = leadingTerm === snapshot.term
    ? state.entries.slice(Math.max(0, position + 1))
    : [];
  const { index, term, data } = snapshot;
  return { ...state, snapshot: { index, term, data }, entries };
}

/** `state` with the entries after `index` deleted. */
export function withTruncation(state: ModelState, index: number): ModelState {
  const first = (state.snapshot?.index ?? 0) + 1;
  return { ...state, entries: state.entries.slice(0, Math.max(0, index - first + 1)) };
}

/** `state` with `entries` appended; they must follow its last entry. */
export function withAppended(state: ModelState, entries: readonly Entry[]): ModelState {
  if (entries.length === 0) return state;
  const last = lastIndexOf(state);
  assert(
    entries[0].index === last + 1,
    `Model cannot append entry ${entries[0].index} after ${last}`,
  );
  return { ...state, entries: [...state.entries, ...entries] };
}

/** `state` after the whole of `request`, in the core's order. */
export function withRequest(state: ModelState, request: PersistRequest): ModelState {
  return partialStates(state, request).at(-1) as ModelState;
}

/**
 * Every state a crash part way through persisting `request` onto `state` may leave, in the
 * order file storage writes its parts (hard state, snapshot, log), first `state` itself and last
 * the whole request.
 */
export function partialStates(state: ModelState, request: PersistRequest): ModelState[] {
  const states = [state];
  let current = state;
  if (request.hardState !== undefined) {
    current = withHardState(current, request.hardState);
    states.push(current);
  }
  const afterHardState = current;
  if (request.snapshot !== undefined) {
    // The snapshot file is durable before the log hears of the truncation.
    states.push(withSnapshot(afterHardState, request.snapshot));
  }
  const change: LogChange | undefined = request.logChange;
  if (change?.truncateAfter !== undefined) current = withTruncation(current, change.truncateAfter);
  if (request.snapshot !== undefined) current = withSnapshot(current, request.snapshot);
  current = withAppended(current, change?.append ?? []);
  if (current !== states.at(-1)) states.push(current);
  return states;
}

/** Index of the last entry, or of the snapshot when there are none. */
export function lastIndexOf(state: ModelState): number {
  return state.entries.at(-1)?.index ?? state.snapshot?.index ?? 0;
}

/** `load()`'s answer in the model's shape, for comparisons. */
export function modelOf(restored: RestoredState): ModelState {
  const state: { -readonly [Field in keyof ModelState]: ModelState[Field] } = {
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
  readonly start?: ModelState;
}

/** What the generator knows besides the persisted state. */
interface GeneratorContext {
  readonly random: Random;
  readonly state: ModelState;
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
  let state = options.start ?? EMPTY_STATE;
  // All a restarted peer knows to be committed is what its snapshot covers.
  let commit = state.snapshot?.index ?? 0;
  for (let made = 0; made < options.count; made++) {
    const last = lastIndexOf(state);
    commit += random.int(last - commit + 1);
    const request = randomRequest({ random, state, commit, maxAppend });
    if (request.snapshot !== undefined) commit = Math.max(commit, request.snapshot.index);
    requests.push(request);
    state = withRequest(state, request);
  }
  return requests;
}

function randomRequest(context: GeneratorContext): PersistRequest {
  const { random, state, commit, maxAppend } = context;
  const term = state.hardState?.term ?? 0;
  const last = lastIndexOf(state);
  const snapshotIndex = state.snapshot?.index ?? 0;
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
    const snapshot = { index, term: termAt(state, index), data: randomBytes(random) };
    // A service snapshot often shares its Ready with new entries.
    if (random.int(2) === 0) return { snapshot };
    return { snapshot, logChange: { append: newEntries(random, last + 1, term, batch()) } };
  }
  return installedSnapshot(context);
}

/** A snapshot a leader installs past the commit index, with what the core would ask for. */
function installedSnapshot(context: GeneratorContext): PersistRequest {
  const { random, state, commit } = context;
  const term = state.hardState?.term ?? 0;
  const last = lastIndexOf(state);
  const index = commit + 1 + random.int(last - commit + 4);
  const data = randomBytes(random);
  if (index <= last && random.int(2) === 0) {
    // The snapshot ends on an entry this peer has: the entries after it stay.
    return { snapshot: { index, term: termAt(state, index), data } };
  }
  // A leader of a newer term: the peer adopts the term, and its entries from the snapshot's
  // index on conflict with the snapshot, so they go.
  const hardState = { term: term + 1, votedFor: -1 };
  const snapshot = { index, term: term + 1, data };
  if (index < last) return { hardState, snapshot, logChange: { truncateAfter: index, append: [] } };
  return { hardState, snapshot };
}

function termAt(state: ModelState, index: number): number {
  const snapshotIndex = state.snapshot?.index ?? 0;
  if (index === snapshotIndex) return state.snapshot?.term ?? 0;
  return state.entries[index - snapshotIndex - 1].term;
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
