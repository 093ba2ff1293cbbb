/**
 * What a run of the safety simulation counts: evidence, for reports and tests, that each kind of
 * fault and each kind of read really happened.
 *
 * @module
 */
import type { SafetySimulationProfile } from "./profile.ts";
import { emptyReadStats, type ReadStats } from "./reads.ts";

/** Counts of one run, for reports and for tests that the faults really happened. */
export interface SafetySimulationStats extends ReadStats {
  /** Group size: the bootstrap voters. */
  peers: number;
  /** Spare peers beside the group, joining with no membership until a change adds them. */
  sparePeers: number;
  /** Events run in all (ticks, deliveries, proposals, faults, restarts), healing included. */
  events: number;
  /** Virtual ticks the run lasted. */
  ticks: number;
  /** Messages handed to the network. */
  messagesSent: number;
  /** Messages stepped by their receiver. */
  messagesDelivered: number;
  /** Messages lost to drops, partitions or dead receivers. */
  messagesLost: number;
  /** Extra copies of messages delivered. */
  messagesDuplicated: number;
  /** Crashes between events. */
  crashes: number;
  /** Crashes part way through persisting a Ready or between persisting and sending. */
  crashesInReady: number;
  /** Persists that took time, with the peer stepping other events meanwhile. */
  slowPersists: number;
  /** Crashes while a slow persist was under way (some prefix of it reached storage). */
  crashesInSlowPersist: number;
  /** Messages a leader sent before persisting the Ready that held them. */
  messagesSentBeforePersist: number;
  /** Pauses: a peer stopped a while (like SIGSTOP or a long GC pause), keeping its state. */
  pauses: number;
  /** Messages that reached a paused peer, held until it resumed. */
  messagesHeld: number;
  /** Ticks a peer's core was given late, catching up with its clock after a pause. */
  ticksCaughtUp: number;
  /** Restarts from storage. */
  restarts: number;
  /** Partitions of any shape set up. */
  partitions: number;
  /** Proposals made. */
  proposals: number;
  /** Proposals a peer accepted as leader. */
  proposalsAccepted: number;
  /** Snapshots the services took. */
  snapshotsTaken: number;
  /** Snapshots loaded from a leader. */
  snapshotsInstalled: number;
  /** Terms that had a leader. */
  leaderTerms: number;
  /** The highest term any peer reached. */
  highestTerm: number;
  /** The highest index any peer committed. */
  highestCommitIndex: number;
  /** Leadership transfers started. */
  transfers: number;
  /** Membership changes a leader appended. */
  membershipChanges: number;
  /** Membership changes a leader refused (one in flight, or none of its term committed yet). */
  membershipRefusals: number;
  /** Voters of the membership the healed group made progress in. */
  finalVoters: number;
  /** Learners of the membership the healed group made progress in. */
  finalLearners: number;
  /** Ticks from healing until the group made progress. */
  ticksToRecover: number;
  /** The ticks the healed group was given to make progress (see recovery.ts). */
  recoveryDeadlineTicks: number;
}

/** The stats of a run of `profile` before its first event. */
export function emptyStats(profile: SafetySimulationProfile): SafetySimulationStats {
  return {
    peers: profile.peers,
    sparePeers: profile.sparePeers,
    events: 0,
    ticks: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    messagesLost: 0,
    messagesDuplicated: 0,
    crashes: 0,
    crashesInReady: 0,
    slowPersists: 0,
    crashesInSlowPersist: 0,
    messagesSentBeforePersist: 0,
    pauses: 0,
    messagesHeld: 0,
    ticksCaughtUp: 0,
    restarts: 0,
    partitions: 0,
    proposals: 0,
    proposalsAccepted: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    leaderTerms: 0,
    highestTerm: 0,
    highestCommitIndex: 0,
    transfers: 0,
    membershipChanges: 0,
    membershipRefusals: 0,
    finalVoters: 0,
    finalLearners: 0,
    ticksToRecover: 0,
    recoveryDeadlineTicks: 0,
    ...emptyReadStats(),
  };
}
