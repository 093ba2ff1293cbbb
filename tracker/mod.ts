/**
 * What a Raft leader tracks of its followers, as etcd's `tracker/` and `quorum/` packages: each
 * follower's replication {@linkcode Progress} and its window of appends in flight, the quorum
 * arithmetic of commits and elections (tested from the tables in `testdata/`), and the read
 * rounds that confirm linearizable reads and leases ({@linkcode ReadRounds}). Pure data: no
 * messages, clocks or storage; `raft/core.ts` drives them.
 *
 * @module
 */
export * from "./progress.ts";
export * from "./inflights.ts";
export * from "./quorum.ts";
export * from "./read_rounds.ts";
