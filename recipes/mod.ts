/**
 * What people build on a coordination service, built on the key/value service's clerk and
 * watcher: sessions (a lease kept alive), etcd's lock with fencing tokens, the 2025 lab's lock on
 * versioned Puts, leader election, a barrier and ZooKeeper's ready-file configuration, and a
 * counter.
 *
 * @module
 */
export * from "./connection.ts";
export * from "./session.ts";
export * from "./turns.ts";
export * from "./mutex.ts";
export * from "./versioned_lock.ts";
export * from "./election.ts";
export * from "./barrier.ts";
export * from "./counter.ts";
export * from "./wait.ts";
