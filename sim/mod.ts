/**
 * Deterministic simulation: a virtual clock and scheduler ({@linkcode Simulation}) and a lossy
 * network with the lab network's semantics ({@linkcode SimNetwork}). Many nodes run inside one
 * process on virtual time, and every run replays exactly from its seed.
 *
 * @example
 * ```ts
 * const simulation = new Simulation(42);
 * const network = new SimNetwork(simulation);
 * network.addServer("server", { "Echo.Say": (args) => args });
 * const end = network.makeEnd("client-to-server");
 * network.connect("client-to-server", "server");
 * network.enable("client-to-server", true);
 * const reply = await simulation.run(() => end.call("Echo.Say", "hello"));
 * ```
 *
 * @module
 */
export {
  DEFAULT_MAX_EVENTS,
  DEFAULT_MAX_EVENTS_AT_ONE_INSTANT,
  DEFAULT_MAX_VIRTUAL_MS,
  type RunOptions,
  Simulation,
} from "./simulation.ts";
export {
  DEAD_SERVER_POLL_MS,
  DEFAULT_MAX_STEPS_AT_ONE_INSTANT,
  LONG_FAILURE_DELAY_MS,
  MAX_CALLS_IN_FLIGHT,
  REORDER_DRAW_BOUND,
  REORDER_DRAW_THRESHOLD,
  REORDER_MAX_EXTRA_DELAY_MS,
  REORDER_MIN_DELAY_MS,
  SHORT_FAILURE_DELAY_MS,
  SimNetwork,
  type SimNetworkOptions,
  UNRELIABLE_DROPS_PER_THOUSAND,
  UNRELIABLE_MAX_DELAY_MS,
} from "./network.ts";
export type { Clock, TimerHandle } from "../util/clock.ts";
export type { NetworkOutcome, NetworkStep, PeerState, SimRecorder } from "./recorder.ts";
