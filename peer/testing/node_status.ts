/**
 * Statuses for tests of what reads them (status tables, exit codes, client discovery).
 *
 * @module
 */
import type { NodeStatus } from "../status.ts";

/** A kv-server's status: node `id` in `role` at `term`, leading itself when it leads. */
export function nodeStatus(id: number, role: string, term: number): NodeStatus {
  return {
    kind: "kv-server",
    id,
    cluster: "dsys",
    role,
    term,
    leader: role === "leader" ? id : -1,
    commitIndex: 7,
    appliedIndex: 7,
    snapshotIndex: 0,
    snapshotsInstalled: 0,
    raftStateBytes: 512,
    logFileBytes: 600,
    appliedCommands: 7,
    persists: 3,
    persistedEntries: 7,
    uptimeMs: 1000,
    refusedMessages: 0,
    address: `127.0.0.1:${7000 + id}`,
    membership: "voter",
    voters: [0, 1, 2],
    learners: [],
    addresses: {},
    membershipIndex: 0,
  };
}
