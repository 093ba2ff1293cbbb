/**
 * A tiny synchronous network of {@linkcode RaftCore}s for tests: it plays the driver for every
 * core (persist, send, apply, advance, exactly as the core's module documentation says), moves
 * messages between cores by hand, and checks on every step what a driver relies on:
 *
 * - each request stepped yields exactly one reply to its sender, in stepping order;
 * - the persisted state, a {@linkcode MemoryStorage} built only from Ready batches, always equals
 *   the core's log;
 * - no two peers apply different commands at the same index (State Machine Safety), entries are
 *   applied one index after another, and no two peers lead the same term (Election Safety).
 *
 * The "service" on each peer is the list of commands it applied; its snapshot is that list,
 * encoded with `rpc/codec.ts`, so InstallSnapshot is checked end to end.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { assert } from "../../util/assert.ts";
import { type Random, SeededRandom } from "../../util/random.ts";
import { decode, encode } from "../../rpc/codec.ts";
import { RaftCore } from "../core.ts";
import type { Ready, Snapshot } from "../ready.ts";
import type { RaftCoreConfig } from "../config.ts";
import { MemoryStorage, type PersistedView } from "../../storage/memory_storage.ts";
import {
  type AppendEntries,
  type AppendEntriesReply,
  type Entry,
  isRequest,
  type Message,
  messageProblem,
  REPLY_TYPE_OF,
} from "../messages.ts";
import type { RestoredState } from "../storage.ts";
import type { MembershipChange } from "../membership.ts";

/** How to build a {@linkcode TestNetwork}. */
export interface TestNetworkOptions {
  /** Number of peers, with ids 0 … size - 1. */
  readonly size: number;
  /** Seed for every peer's election jitter and for the network's own choices. */
  readonly seed: number;
  /** Base election timeout; default 10 ticks. */
  readonly electionTimeoutTicks?: number;
  /** Heartbeat interval; default 2 ticks. */
  readonly heartbeatTicks?: number;
  /** Starting persisted state per peer id (peers without one start empty). */
  readonly restored?: ReadonlyMap<number, RestoredState>;
  /** Passed to every core. */
  readonly maxEntriesPerAppend?: number;
  /**
   * PreVote and CheckQuorum for every core; default off, so the paper's tests see the paper's
   * algorithm (the thesis's extensions have tests of their own).
   */
  readonly preVoteAndCheckQuorum?: boolean;
  /** When set, every peer snapshots its service each time it has applied this many entries. */
  readonly snapshotEveryEntries?: number;
  /**
   * The group's first voters; default every peer. The others start as peers joining a running
   * group: no membership, no vote, until the leader's membership reaches them.
   */
  readonly voters?: readonly number[];
}

/** Bound on deliveries in one {@linkcode TestNetwork.deliverAll} call. */
const MAX_DELIVERIES = 200_000;

/** A group of cores connected by an in-memory, hand-driven network. */
export class TestNetwork {
  /** Peer ids, 0 … size - 1. */
  readonly ids: readonly number[];
  /** Requests and replies sent but not yet delivered, oldest first. */
  readonly inFlight: Message[] = [];
  /** Decides which messages are lost; return true to drop. Default: drop none. */
  dropIf: (message: Message) => boolean = () => false;
  /** Every message delivered so far, for tests that count or inspect traffic. */
  readonly delivered: Message[] = [];

  readonly #options: TestNetworkOptions;
  readonly #random: Random;
  readonly #cores = new Map<number, RaftCore>();
  /** What each peer keeps across a crash: only what its Ready batches told it to persist. */
  readonly #storage = new Map<number, MemoryStorage>();
  readonly #applied = new Map<number, unknown[]>();
  readonly #isolated = new Set<number>();
  readonly #expectedReplies = new Map<number, { to: number; type: string }[]>();
  /** The first command seen applied at each index, by any peer. */
  readonly #appliedAt = new Map<number, { term: number; command: unknown }>();
  readonly #leaderOfTerm = new Map<number, number>();

