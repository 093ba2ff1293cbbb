/**
 * Client reads in the safety simulation, and the bookkeeping that checks them.
 *
 * A client asks a peer for a read with one of three consistencies. A linearizable read asks the
 * core for a read index (`RaftCore.readIndex`); a lease read asks the same with `lease`, so a
 * leader within its lease answers without a round of appends; a serializable read is answered at
 * once from whatever the peer's service has applied. A read remembers its *floor*: the highest
 * commit index any peer had reached when it was asked. Once the read's index comes out of the
 * core (in a Ready's `readStates`, -1 for a refusal), the service answers it as soon as it has
 * applied up to that index, with the state at its applied index then. A linearizable or lease
 * read answered from a state below its floor missed a write committed before it began: the
 * checker's "linearizable reads" invariant. A stale serializable read is allowed, only counted.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Random } from "../util/random.ts";
import type { ReadState } from "../raft/ready.ts";
import type { AnsweredRead, ReadConsistency, SafetyChecker } from "./checker.ts";

/** Reads in flight (asked, not yet answered or refused) at once, across all peers. */
export const READS_IN_FLIGHT_MAX = 4096;

/** How often a client asks each consistency (lease becomes linearizable without CheckQuorum). */
const CONSISTENCY_WEIGHTS: Readonly<Record<ReadConsistency, number>> = {
  linearizable: 2,
  lease: 2,
  serializable: 1,
};

/** What a run counts of its reads. */
export interface ReadStats {
  /** Linearizable reads asked of a core. */
  linearizableReads: number;
  /** Linearizable reads answered by the service. */
  linearizableReadsAnswered: number;
  /** Linearizable reads the core refused (index -1). */
  linearizableReadsRefused: number;
  /** Lease reads asked of a core (only in runs with CheckQuorum on). */
  leaseReads: number;
  /** Lease reads answered by the service. */
  leaseReadsAnswered: number;
  /** Lease reads the core refused. */
  leaseReadsRefused: number;
  /** Serializable reads, answered at once from the peer's applied state. */
  serializableReads: number;
  /** Serializable reads answered from a state below their floor (allowed for them). */
  staleSerializableReads: number;
  /** Reads in flight at a peer that crashed. */
  readsLostToCrashes: number;
}

/** Read stats before the first read. */
export function emptyReadStats(): ReadStats {
  return {
    linearizableReads: 0,
    linearizableReadsAnswered: 0,
    linearizableReadsRefused: 0,
    leaseReads: 0,
    leaseReadsAnswered: 0,
    leaseReadsRefused: 0,
    serializableReads: 0,
    staleSerializableReads: 0,
    readsLostToCrashes: 0,
  };
}

/** Draws a read's consistency; lease reads only when the cores run CheckQuorum. */
export function drawConsistency(random: Random, checkQuorum: boolean): ReadConsistency {
  const weights = CONSISTENCY_WEIGHTS;
  let draw = random.next() * (weights.linearizable + weights.lease + weights.serializable);
  draw -= weights.serializable;
  if (draw < 0) return "serializable";
  draw -= weights.lease;
  return draw < 0 && checkQuorum ? "lease" : "linearizable";
}

/** A linearizable or lease read asked of a core and not yet answered. */
interface PendingRead {
  readonly id: number;
  readonly peer: number;
  readonly consistency: ReadConsistency;
  readonly floor: number;
  /** Its read index once the core gave one, -1 before. */
  index: number;
}

/** The reads in flight at every peer; answers go to the checker. */
export class SimulatedReads {
  readonly #checker: SafetyChecker;
  readonly #stats: ReadStats;
  /** Per peer, reads asked of its core whose outcome has not come out, by id. */
  readonly #awaitingOutcome = new Map<number, Map<number, PendingRead>>();
  /** Per peer, reads with an index its service has not applied up to yet, oldest first. */
  readonly #awaitingApply = new Map<number, PendingRead[]>();
  #inFlight = 0;
  #nextId = 1;

  /** Reads that report answers to `checker` and count in `stats`. */
  constructor(checker: SafetyChecker, stats: ReadStats) {
    this.#checker = checker;
    this.#stats = stats;
  }

