/**
 * How to build a Raft core: its configuration, the defaults of its caps, and the check that a
 * configuration is sound, made once when a core starts.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Random } from "../util/random.ts";
import type { Entry } from "./messages.ts";
import { type HardState, NO_VOTE, type Snapshot } from "./ready.ts";

/** How to build a `RaftCore`. */
export interface RaftCoreConfig {
  /** This peer's id; must be in `peers` unless `peers` is empty. */
  readonly id: number;
  /**
   * The group's first voters, this peer included; distinct whole numbers. The membership in
   * force is the latest in the log or the snapshot; this one holds only until there is any. Empty
   * for a peer that joins a running group: it waits, voteless, for the leader's membership.
   */
  readonly peers: readonly number[];
  /** Where the first voters listen, by id: carried in the membership, opaque to the core. */
  readonly bootstrapAddresses?: Readonly<Record<string, string>>;
  /**
   * The base election timeout T in ticks: every time the election timer restarts, the timeout
   * is drawn anew from [T, 2T) with `random`.
   */
  readonly electionTimeoutTicks: number;
  /** A leader sends AppendEntries to every follower this often (ticks); below T. */
  readonly heartbeatTicks: number;
  /** The source of election-timeout jitter. */
  readonly random: Random;
  /** Persisted term and vote, when restarting. Default: term 0, no vote. */
  readonly hardState?: HardState;
  /** Persisted snapshot, when restarting. commitIndex and appliedIndex start at its index. */
  readonly snapshot?: Snapshot;
  /** Persisted entries after the snapshot, when restarting; contiguous from its index + 1. */
  readonly entries?: readonly Entry[];
  /** Cap on entries per AppendEntries. Default 512. */
  readonly maxEntriesPerAppend?: number;
  /** Cap on the estimated bytes of entries per AppendEntries (at least one entry is sent). */
  readonly maxAppendBytes?: number;
  /** Cap on `committedEntries` per Ready; the rest follows in the next Ready. Default 1024. */
  readonly maxEntriesPerReady?: number;
  /** Cap on messages waiting for `ready()`; exceeding it means the driver is stuck. */
  readonly maxPendingMessages?: number;
  /**
   * PreVote (the Raft thesis, section 9.6): a peer whose election timer runs out first asks
   * whether it could win, and campaigns only with a majority's consent, so a peer coming back
   * from a partition does not depose a healthy leader. Default on.
   */
  readonly preVote?: boolean;
  /**
   * CheckQuorum (the thesis, section 6.2): a leader that has not heard from a majority for an
   * election timeout steps down, and a peer that heard from its leader less than an election
   * timeout ago refuses votes of higher terms. Default on.
   */
  readonly checkQuorum?: boolean;
  /**
   * A new leader appends an entry of its term at once — an empty one (command `null`), which the
   * service skips — as the Raft paper's section 8 asks: a leader commits entries of earlier terms
   * only with one of its own, so without it a leader elected after the last write keeps a commit
   * index behind its followers' (and the state it applied behind theirs) until the next write
   * or read. Default off: the lab's Raft numbers the service's commands from 1, and holds no
   * entry of its own; real clusters (`kv-server`, `raft-peer`) turn it on.
   */
  readonly noOpOnElection?: boolean;
  /**
   * Cap on appends in flight to one follower in the replicate state: the pipelining window.
   * Default {@linkcode DEFAULT_MAX_INFLIGHT_APPENDS}.
   */
  readonly maxInflightAppends?: number;
  /**
   * Cap on the estimated bytes of entries in flight to one follower (one larger append may go
   * alone). Default {@linkcode DEFAULT_MAX_INFLIGHT_BYTES}.
   */
  readonly maxInflightBytes?: number;
  /**
   * How much faster or slower one peer's clock may run than another's, in percent: the lease of
   * lease reads is shortened by it (see raft/read_rounds.ts). Default
   * {@linkcode DEFAULT_MAX_CLOCK_DRIFT_PERCENT}.
   */
  readonly maxClockDriftPercent?: number;
  /**
   * Cap on reads waiting for a read index (a leader's, or a follower's forwarded ones); more are
   * refused. Default {@linkcode DEFAULT_MAX_PENDING_READS}.
   */
  readonly maxPendingReads?: number;
}

