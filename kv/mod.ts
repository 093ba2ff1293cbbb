/**
 * The linearizable key/value service on Raft: the replicated state machine, the server that
 * puts every operation through its Raft peer, the clerk that finds the leader and retries, and
 * the protocol between them.
 *
 * @module
 */
export * from "./clerk.ts";
export * from "./protocol.ts";
export * from "./server.ts";
export * from "./state_machine.ts";
export * from "./command.ts";
export { type Change, type KeyRange, type KeyRecord, KvStore, prefixEnd } from "./store.ts";
export type { Clock, TimerHandle } from "../util/clock.ts";
