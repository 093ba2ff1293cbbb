/**
 * Raft for dsys: the pure state machine ({@linkcode RaftCore}) with its configuration, its log
 * and messages (what a leader tracks of its followers, in `tracker/`, is re-exported here); the
 * driver contract ({@linkcode Ready}) and the storage interface a driver persists through. The
 * driver that connects a core to a clock, peers and storage lives in `raft_node/`, durable files
 * in `storage/`, the lab's API in `lab_api/`.
 *
 * @module
 */
export * from "./core.ts";
export * from "./config.ts";
export * from "./ready.ts";
export * from "../tracker/mod.ts";
export * from "./membership.ts";
export * from "./log.ts";
export * from "./messages.ts";
export * from "./storage.ts";
export type { Random } from "../util/random.ts";
export type { Clock, TimerHandle } from "../util/clock.ts";
