/**
 * The invariants of Raft, checked from the outside: a {@linkcode SafetyChecker} watches every
 * peer of a group (its role, term, vote, commit index and log after every event, what it
 * persists, what it sends, what it applies) and records a {@linkcode Violation} the moment one
 * of these breaks:
 *
 * - **election safety**: at most one leader per term, over the whole run (not just at once);
 * - **log matching**: an entry is identified by its index and term: every log that holds it
 *   holds the same command and the same term just before it (by induction, the same entries up
 *   to it), and every log has contiguous indexes and terms that never decrease;
 * - **leader completeness**: an entry committed while some peer was in term T is in the log of
 *   every leader of a later term (or inside its snapshot);
 * - **state machine safety**: no two peers commit or apply different commands at one index;
 * - **term monotonicity**: a peer's term never goes back, neither in memory within one
 *   incarnation nor in storage across crashes, and its vote never changes within a term;
 * - **apply order**: the applied index advances by exactly one, or jumps forward to a snapshot;
 * - **commit monotonicity**: the commit index never decreases within one incarnation;
 * - **durability**: what a message depends on (the term, a granted vote, a candidacy,
 *   acknowledged entries) is in storage before the message is sent, and nothing but a
 *   leader's AppendEntries or InstallSnapshot leaves before the persist of its Ready (a leader
 *   may send entries it has not yet persisted: it counts itself toward commits only for
 *   persisted ones, which the commit checks below hold it to);
 * - **persistence**: once a Ready is persisted, storage holds what the core holds in memory;
 * - **linearizable reads**: a linearizable or lease read is answered from a state that holds
 *   every entry committed anywhere when the read was asked (its *floor*; see reads.ts).
 *
 * Two more names are reported by the simulation itself, not by this checker: **liveness** (a
 * healed group failed to commit and apply a fresh entry in time) and **assertion** (an
 * assertion in the core or the driver failed during an event).
 *
 * Checking all pairs of logs directly would cost the square of the group size times the log
 * length on every event; the entry registry gives the same guarantee incrementally, because
 * Log Matching follows by induction from "same index and term means same command and same
 * previous term".
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Role } from "../raft/core.ts";
import { NO_VOTE } from "../raft/ready.ts";
import type { ReadonlyRaftLog } from "../raft/log.ts";
import type { Entry, Message } from "../raft/messages.ts";
import type { PersistedView } from "../storage/memory_storage.ts";

/** Every invariant the safety simulation can report, by name. */
export const INVARIANTS = [
  "election safety",
  "log matching",
  "leader completeness",
  "state machine safety",
  "term monotonicity",
  "apply order",
  "commit monotonicity",
  "durability",
  "persistence",
  "linearizable reads",
  "liveness",
  "assertion",
] as const;

/** The name of one invariant (see {@linkcode INVARIANTS}). */
export type InvariantName = typeof INVARIANTS[number];

/** One broken invariant. */
export interface Violation {
  /** Which invariant broke. */
  readonly invariant: InvariantName;
  /** What was seen, as a plain sentence naming the peers, terms and indexes involved. */
  readonly message: string;
}

/** How a client asks a read (see reads.ts): through the core's read index, or locally. */
export type ReadConsistency = "linearizable" | "lease" | "serializable";

/** A read a peer's service answered. */
export interface AnsweredRead {
  /** The read's id, as asked of the core. */
  readonly id: number;
  /** The peer that was asked. */
  readonly peer: number;
  /** How it was asked. */
  readonly consistency: ReadConsistency;
  /** The highest commit index any peer had reached when the read was asked. */
  readonly floor: number;
  /** The read index the core gave. */
  readonly index: number;
  /** The applied index of the state the service answered from (at least `index`). */
  readonly answer: number;
}

