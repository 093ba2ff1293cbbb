/**
 * Raft for dsys: the pure state machine ({@linkcode RaftCore}), its log and its messages; the
 * driver ({@linkcode RaftNode}) that connects a core to a clock, peers and storage; and the
 * storage interface a driver persists through. Durable files live in `storage/`, the lab's API
 * in `lab_api/`. See core.ts for the driver contract.
 *
 * @module
 */
export * from "./core.ts";
export * from "./log.ts";
export * from "./messages.ts";
export * from "./node.ts";
export * from "./storage.ts";
export type { Random } from "../util/random.ts";
export type { Clock, TimerHandle } from "../util/clock.ts";