  /** Whether {@linkcode READS_IN_FLIGHT_MAX} reads are in flight: no more may be asked. */
  get full(): boolean {
    return this.#inFlight >= READS_IN_FLIGHT_MAX;
  }

  /** A serializable read at `peer`, whose service applied up to `applied`; returns a note. */
  serveLocally(peer: number, applied: number, floor: number): string {
    this.#stats.serializableReads++;
    if (applied >= floor) return `serializable read at peer ${peer}: entry ${applied}`;
    this.#stats.staleSerializableReads++;
    return `serializable read at peer ${peer}: entry ${applied}, stale (floor ${floor})`;
  }

  /**
   * Files a linearizable or lease read about to be asked of `peer`'s core; returns the id to
   * ask it with (unique across the run, so unique among the peer's reads in flight).
   */
  ask(peer: number, consistency: ReadConsistency, floor: number): number {
    assert(consistency !== "serializable", `Peer ${peer}'s core is never asked serializable reads`);
    assert(!this.full, `Cannot ask a read at peer ${peer}: ${this.#inFlight} are in flight`);
    const id = this.#nextId++;
    let reads = this.#awaitingOutcome.get(peer);
    if (reads === undefined) {
      reads = new Map();
      this.#awaitingOutcome.set(peer, reads);
    }
    reads.set(id, { id, peer, consistency, floor, index: -1 });
    this.#inFlight++;
    if (consistency === "lease") this.#stats.leaseReads++;
    else this.#stats.linearizableReads++;
    return id;
  }

  /**
   * The outcomes in a Ready of `peer`, whose service has applied up to `applied`: refusals are
   * counted, reads with an index are answered now or once the service applies up to it. Returns
   * a note per outcome, for the trace.
   */
  outcomes(peer: number, states: readonly ReadState[], applied: number): string[] {
    const reads = this.#awaitingOutcome.get(peer);
    const notes: string[] = [];
    for (const { id, index } of states) {
      const read = reads?.get(id);
      assert(
        read !== undefined,
        `Peer ${peer} gave an outcome for read ${id}, not in flight there`,
      );
      reads!.delete(id);
      if (index < 0) {
        this.#inFlight--;
        if (read.consistency === "lease") this.#stats.leaseReadsRefused++;
        else this.#stats.linearizableReadsRefused++;
        notes.push(`read ${id} refused`);
        continue;
      }
      read.index = index;
      notes.push(`read ${id} index ${index}`);
      if (applied >= index) {
        this.#answer(read, applied);
        continue;
      }
      const waiting = this.#awaitingApply.get(peer) ?? [];
      waiting.push(read);
      this.#awaitingApply.set(peer, waiting);
    }
    return notes;
  }

  /** `peer`'s service applied up to `applied`: the reads waiting for it are answered. */
  applied(peer: number, applied: number): void {
    const waiting = this.#awaitingApply.get(peer);
    if (waiting === undefined) return;
    const ready = waiting.filter((read) => read.index <= applied);
    if (ready.length === 0) return;
    const rest = waiting.filter((read) => read.index > applied);
    if (rest.length === 0) this.#awaitingApply.delete(peer);
    else this.#awaitingApply.set(peer, rest);
    for (const read of ready) this.#answer(read, applied);
  }

  /** `peer` crashed: its reads in flight are lost with its memory. */
  crashed(peer: number): void {
    const lost = (this.#awaitingOutcome.get(peer)?.size ?? 0) +
      (this.#awaitingApply.get(peer)?.length ?? 0);
    this.#awaitingOutcome.delete(peer);
    this.#awaitingApply.delete(peer);
    this.#inFlight -= lost;
    this.#stats.readsLostToCrashes += lost;
  }

  #answer(read: PendingRead, applied: number): void {
    this.#inFlight--;
    if (read.consistency === "lease") this.#stats.leaseReadsAnswered++;
    else this.#stats.linearizableReadsAnswered++;
    const { id, peer, consistency, floor, index } = read;
    const answer: AnsweredRead = { id, peer, consistency, floor, index, answer: applied };
    this.#checker.checkReadAnswer(answer);
  }
}