  /** Builds `options.size` peers, restored from `options.restored` where given. */
  constructor(options: TestNetworkOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed);
    this.ids = Array.from({ length: options.size }, (_, id) => id);
    for (const id of this.ids) {
      this.#storage.set(id, new MemoryStorage(options.restored?.get(id)));
      this.#start(id);
    }
  }

  /** The running core of peer `id`; throws when it is crashed. */
  core(id: number): RaftCore {
    const core = this.#cores.get(id);
    assert(core !== undefined, `Peer ${id} is crashed`);
    return core;
  }

  /** The commands peer `id`'s service has applied, index 1 first (snapshots included). */
  applied(id: number): readonly unknown[] {
    return this.#applied.get(id) ?? [];
  }

  /** What peer `id` has persisted. */
  persisted(id: number): PersistedView {
    return this.#storageOf(id);
  }

  /** Ids of running peers that believe they lead, highest term first. */
  leaders(): number[] {
    return [...this.#cores.values()].filter((core) => core.role === "leader")
      .sort((left, right) => right.term - left.term).map((core) => core.id);
  }

  /** Cuts peer `id` off: messages to or from it are dropped. */
  isolate(id: number): void {
    this.#isolated.add(id);
  }

  /** Reconnects peer `id`. */
  heal(id: number): void {
    this.#isolated.delete(id);
  }

  /** Stops peer `id`: its memory is lost, its storage kept, messages to it dropped. */
  crash(id: number): void {
    this.#cores.delete(id);
    this.#applied.delete(id);
    this.#expectedReplies.delete(id);
  }

  /** Starts peer `id` again from what it persisted. */
  restart(id: number): void {
    assert(!this.#cores.has(id), `Peer ${id} is already running`);
    this.#start(id);
  }

  /** Proposes a membership change on peer `id` and processes what that produces. */
  proposeMembership(
    id: number,
    change: MembershipChange,
  ): ReturnType<RaftCore["proposeMembership"]> {
    const result = this.core(id).proposeMembership(change);
    this.processReadies();
    return result;
  }

  /** Proposes `command` on peer `id` and processes what that produces (without delivering). */
  propose(id: number, command: unknown): ReturnType<RaftCore["propose"]> {
    const result = this.core(id).propose(command);
    this.processReadies();
    return result;
  }

  /** Ticks every running peer once (or just `only`), then processes their Ready batches. */
  tick(only?: number): void {
    for (const [id, core] of this.#cores) if (only === undefined || id === only) core.tick();
    this.processReadies();
  }

  /** Ticks peer `id` alone until it starts an election in a new term (bounded). */
  timeOut(id: number): void {
    const core = this.core(id);
    const term = core.term;
    // An election timeout is below 2T ticks.
    for (let round = 0; round < 4 * (this.#options.electionTimeoutTicks ?? 10); round++) {
      if (core.term > term && core.role !== "follower") return;
      core.tick();
      this.processReadies();
    }
    assert(core.term > term && core.role !== "follower", `Peer ${id} never started an election`);
  }

  /** `ticks` rounds of: tick every peer, then deliver every message. */
  run(ticks: number): void {
    for (let round = 0; round < ticks; round++) {
      this.tick();
      this.deliverAll();
    }
  }

  /** Delivers messages oldest first until none is in flight (bounded). */
  deliverAll(): void {
    this.processReadies();
    for (let count = 0; this.inFlight.length > 0; count++) {
      assert(count < MAX_DELIVERIES, `Messages kept flowing after ${MAX_DELIVERIES} deliveries`);
      this.deliverOne(0);
    }
  }

  /** Delivers the in-flight message at `position`, then processes the Ready batches. */
  deliverOne(position: number): void {
    const [message] = this.inFlight.splice(position, 1);
    assert(message !== undefined, `No message in flight at position ${position}`);
    this.deliverMessage(message);
  }

  /** Delivers `message` now (for tests that build or replay messages by hand). */
  deliverMessage(message: Message): void {
    const target = this.#cores.get(message.to);
    if (
      target === undefined || this.#isolated.has(message.to) ||
      this.#isolated.has(message.from) || this.dropIf(message)
    ) return;
    assert(messageProblem(message) === null, `Malformed message: ${messageProblem(message)}`);
    this.delivered.push(message);
    // A ReadIndex is answered when the read is confirmed, not in the next Ready (ready.ts).
    if (isRequest(message) && message.type !== "ReadIndex") {
      this.#expectedRepliesOf(message.to).push({
        to: message.from,
        type: REPLY_TYPE_OF[message.type],
      });
    }
    target.step(message);
    this.processReadies();
  }

  /** A random position in `inFlight`, from the network's seeded generator. */
  randomPosition(): number {
    return this.#random.int(this.inFlight.length);
  }

  /** Processes every core's Ready batches until none has one. */
  processReadies(): void {
    for (const [id, core] of this.#cores) {
      // Bounded: each Ready hands out at most maxEntriesPerReady entries of a finite log.
      for (let round = 0; core.hasReady(); round++) {
        assert(round < 10_000, `Peer ${id} keeps producing Ready batches`);
        this.#handle(id, core, core.ready());
      }
    }
  }

  #handle(id: number, core: RaftCore, ready: Ready): void {
    for (const message of ready.messagesBeforePersist) {
      assert(
        message.type === "AppendEntries" || message.type === "InstallSnapshot",
        `Peer ${id} would send a ${message.type} before persisting`,
      );
      this.inFlight.push(message);
    }
    this.#storageOf(id).persist(ready);
    this.#checkPersistedMatchesMemory(id, core);
    this.#checkReplies(id, ready.messages);
    for (const message of ready.messages) this.inFlight.push(message);
    this.#apply(id, core, ready);
    core.advance(ready);
    if (core.role === "leader") {
      const known = this.#leaderOfTerm.get(core.term);
      assert(
        known === undefined || known === id,
        `Peers ${known} and ${id} both lead term ${core.term}`,
      );
      this.#leaderOfTerm.set(core.term, id);
    }
  }

  #checkPersistedMatchesMemory(id: number, core: RaftCore): void {
    const storage = this.#storageOf(id);
    const log = core.log;
    const { term, votedFor } = storage.hardState;
    assert(
      term === core.term && votedFor === core.votedFor,
      `Peer ${id} persisted term ${term} vote ${votedFor}, holds term ${core.term} vote ${core.votedFor}`,
    );
    assert(
      storage.snapshot.index === log.snapshotIndex && storage.lastIndex === log.lastIndex,
      `Peer ${id} persisted entries ${
        storage.snapshot.index + 1
      } to ${storage.lastIndex}, holds ${log.firstIndex} to ${log.lastIndex}`,
    );
    for (const entry of storage.entries) {
      assert(
        log.term(entry.index) === entry.term,
        `Peer ${id} persisted entry ${entry.index} with term ${entry.term}, holds term ${
          log.term(entry.index)
        }`,
      );
    }
  }

  #checkReplies(id: number, messages: readonly Message[]): void {
    const expected = this.#expectedRepliesOf(id);
    const replies = messages.filter((message) =>
      !isRequest(message) && message.type !== "ReadIndexReply"
    );
    const shape = (list: readonly { to: number; type: string }[]) =>
      list.map(({ to, type }) => `${type}->${to}`).join(", ");
    assert(
      shape(replies) === shape(expected),
      `Peer ${id} replied [${shape(replies)}], expected [${shape(expected)}]`,
    );
    expected.length = 0;
  }

  #apply(id: number, core: RaftCore, ready: Ready): void {
    let applied = this.#applied.get(id) ?? [];
    if (ready.snapshotToApply !== undefined) {
      const commands = decode(ready.snapshotToApply.data) as unknown[];
      assert(
        commands.length === ready.snapshotToApply.index,
        `Peer ${id} got a snapshot of ${commands.length} commands for index ${ready.snapshotToApply.index}`,
      );
      assert(
        ready.snapshotToApply.index > applied.length,
        `Peer ${id} was told to go back from ${applied.length} to snapshot ${ready.snapshotToApply.index}`,
      );
      applied = commands;
    }
    for (const entry of ready.committedEntries) {
      assert(
        entry.index === applied.length + 1,
        `Peer ${id} applied entry ${entry.index} after ${applied.length}`,
      );
      this.#checkSafety(id, entry);
      applied.push(entry.command);
      const every = this.#options.snapshotEveryEntries;
      if (every !== undefined && entry.index % every === 0) {
        core.compact(entry.index, encode(applied));
      }
    }
    this.#applied.set(id, applied);
  }

  #checkSafety(id: number, entry: Entry): void {
    const first = this.#appliedAt.get(entry.index);
    if (first === undefined) {
      this.#appliedAt.set(entry.index, { term: entry.term, command: entry.command });
      return;
    }
    assert(
      first.term === entry.term && JSON.stringify(first.command) === JSON.stringify(entry.command),
      `Peer ${id} applied ${
        JSON.stringify(entry.command)
      } (term ${entry.term}) at index ${entry.index}, another peer ${
        JSON.stringify(first.command)
      } (term ${first.term})`,
    );
  }

  #expectedRepliesOf(id: number): { to: number; type: string }[] {
    let list = this.#expectedReplies.get(id);
    if (list === undefined) {
      list = [];
      this.#expectedReplies.set(id, list);
    }
    return list;
  }

  #storageOf(id: number): MemoryStorage {
    const storage = this.#storage.get(id);
    assert(storage !== undefined, `Peer ${id} has no storage`);
    return storage;
  }

  #start(id: number): void {
    const state = this.persisted(id);
    const voters = this.#options.voters ?? this.ids;
    const config: RaftCoreConfig = {
      id,
      peers: voters.includes(id) ? voters : [],
      electionTimeoutTicks: this.#options.electionTimeoutTicks ?? 10,
      heartbeatTicks: this.#options.heartbeatTicks ?? 2,
      random: new SeededRandom(this.#random.int(2 ** 31)),
      hardState: state.hardState,
      snapshot: state.snapshot,
      entries: state.entries,
      maxEntriesPerAppend: this.#options.maxEntriesPerAppend,
      preVote: this.#options.preVoteAndCheckQuorum ?? false,
      checkQuorum: this.#options.preVoteAndCheckQuorum ?? false,
    };
    this.#cores.set(id, new RaftCore(config));
    // The service restarts from the snapshot; entries after it are applied again.
    const commands = state.snapshot.index === 0 ? [] : decode(state.snapshot.data) as unknown[];
    this.#applied.set(id, commands);
  }
}