/** What the checker reads of a running peer; {@linkcode RaftCore} provides it. */
export interface PeerView {
  /** The peer's id. */
  readonly id: number;
  /** Its role. */
  readonly role: Role;
  /** Its current term. */
  readonly term: number;
  /** Its vote in the current term, or {@linkcode NO_VOTE}. */
  readonly votedFor: number;
  /** Its commit index. */
  readonly commitIndex: number;
  /** Its in-memory log. */
  readonly log: ReadonlyRaftLog;
}

/**
 * What a peer held in memory when it handed out a Ready: what storage must hold once that Ready
 * is persisted. A {@linkcode PeerView} is one (when nothing changed since the hand-out).
 */
export interface PersistTarget {
  /** The peer's id. */
  readonly id: number;
  /** Its term. */
  readonly term: number;
  /** Its vote. */
  readonly votedFor: number;
  /** Its log's bounds. */
  readonly log: {
    readonly snapshotIndex: number;
    readonly lastIndex: number;
    readonly lastTerm: number;
  };
}

/** How to build a {@linkcode SafetyChecker}. */
export interface SafetyCheckerOptions {
  /**
   * Invariants not to check, to show which deeper invariant a bug breaks once the shallower
   * ones that catch it first are silenced. Default: check every one.
   */
  readonly skip?: readonly InvariantName[];
}

/** Terms must stay below this for the entry registry's numeric keys. */
const MAX_TERM = 2 ** 20;
/** Indexes must stay below this for the entry registry's numeric keys. */
const MAX_INDEX = 2 ** 32;

/** What the registry knows of the entry with one index and term. */
interface KnownEntry {
  readonly command: unknown;
  readonly previousTerm: number;
  readonly firstHolder: number;
}

/** A committed entry and the lowest term of a peer seen holding it as committed. */
interface CommittedEntry {
  readonly term: number;
  readonly command: unknown;
  commitTerm: number;
}

/** Per peer, what one incarnation (one life between restarts) has shown so far. */
interface Incarnation {
  term: number;
  votedFor: number;
  commitIndex: number;
  appliedIndex: number;
  /** The log's last entry and bounds at the last scan, to skip scans of unchanged logs. */
  scannedSnapshotIndex: number;
  scannedLastIndex: number;
  scannedLastEntry: Entry | null;
}

/** Per peer, what its storage has held so far (survives crashes). */
interface StorageHistory {
  term: number;
  votedFor: number;
}

/** Watches a group of peers and records every invariant that breaks; see the module docs. */
export class SafetyChecker {
  readonly #skip: ReadonlySet<InvariantName>;
  readonly #violations: Violation[] = [];
  readonly #leaderOfTerm = new Map<number, number>();
  readonly #currentLeaders = new Map<number, PeerView>();
  /** Keyed by index * MAX_TERM + term. */
  readonly #knownEntries = new Map<number, KnownEntry>();
  readonly #committed = new Map<number, CommittedEntry>();
  /** The command applied at index i + 1 by whichever peer applied it first. */
  readonly #appliedCommands: unknown[] = [];
  readonly #incarnations = new Map<number, Incarnation>();
  readonly #storageHistory = new Map<number, StorageHistory>();
  /** Per peer, the highest term of any message it sent. */
  readonly #highestSentTerm = new Map<number, number>();
  #highestCommitIndex = 0;

  /** Creates a checker that has seen nothing yet. */
  constructor(options: SafetyCheckerOptions = {}) {
    this.#skip = new Set(options.skip ?? []);
  }

  /** Every violation recorded so far, oldest first. */
  get violations(): readonly Violation[] {
    return this.#violations;
  }

  /** How many distinct terms have had a leader. */
  get leaderTerms(): number {
    return this.#leaderOfTerm.size;
  }

  /** The highest commit index any peer has reached, 0 when none. */
  get highestCommitIndex(): number {
    return this.#highestCommitIndex;
  }

