/**
 * The randomized safety simulation of the Raft core (`dsys test sim`): random groups under
 * random faults, with Raft's invariants checked after every event. See simulation.ts for the
 * fault model and checker.ts for the invariants.
 *
 * @module
 */
export {
  DEFAULT_EVENTS,
  runSafetySimulation,
  type SafetySimulationOptions,
  type SafetySimulationResult,
  type SafetySimulationStats,
} from "./simulation.ts";
export {
  type InvariantName,
  INVARIANTS,
  type PeerView,
  type PersistTarget,
  SafetyChecker,
  type SafetyCheckerOptions,
  type Violation,
} from "./checker.ts";
export {
  FAULT_KINDS,
  type FaultKind,
  type FaultMix,
  GROUP_SIZES,
  type SafetySimulationProfile,
  SPARE_PEERS_MAX,
  TICK_UNITS,
  type Weather,
} from "./profile.ts";