/** Entries with the given terms, at indexes 1, 2, …; commands name index and term. */
export function entriesWithTerms(terms: readonly number[]): Entry[] {
  return terms.map((term, position) => ({
    index: position + 1,
    term,
    command: `command ${position + 1} of term ${term}`,
  }));
}

/** Persisted state with `terms` as the log and `term` as the hard state's term. */
export function stateWithLog(
  terms: readonly number[],
  term: number,
  votedFor = -1,
): RestoredState {
  return { hardState: { term, votedFor }, entries: entriesWithTerms(terms) };
}

/** A {@linkcode Random} that always draws the lowest value, so timeouts are exactly T ticks. */
export const lowestRandom: Random = { next: () => 0, int: () => 0 };

/** How to build one core for message-level tests. */
export interface LoneCoreOptions {
  /** This peer's id; default 0. */
  readonly id?: number;
  /** Group size, ids 0 … size - 1; default 3. */
  readonly size?: number;
  /** Terms of the log's entries at indexes 1, 2, …; default empty. */
  readonly terms?: readonly number[];
  /** Current term; default the last log term (or 0). */
  readonly term?: number;
  /** Vote in the current term; default none. */
  readonly votedFor?: number;
  /** Snapshot the log starts after; default none. */
  readonly snapshot?: Snapshot;
  /** Base election timeout; default 10. */
  readonly electionTimeoutTicks?: number;
  /** Heartbeat interval; default 2. */
  readonly heartbeatTicks?: number;
  /** Jitter source; default {@linkcode lowestRandom}. */
  readonly random?: Random;
  /** Passed to the core. */
  readonly maxEntriesPerAppend?: number;
  /** PreVote and CheckQuorum; default off (the paper's algorithm). */
  readonly preVoteAndCheckQuorum?: boolean;
  /** A new leader appends an entry of its term at once; default off (the lab's Raft). */
  readonly noOpOnElection?: boolean;
}

