/**
 * Raft for dsys: the pure state machine ({@linkcode RaftCore}), its log and its messages. The
 * drivers, storage and the lab's API build on these; see core.ts for the driver contract.
 *
 * @module
 */
export * from "./core.ts";
export * from "./log.ts";
export * from "./messages.ts";
export type { Random } from "../util/random.ts";