  /**
   * Peer `peer` (re)started from `storage`, its service restored to `commands` (the
   * commands its snapshot covers, index 1 first). Memory-only history starts afresh.
   */
  startIncarnation(peer: number, storage: PersistedView, commands: readonly unknown[]): void {
    this.checkStorage(peer, storage);
    this.#forgetTermsLostBy(peer, storage.hardState.term);
    const snapshotIndex = storage.snapshot.index;
    this.#checkSnapshotCommands(peer, snapshotIndex, commands, "restored from storage");
    this.#incarnations.set(peer, {
      term: storage.hardState.term,
      votedFor: storage.hardState.votedFor,
      commitIndex: snapshotIndex,
      appliedIndex: snapshotIndex,
      scannedSnapshotIndex: -1,
      scannedLastIndex: -1,
      scannedLastEntry: null,
    });
  }

  /** Peer `peer` crashed: its memory is gone, its storage stays. */
  endIncarnation(peer: number): void {
    this.#incarnations.delete(peer);
    this.#currentLeaders.delete(peer);
  }

  /**
   * Peer `peer` wrote to `storage` (possibly part of a Ready): the persisted term never goes
   * back and the persisted vote never changes within a term.
   */
  checkStorage(peer: number, storage: PersistedView): void {
    const { term, votedFor } = storage.hardState;
    const history = this.#storageHistory.get(peer) ?? { term: 0, votedFor: NO_VOTE };
    if (term < history.term) {
      this.#report(
        "term monotonicity",
        `Peer ${peer} persisted term ${term} after term ${history.term}`,
      );
    } else if (
      term === history.term && history.votedFor !== NO_VOTE && votedFor !== history.votedFor
    ) {
      this.#report(
        "term monotonicity",
        `Peer ${peer} persisted a vote for ${votedFor} in term ${term} after voting for ${history.votedFor}`,
      );
    }
    this.#storageHistory.set(peer, { term, votedFor });
  }

  /**
   * Peer `view.id` persisted a whole Ready: storage must now match its memory as it was when it
   * handed the Ready out (`view`).
   */
  checkStorageMatchesMemory(view: PersistTarget, storage: PersistedView): void {
    const { term, votedFor } = storage.hardState;
    if (term !== view.term || votedFor !== view.votedFor) {
      this.#report(
        "persistence",
        `Peer ${view.id} persisted term ${term} and vote ${votedFor} but holds term ${view.term} and vote ${view.votedFor}`,
      );
    }
    const log = view.log;
    const lastIndex = storage.snapshot.index + storage.entries.length;
    const lastTerm = storage.entries.at(-1)?.term ?? storage.snapshot.term;
    if (
      storage.snapshot.index !== log.snapshotIndex || lastIndex !== log.lastIndex ||
      lastTerm !== log.lastTerm
    ) {
      this.#report(
        "persistence",
        `Peer ${view.id} persisted snapshot ${storage.snapshot.index} and entries up to ${lastIndex} (term ${lastTerm}) but holds snapshot ${log.snapshotIndex} and entries up to ${log.lastIndex} (term ${log.lastTerm})`,
      );
    }
  }

  /**
   * Peer `peer` is about to send `message` before persisting the Ready that holds it: only a
   * leader's AppendEntries or InstallSnapshot may go early (replies and votes promise what is on
   * disk, a RequestVote a durable candidacy), and its term must be durable.
   */
  checkSendBeforePersist(peer: number, message: Message, storage: PersistedView): void {
    this.#noteSent(peer, message);
    if (message.type !== "AppendEntries" && message.type !== "InstallSnapshot") {
      this.#report(
        "durability",
        `Peer ${peer} sent ${message.type} of term ${message.term} to peer ${message.to} before persisting its Ready`,
      );
      return;
    }
    this.checkSend(peer, message, storage);
  }

  /** Peer `peer` is about to send `message`: what it depends on must be in `storage`. */
  checkSend(peer: number, message: Message, storage: PersistedView): void {
    this.#noteSent(peer, message);
    const persisted = storage.hardState;
    const lastIndex = storage.snapshot.index + storage.entries.length;
    let problem: string | null = null;
    // A vote or candidacy of a term that storage has left behind needs no durable trace: the
    // peer can never act in that term again. Group commit sends such stale messages together
    // with the newer term, which is persisted first.
    const sameTerm = persisted.term === message.term;
    // A pre-vote and its answer promise nothing durable: they name a term nobody took yet.
    const preVote = message.type === "PreVote" || message.type === "PreVoteReply";
    if (preVote) {
      problem = null;
    } else if (persisted.term < message.term) {
      problem = `with term ${persisted.term} persisted`;
    } else if (message.type === "RequestVote" && sameTerm && persisted.votedFor !== peer) {
      problem = `with a vote for ${persisted.votedFor} persisted`;
    } else if (
      message.type === "RequestVoteReply" && message.voteGranted && sameTerm &&
      persisted.votedFor !== message.to
    ) {
      problem = `with a vote for ${persisted.votedFor} in term ${persisted.term} persisted`;
    } else if (
      (message.type === "AppendEntriesReply" || message.type === "InstallSnapshotReply") &&
      message.matchIndex > lastIndex
    ) {
      problem =
        `acknowledging entry ${message.matchIndex} with entries up to ${lastIndex} persisted`;
    }
    if (problem !== null) {
      this.#report(
        "durability",
        `Peer ${peer} sent ${message.type} of term ${message.term} to peer ${message.to} ${problem}`,
      );
    }
  }

  /**
   * A linearizable or lease read was answered: from a state that must hold every entry
   * committed when it was asked.
   */
  checkReadAnswer(read: AnsweredRead): void {
    if (read.answer >= read.floor || read.consistency === "serializable") return;
    this.#report(
      "linearizable reads",
      `Peer ${read.peer} answered ${read.consistency} read ${read.id} from its state at entry ${read.answer} (read index ${read.index}); entry ${read.floor} was committed when the read was asked`,
    );
  }

  /** Peer `peer`'s service loaded a snapshot up to `index` holding `commands`. */
  checkApplySnapshot(peer: number, index: number, commands: readonly unknown[]): void {
    const incarnation = this.#incarnation(peer);
    if (index <= incarnation.appliedIndex) {
      this.#report(
        "apply order",
        `Peer ${peer} loaded a snapshot up to entry ${index} after applying entry ${incarnation.appliedIndex}`,
      );
    }
    this.#checkSnapshotCommands(peer, index, commands, "loaded from a snapshot");
    incarnation.appliedIndex = index;
  }

  /** Peer `peer`'s service applied `entry`. */
  checkApplyEntry(peer: number, entry: Entry): void {
    const incarnation = this.#incarnation(peer);
    if (entry.index !== incarnation.appliedIndex + 1) {
      this.#report(
        "apply order",
        `Peer ${peer} applied entry ${entry.index} after entry ${incarnation.appliedIndex}`,
      );
    }
    incarnation.appliedIndex = entry.index;
    this.#checkAppliedCommand(peer, entry.index, entry.command, `applied (term ${entry.term})`);
    const committed = this.#committed.get(entry.index);
    if (committed !== undefined && committed.term !== entry.term) {
      this.#report(
        "state machine safety",
        `Peer ${peer} applied entry ${entry.index} of term ${entry.term}; term ${committed.term} was committed there`,
      );
    }
  }

  /**
   * After an event: checks every invariant of one running peer. `logMayHaveChanged` is false
   * for peers the event did not touch, whose logs need no new scan.
   */
  checkPeer(view: PeerView, logMayHaveChanged: boolean): void {
    const incarnation = this.#incarnation(view.id);
    this.#checkTermAndVote(view, incarnation);
    this.#checkLeadership(view);
    if (logMayHaveChanged) this.#scanLog(view, incarnation);
    this.#checkCommit(view, incarnation);
  }

  /** Scans `view`'s whole log against the entry registry, whether or not it changed. */
  checkWholeLog(view: PeerView): void {
    const incarnation = this.#incarnation(view.id);
    incarnation.scannedLastIndex = -1;
    this.#scanLog(view, incarnation);
  }

  /**
   * Compares every pair of `views` directly: wherever two logs hold an entry with the same
   * index and term, they must agree on every entry both hold below it. The registry checks
   * this incrementally; this direct check closes a run.
   */
  checkLogsPairwise(views: readonly PeerView[]): void {
    for (let left = 0; left < views.length; left++) {
      for (let right = left + 1; right < views.length; right++) {
        this.#checkLogPair(views[left], views[right]);
      }
    }
  }

  #checkLogPair(left: PeerView, right: PeerView): void {
    const first = Math.max(left.log.firstIndex, right.log.firstIndex);
    const last = Math.min(left.log.lastIndex, right.log.lastIndex);
    let matched = false;
    // Bounded by the shorter log; walks down from the last index both hold.
    for (let index = last; index >= first; index--) {
      const leftEntry = left.log.entry(index);
      const rightEntry = right.log.entry(index);
      if (!matched && leftEntry.term !== rightEntry.term) continue;
      matched = true;
      if (
        leftEntry.term === rightEntry.term && sameCommand(leftEntry.command, rightEntry.command)
      ) {
        continue;
      }
      this.#report(
        "log matching",
        `Peers ${left.id} and ${right.id} hold the same entry at a higher index but differ at entry ${index}: term ${leftEntry.term} ${
          describe(leftEntry.command)
        } against term ${rightEntry.term} ${describe(rightEntry.command)}`,
      );
      return;
    }
  }

  #noteSent(peer: number, message: Message): void {
    // A pre-vote and its answer name a term the sender has not taken: a lone voter may answer
    // one for term T, elect itself in T unseen and lose T in a crash, as if it had sent nothing.
    if (message.type === "PreVote" || message.type === "PreVoteReply") return;
    this.#highestSentTerm.set(peer, Math.max(this.#highestSentTerm.get(peer) ?? 0, message.term));
  }

  /**
   * Peer `peer` restarted in term `persistedTerm`: the terms above it that it led died with its
   * memory, unseen. A lone voter elects itself without a message, and may crash before its term
   * is persisted; it then leads that term again, with other entries. Nobody else holds entries
   * of such a term (the peer sent nothing of it), and none is committed (a leader counts only
   * entries it persisted, which the term precedes on disk), so the peer's leadership and
   * entries of those terms are forgotten, as the peer itself forgot them.
   */
  #forgetTermsLostBy(peer: number, persistedTerm: number): void {
    const floor = Math.max(persistedTerm, this.#highestSentTerm.get(peer) ?? 0);
    const lost = new Set<number>();
    for (const [term, leader] of this.#leaderOfTerm) {
      if (term > floor && leader === peer) lost.add(term);
    }
    if (lost.size === 0) return;
    for (const term of lost) this.#leaderOfTerm.delete(term);
    // Bounded by the registry's size.
    for (const key of this.#knownEntries.keys()) {
      if (lost.has(key % MAX_TERM)) this.#knownEntries.delete(key);
    }
    for (const [index, committed] of this.#committed) {
      assert(
        !lost.has(committed.term),
        `Entry ${index} of term ${committed.term} is committed, but its leader ${peer} never persisted the term`,
      );
    }
  }

  #checkTermAndVote(view: PeerView, incarnation: Incarnation): void {
    if (view.term < incarnation.term) {
      this.#report(
        "term monotonicity",
        `Peer ${view.id} went back from term ${incarnation.term} to term ${view.term}`,
      );
    } else if (
      view.term === incarnation.term && incarnation.votedFor !== NO_VOTE &&
      view.votedFor !== incarnation.votedFor
    ) {
      this.#report(
        "term monotonicity",
        `Peer ${view.id} changed its vote in term ${view.term} from ${incarnation.votedFor} to ${view.votedFor}`,
      );
    }
    incarnation.term = view.term;
    incarnation.votedFor = view.votedFor;
  }

  #checkLeadership(view: PeerView): void {
    if (view.role !== "leader") {
      this.#currentLeaders.delete(view.id);
      return;
    }
    this.#currentLeaders.set(view.id, view);
    const known = this.#leaderOfTerm.get(view.term);
    if (known === view.id) return;
    if (known !== undefined) {
      this.#report(
        "election safety",
        `Peers ${known} and ${view.id} both led term ${view.term}`,
      );
      return;
    }
    this.#leaderOfTerm.set(view.term, view.id);
    for (const [index, committed] of this.#committed) {
      if (committed.commitTerm < view.term) this.#checkLeaderHolds(view, index, committed);
    }
  }

  #checkLeaderHolds(leader: PeerView, index: number, committed: CommittedEntry): void {
    const log = leader.log;
    if (index <= log.snapshotIndex) return;
    const term = index <= log.lastIndex ? log.term(index) : -1;
    if (term === committed.term) return;
    this.#report(
      "leader completeness",
      `Leader ${leader.id} of term ${leader.term} lacks entry ${index} of term ${committed.term}, committed in term ${committed.commitTerm} (its log has ${
        term === -1 ? `no entry ${index}` : `term ${term} there`
      })`,
    );
  }

  #checkCommit(view: PeerView, incarnation: Incarnation): void {
    const commitIndex = view.commitIndex;
    if (commitIndex < incarnation.commitIndex) {
      this.#report(
        "commit monotonicity",
        `Peer ${view.id} moved its commit index back from ${incarnation.commitIndex} to ${commitIndex}`,
      );
    }
    const log = view.log;
    const from = Math.max(incarnation.commitIndex, log.snapshotIndex) + 1;
    // Bounded by the log's length: commitIndex never exceeds lastIndex.
    for (let index = from; index <= Math.min(commitIndex, log.lastIndex); index++) {
      this.#recordCommitted(view, log.entry(index));
    }
    incarnation.commitIndex = Math.max(incarnation.commitIndex, commitIndex);
    this.#highestCommitIndex = Math.max(this.#highestCommitIndex, commitIndex);
  }

  #recordCommitted(view: PeerView, entry: Entry): void {
    const known = this.#committed.get(entry.index);
    if (known === undefined) {
      const committed = { term: entry.term, command: entry.command, commitTerm: view.term };
      this.#committed.set(entry.index, committed);
      this.#checkCurrentLeaders(entry.index, committed);
      return;
    }
    if (known.term !== entry.term || !sameCommand(known.command, entry.command)) {
      this.#report(
        "state machine safety",
        `Peer ${view.id} committed ${
          describe(entry.command)
        } (term ${entry.term}) at index ${entry.index}; ${
          describe(known.command)
        } (term ${known.term}) was committed there`,
      );
      return;
    }
    if (view.term < known.commitTerm) {
      known.commitTerm = view.term;
      this.#checkCurrentLeaders(entry.index, known);
    }
  }

  #checkCurrentLeaders(index: number, committed: CommittedEntry): void {
    for (const leader of this.#currentLeaders.values()) {
      if (leader.term > committed.commitTerm) this.#checkLeaderHolds(leader, index, committed);
    }
  }

  #scanLog(view: PeerView, incarnation: Incarnation): void {
    const log = view.log;
    const lastEntry = log.lastIndex > log.snapshotIndex ? log.entry(log.lastIndex) : null;
    if (
      incarnation.scannedSnapshotIndex === log.snapshotIndex &&
      incarnation.scannedLastIndex === log.lastIndex && incarnation.scannedLastEntry === lastEntry
    ) return;
    incarnation.scannedSnapshotIndex = log.snapshotIndex;
    incarnation.scannedLastIndex = log.lastIndex;
    incarnation.scannedLastEntry = lastEntry;
    const committedAtSnapshot = this.#committed.get(log.snapshotIndex);
    if (committedAtSnapshot !== undefined && committedAtSnapshot.term !== log.snapshotTerm) {
      this.#report(
        "state machine safety",
        `Peer ${view.id} holds a snapshot up to entry ${log.snapshotIndex} of term ${log.snapshotTerm}; term ${committedAtSnapshot.term} was committed there`,
      );
    }
    const entries = log.slice(log.firstIndex, log.lastIndex + 1);
    let previousTerm = log.snapshotTerm;
    for (let position = 0; position < entries.length; position++) {
      const entry = entries[position];
      if (!this.#checkEntry(view.id, log.firstIndex + position, entry, previousTerm)) return;
      previousTerm = entry.term;
    }
  }

  /** Checks one entry of peer `peer`'s log; false when it broke Log Matching. */
  #checkEntry(peer: number, index: number, entry: Entry, previousTerm: number): boolean {
    if (entry.index !== index || entry.term < previousTerm) {
      this.#report(
        "log matching",
        `Peer ${peer} holds entry ${entry.index} of term ${entry.term} at position ${index}, after term ${previousTerm}`,
      );
      return false;
    }
    assert(
      entry.term < MAX_TERM && index < MAX_INDEX,
      `Cannot check entry ${index} of term ${entry.term}: beyond the checker's range`,
    );
    const key = index * MAX_TERM + entry.term;
    const known = this.#knownEntries.get(key);
    if (known === undefined) {
      this.#knownEntries.set(key, { command: entry.command, previousTerm, firstHolder: peer });
      return true;
    }
    if (known.previousTerm === previousTerm && sameCommand(known.command, entry.command)) {
      return true;
    }
    this.#report(
      "log matching",
      `Peer ${peer} holds entry ${index} of term ${entry.term} as ${
        describe(entry.command)
      } after term ${previousTerm}; peer ${known.firstHolder} held it as ${
        describe(known.command)
      } after term ${known.previousTerm}`,
    );
    return false;
  }

  #checkSnapshotCommands(
    peer: number,
    index: number,
    commands: readonly unknown[],
    how: string,
  ): void {
    if (commands.length !== index) {
      this.#report(
        "state machine safety",
        `Peer ${peer} ${how} ${commands.length} commands for a snapshot up to entry ${index}`,
      );
      return;
    }
    // Bounded by the snapshot's length.
    for (let position = 0; position < commands.length; position++) {
      if (!this.#checkAppliedCommand(peer, position + 1, commands[position], how)) return;
    }
  }

  /** Records or compares the command applied at `index`; false when it cannot agree. */
  #checkAppliedCommand(peer: number, index: number, command: unknown, how: string): boolean {
    const applied = this.#appliedCommands;
    if (index === applied.length + 1) {
      applied.push(command);
      return true;
    }
    // A gap follows only an apply-order violation already reported: a peer holds everything
    // below what it applies, and recorded it here when it applied or loaded it.
    if (index > applied.length + 1) return false;
    if (sameCommand(applied[index - 1], command)) return true;
    this.#report(
      "state machine safety",
      `Peer ${peer} ${how} ${describe(command)} at index ${index}; another peer applied ${
        describe(applied[index - 1])
      } there`,
    );
    return false;
  }

  #incarnation(peer: number): Incarnation {
    const incarnation = this.#incarnations.get(peer);
    assert(incarnation !== undefined, `Peer ${peer} is not running: it has no incarnation`);
    return incarnation;
  }

  #report(invariant: InvariantName, message: string): void {
    if (this.#skip.has(invariant)) return;
    this.#violations.push({ invariant, message });
  }
}

function sameCommand(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (typeof left !== "object" || typeof right !== "object") return false;
  return JSON.stringify(left) === JSON.stringify(right);
}

function describe(command: unknown): string {
  return JSON.stringify(command) ?? String(command);
}