/** A core on its own, with messages stepped by hand. */
export function loneCore(options: LoneCoreOptions = {}): RaftCore {
  const snapshotIndex = options.snapshot?.index ?? 0;
  const entries = (options.terms ?? []).map((term, position) => ({
    index: snapshotIndex + position + 1,
    term,
    command: `command ${snapshotIndex + position + 1} of term ${term}`,
  }));
  const lastTerm = entries.length > 0
    ? entries[entries.length - 1].term
    : (options.snapshot?.term ?? 0);
  return new RaftCore({
    id: options.id ?? 0,
    peers: Array.from({ length: options.size ?? 3 }, (_, id) => id),
    electionTimeoutTicks: options.electionTimeoutTicks ?? 10,
    heartbeatTicks: options.heartbeatTicks ?? 2,
    random: options.random ?? lowestRandom,
    hardState: { term: options.term ?? lastTerm, votedFor: options.votedFor ?? -1 },
    snapshot: options.snapshot,
    entries,
    maxEntriesPerAppend: options.maxEntriesPerAppend,
    preVote: options.preVoteAndCheckQuorum ?? false,
    checkQuorum: options.preVoteAndCheckQuorum ?? false,
    noOpOnElection: options.noOpOnElection ?? false,
  });
}

/**
 * Takes and advances the core's Ready (an empty one when it has none), with every message it
 * sends in `messages`, those that may go before the persist first. Tests of that split call
 * `ready()` themselves.
 */