/** Default cap on entries per AppendEntries. */
export const DEFAULT_MAX_ENTRIES_PER_APPEND = 512;
/** Default cap on estimated entry bytes per AppendEntries (1 MiB). */
export const DEFAULT_MAX_APPEND_BYTES = 1024 * 1024;
/** Default cap on committed entries per Ready. */
export const DEFAULT_MAX_ENTRIES_PER_READY = 1024;
/** Default cap on messages waiting for `ready()`. */
export const DEFAULT_MAX_PENDING_MESSAGES = 65_536;
/** Default cap on appends in flight to one follower. */
export const DEFAULT_MAX_INFLIGHT_APPENDS = 64;
/** Default cap on estimated entry bytes in flight to one follower (8 MiB). */
export const DEFAULT_MAX_INFLIGHT_BYTES = 8 * 1024 * 1024;
/**
 * Default clock drift allowed between peers: 10 %, far above what quartz clocks drift (parts per
 * million), and what a virtual machine's paused clock or a scheduler delay of a tick may add.
 */
export const DEFAULT_MAX_CLOCK_DRIFT_PERCENT = 10;
/** Default cap on reads waiting for a read index. */
export const DEFAULT_MAX_PENDING_READS = 4096;
/** The most appends a window may hold: its ring is allocated up front, per follower. */
export const MAX_INFLIGHT_APPENDS_LIMIT = 4096;

/** Throws when `config` cannot make a working core: names the field at fault. */
export function checkConfig(config: RaftCoreConfig): void {
  const { id, peers } = config;
  assert(
    new Set(peers).size === peers.length,
    `Peer ${id} cannot start: peer ids ${peers.join(",")} repeat`,
  );
  for (const peer of peers) {
    assert(Number.isSafeInteger(peer) && peer >= 0, `Peer id ${peer} is not a whole number`);
  }
  assert(
    peers.length === 0 || peers.includes(id),
    `Peer ${id} cannot start: it is not in peers ${peers.join(",")}`,
  );
  assert(
    Number.isSafeInteger(config.electionTimeoutTicks) && config.electionTimeoutTicks > 0,
    `Election timeout of ${config.electionTimeoutTicks} ticks is not a positive whole number`,
  );
  assert(
    Number.isSafeInteger(config.heartbeatTicks) && config.heartbeatTicks > 0 &&
      config.heartbeatTicks < config.electionTimeoutTicks,
    `Heartbeat of ${config.heartbeatTicks} ticks must be positive and below the election timeout of ${config.electionTimeoutTicks}`,
  );
  const votedFor = config.hardState?.votedFor ?? NO_VOTE;
  assert(
    votedFor === NO_VOTE || (Number.isSafeInteger(votedFor) && votedFor >= 0),
    `Peer ${id} cannot start: it voted for ${votedFor}, not a peer id`,
  );
  for (
    const cap of [
      config.maxEntriesPerAppend,
      config.maxAppendBytes,
      config.maxEntriesPerReady,
      config.maxPendingMessages,
      config.maxInflightAppends,
      config.maxInflightBytes,
      config.maxPendingReads,
    ]
  ) {
    assert(
      cap === undefined || (Number.isSafeInteger(cap) && cap > 0),
      `Cap ${cap} is not a positive whole number`,
    );
  }
  assert(
    (config.maxInflightAppends ?? DEFAULT_MAX_INFLIGHT_APPENDS) <= MAX_INFLIGHT_APPENDS_LIMIT,
    `A window of ${config.maxInflightAppends} appends in flight is over the limit of ${MAX_INFLIGHT_APPENDS_LIMIT}`,
  );
  const drift = config.maxClockDriftPercent ?? DEFAULT_MAX_CLOCK_DRIFT_PERCENT;
  assert(
    Number.isFinite(drift) && drift >= 0 && drift <= 50,
    `A clock drift of ${drift} % is not between 0 and 50 %`,
  );
}
