/**
 * The knobs of one safety-simulation run, all drawn from its seed, so that different seeds
 * explore different weather: calm or stormy networks, frequent or rare crashes, small or large
 * batches, busy or idle clients.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Random } from "../util/random.ts";

/**
 * Virtual time units in one tick; message delays are counted in units, finer than ticks, and each
 * peer's tick period differs from this by up to the run's clock drift (a percent of it).
 */
export const TICK_UNITS = 100;

/** Clock drift allowances a run picks from, in percent: the cores are told the same. */
export const CLOCK_DRIFT_PERCENTS: readonly number[] = [0, 5, 10];

/** Group sizes a run picks from when none is given. */
export const GROUP_SIZES: readonly number[] = [3, 5, 7];

/**
 * Most spare peers a run has beside its group: they start as peers joining a running group
 * (no membership, no vote) and become members only if a membership change adds them.
 */
export const SPARE_PEERS_MAX = 2;

/** How the network behaves for a while; faults change it during a run. */
export interface Weather {
  /** Chance that a message is lost. */
  readonly dropRate: number;
  /** Chance that a message is delivered a second time (with its own delay). */
  readonly duplicateRate: number;
  /** Most units an ordinary message takes. */
  readonly maxDelayUnits: number;
  /** Chance that a message is held back far longer, so it arrives after later ones. */
  readonly longDelayRate: number;
  /** Most units a held-back message takes. */
  readonly maxLongDelayUnits: number;
}

/** The kinds of fault a run injects between events. */
export const FAULT_KINDS = [
  "crash",
  "partition",
  "strand leader",
  "heal",
  "weather",
  "snapshot",
  "transfer",
  "membership",
  "pause",
] as const;

/** One kind of fault (see {@linkcode FAULT_KINDS}). */
export type FaultKind = typeof FAULT_KINDS[number];

/**
 * Relative weights of the fault kinds. Runs differ in temperament: a balanced mix, or one
 * that hammers on one weakness (crashes for votes and persistence, leader isolation for the
 * divergent logs of Figure 8, partitions of every shape, membership changes in quick
 * succession with partitions and crashes between them, pauses of a leader past its lease) so
 * that a many-step scenario stays likely enough to be found in a few hundred seeds.
 */
export type FaultMix = Readonly<Record<FaultKind, number>>;

/** The mixes a run picks from. */
export const FAULT_MIXES: readonly FaultMix[] = [
  {
    crash: 20,
    partition: 20,
    "strand leader": 5,
    heal: 20,
    weather: 15,
    snapshot: 20,
    transfer: 10,
    membership: 10,
    pause: 10,
  },
  {
    crash: 60,
    partition: 5,
    "strand leader": 5,
    heal: 15,
    weather: 5,
    snapshot: 10,
    transfer: 5,
    membership: 5,
    pause: 5,
  },
  {
    crash: 10,
    partition: 10,
    "strand leader": 60,
    heal: 10,
    weather: 5,
    snapshot: 5,
    transfer: 5,
    membership: 5,
    pause: 5,
  },
  {
    crash: 10,
    partition: 50,
    "strand leader": 10,
    heal: 20,
    weather: 5,
    snapshot: 5,
    transfer: 5,
    membership: 5,
    pause: 5,
  },
  {
    crash: 15,
    partition: 10,
    "strand leader": 5,
    heal: 10,
    weather: 5,
    snapshot: 5,
    transfer: 50,
    membership: 5,
    pause: 5,
  },
  {
    crash: 15,
    partition: 20,
    "strand leader": 5,
    heal: 10,
    weather: 5,
    snapshot: 5,
    transfer: 5,
    membership: 50,
    pause: 5,
  },
  {
    crash: 5,
    partition: 20,
    "strand leader": 5,
    heal: 10,
    weather: 5,
    snapshot: 5,
    transfer: 5,
    membership: 5,
    pause: 50,
  },
];

/** Every knob of one run. */
export interface SafetySimulationProfile {
  /** Group size: the bootstrap voters, ids 0 to `peers` - 1. */
  readonly peers: number;
  /** Spare peers, ids from `peers` on, that start joining with no membership. */
  readonly sparePeers: number;
  /** Base election timeout of every core. */
  readonly electionTimeoutTicks: number;
  /** Heartbeat interval of every core. */
  readonly heartbeatTicks: number;
  /** Cap on entries per AppendEntries: small caps exercise many round trips. */
  readonly maxEntriesPerAppend: number;
  /** Cap on committed entries per Ready: small caps split applying over batches. */
  readonly maxEntriesPerReady: number;
  /** The network's weather at the start. */
  readonly weather: Weather;
  /** Mean units between two client proposals. */
  readonly meanProposalGapUnits: number;
  /** Mean units between two client reads. */
  readonly meanReadGapUnits: number;
  /** Mean units between two faults. */
  readonly meanFaultGapUnits: number;
  /** How likely each kind of fault is. */
  readonly faultMix: FaultMix;
  /** Chance, per applied entry, that the service snapshots at a random applied index. */
  readonly compactRate: number;
  /** Chance, per Ready, of a crash part way through persisting it or before sending. */
  readonly crashInReadyRate: number;
  /**
   * Chance, per Ready, that its persist takes time (like an fsync): it ends at a later event,
   * and meanwhile the peer keeps stepping messages (followers' acknowledgements of entries it
   * sent early among them) and may crash with the write half done.
   */
  readonly slowPersistRate: number;
  /** Most units a slow persist takes. */
  readonly maxPersistUnits: number;
  /** Whether the cores run PreVote (the Raft thesis, section 9.6). */
  readonly preVote: boolean;
  /** Whether the cores run CheckQuorum (the thesis, section 6.2) and its vote lease. */
  readonly checkQuorum: boolean;
  /** Whether a new leader appends an entry of its term at once (the paper's section 8). */
  readonly noOpOnElection: boolean;
  /** Most ticks a crashed peer stays down. */
  readonly maxDowntimeTicks: number;
  /**
   * How far apart the peers' clocks may run, in percent: each peer's tick period is drawn within
   * it (see {@linkcode drawTickPeriodUnits}), and the cores are told it (their lease shrinks).
   */
  readonly maxClockDriftPercent: number;
}