export function drain(core: RaftCore): Ready {
  if (!core.hasReady()) return { messagesBeforePersist: [], messages: [], committedEntries: [] };
  const ready = core.ready();
  core.advance(ready);
  return {
    ...ready,
    messagesBeforePersist: [],
    messages: [...ready.messagesBeforePersist, ...ready.messages],
  };
}

/** Ticks `core` `count` times and returns the messages that produced. */
export function tickMany(core: RaftCore, count: number): Message[] {
  const messages: Message[] = [];
  for (let tick = 0; tick < count; tick++) {
    core.tick();
    messages.push(...drain(core).messages);
  }
  return messages;
}

/** Peer 0 as leader of term `term + 1` in a group of `size`, every Ready so far drained. */
export function leader(size: number, terms: number[] = [], term = terms.at(-1) ?? 0): RaftCore {
  const core = loneCore({ size, terms, term });
  tickMany(core, 10);
  for (let peer = 1; core.role !== "leader"; peer++) {
    core.step({ type: "RequestVoteReply", from: peer, to: 0, term: core.term, voteGranted: true });
  }
  drain(core);
  return core;
}

/** The entry at `index` of `term`, with the command {@linkcode entriesWithTerms} would give it. */
export function entry(index: number, term: number): Entry {
  return { index, term, command: `command ${index} of term ${term}` };
}

/** An AppendEntries from peer 1 to peer 0; fields not given are empty or zero. */
export function append(
  fields: Partial<AppendEntries> & { term: number; prevLogIndex: number },
): AppendEntries {
  return {
    type: "AppendEntries",
    from: 1,
    to: 0,
    prevLogTerm: 0,
    entries: [],
    leaderCommit: 0,
    ...fields,
  };
}

/**
 * An AppendEntriesReply from follower 1 to leader 0 in term 2, a success acknowledging nothing
 * unless `fields` say otherwise.
 */
export function appendReply(fields: Partial<AppendEntriesReply>): AppendEntriesReply {
  return {
    type: "AppendEntriesReply",
    from: 1,
    to: 0,
    term: 2,
    success: true,
    matchIndex: 0,
    conflictIndex: 0,
    conflictTerm: -1,
    rejectedIndex: 0,
    ...fields,
  };
}

/** The one message of `messages`, failing the test when there are none or several. */
export function only<T extends Message>(messages: readonly Message[]): T {
  equal(messages.length, 1, `expected one message, got ${JSON.stringify(messages)}`);
  return messages[0] as T;
}

/** The terms of the entries `core` holds in its log (after its snapshot), oldest first. */
export function termsOf(core: RaftCore): number[] {
  const log = core.log;
  return log.slice(log.firstIndex, log.lastIndex + 1).map((held) => held.term);
}
