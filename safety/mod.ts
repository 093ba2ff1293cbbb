/**
 * The randomized safety simulation of the Raft core (`dsys test sim`): random groups under
 * random faults, with Raft's invariants checked after every event. See simulation.ts for the
 * fault model, reads.ts for the clients' reads, pauses.ts for stopped processes and checker.ts
 * for the invariants.
 *
 * @module
 */
export {
  DEFAULT_EVENTS,
  runSafetySimulation,
  type SafetySimulationOptions,
  type SafetySimulationResult,
} from "./simulation.ts";
export type { SafetySimulationStats } from "./stats.ts";
export { READS_IN_FLIGHT_MAX, type ReadStats } from "./reads.ts";
export { HELD_MESSAGES_MAX } from "./pauses.ts";
export {
  type AnsweredRead,
  type InvariantName,
  INVARIANTS,
  type PeerView,
  type PersistTarget,
  type ReadConsistency,
  SafetyChecker,
  type SafetyCheckerOptions,
  type Violation,
} from "./checker.ts";
export {
  CLOCK_DRIFT_PERCENTS,
  FAULT_KINDS,
  type FaultKind,
  type FaultMix,
  GROUP_SIZES,
  type SafetySimulationProfile,
  SPARE_PEERS_MAX,
  TICK_UNITS,
  type Weather,
} from "./profile.ts";