/** Draws a profile for a group of `peers` (or a size from {@linkcode GROUP_SIZES}). */
export function drawProfile(random: Random, peers?: number): SafetySimulationProfile {
  const size = peers ?? GROUP_SIZES[random.int(GROUP_SIZES.length)];
  assert(
    Number.isSafeInteger(size) && size >= 1 && size <= 15,
    `Cannot simulate a group of ${size} peers: choose 1 to 15`,
  );
  const electionTimeoutTicks = 6 + random.int(10);
  return {
    peers: size,
    sparePeers: random.int(SPARE_PEERS_MAX + 1),
    electionTimeoutTicks,
    heartbeatTicks: 1 + random.int(Math.floor(electionTimeoutTicks / 3)),
    maxEntriesPerAppend: pick(random, [1, 2, 3, 8, 64]),
    maxEntriesPerReady: pick(random, [1, 2, 5, 1024]),
    weather: drawWeather(random, electionTimeoutTicks),
    meanProposalGapUnits: pick(random, [2, 5, 10, 30, 100]) * TICK_UNITS,
    meanReadGapUnits: pick(random, [1, 3, 10, 30]) * TICK_UNITS,
    meanFaultGapUnits: Math.round(pick(random, [0.5, 1, 2, 4]) * electionTimeoutTicks * TICK_UNITS),
    faultMix: pick(random, FAULT_MIXES),
    compactRate: pick(random, [0, 0.02, 0.1, 0.3]),
    crashInReadyRate: pick(random, [0, 0.002, 0.01, 0.03]),
    maxDowntimeTicks: pick(random, [2, electionTimeoutTicks, 4 * electionTimeoutTicks]),
    slowPersistRate: pick(random, [0, 0.3, 0.9]),
    maxPersistUnits: pick(random, [0.2, 1, 4]) * TICK_UNITS,
    preVote: pick(random, [true, false]),
    checkQuorum: pick(random, [true, false]),
    maxClockDriftPercent: pick(random, CLOCK_DRIFT_PERCENTS),
    // Derived, not drawn: a draw would move every later one, and the seeds the planted-bug tests
    // pin would replay differently (they fix it off).
    noOpOnElection: electionTimeoutTicks % 2 === 0,
  };
}

/**
 * One peer's tick period in units: from {@linkcode TICK_UNITS} up to the profile's drift above
 * it, so any two peers' periods differ by at most that drift. Often at either end, where a lease
 * that ignores the drift breaks first.
 */
export function drawTickPeriodUnits(random: Random, profile: SafetySimulationProfile): number {
  const spread = slowestTickUnits(profile) - TICK_UNITS;
  return TICK_UNITS + pick(random, [0, spread, random.int(spread + 1)]);
}

/** The longest tick period a peer of `profile` may have, in units. */
export function slowestTickUnits(profile: SafetySimulationProfile): number {
  return TICK_UNITS + Math.floor(TICK_UNITS * profile.maxClockDriftPercent / 100);
}

/** Draws the network's weather: anything from a perfect network to a very lossy one. */
export function drawWeather(random: Random, electionTimeoutTicks: number): Weather {
  return {
    dropRate: pick(random, [0, 0.05, 0.1, 0.3]),
    duplicateRate: pick(random, [0, 0.02, 0.1]),
    maxDelayUnits: pick(random, [0.1, 0.5, 2, 4]) * TICK_UNITS,
    longDelayRate: pick(random, [0, 0.01, 0.05]),
    maxLongDelayUnits: pick(random, [2, 10]) * electionTimeoutTicks * TICK_UNITS,
  };
}

/** The weather in which a healed group must make progress: no loss, short delays. */
export const CALM_WEATHER: Weather = {
  dropRate: 0,
  duplicateRate: 0,
  maxDelayUnits: TICK_UNITS / 2,
  longDelayRate: 0,
  maxLongDelayUnits: 0,
};

function pick<Item>(random: Random, items: readonly Item[]): Item {
  return items[random.int(items.length)];
}

/** Draws a fault kind with the weights of `mix`. */
export function drawFault(random: Random, mix: FaultMix): FaultKind {
  let total = 0;
  for (const kind of FAULT_KINDS) total += mix[kind];
  let draw = random.next() * total;
  for (const kind of FAULT_KINDS) {
    draw -= mix[kind];
    if (draw < 0) return kind;
  }
  return FAULT_KINDS[FAULT_KINDS.length - 1];
}
