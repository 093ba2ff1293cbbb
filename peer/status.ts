/**
 * The `Status` RPC that every real node (`kv-server` and `raft-peer`) serves, and what clients
 * do with it: ask a list of nodes, then print one table row or JSON object per node, with the
 * nodes that did not answer shown as unreachable. Scripts and tests read failover from it.
 *
 * @module
 */
import { errorText } from "../util/error_text.ts";
import { connect } from "../rpc/tcp_client.ts";
import { RpcAuthenticationError } from "../rpc/types.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { membershipProblem } from "../raft/membership.ts";

/** The RPC method a node serves its {@linkcode NodeStatus} on; it takes no argument. */
export const STATUS_METHOD = "Status";

/** How long a status call may wait before the node counts as unreachable. */
export const DEFAULT_STATUS_TIMEOUT_MS = 1_000;

/** What one node says about itself. */
export interface NodeStatus {
  /** Which program answers: a key/value server or a bare Raft peer. */
  readonly kind: "kv-server" | "raft-peer";
  /** The node's id. */
  readonly id: number;
  /** Where the node listens. */
  readonly address: string;
  /** The node's place in the membership in force: voter, learner, or none (joining, removed). */
  readonly membership: "voter" | "learner" | "none";
  /** The voters of the membership in force. */
  readonly voters: readonly number[];
  /** The learners of the membership in force. */
  readonly learners: readonly number[];
  /** Where each member listens, by id. */
  readonly addresses: Readonly<Record<string, string>>;
  /** The log index of the entry that carries the membership (0: the bootstrap one). */
  readonly membershipIndex: number;
  /** The cluster name its data folder belongs to. */
  readonly cluster: string;
  /** follower, precandidate, candidate or leader. */
  readonly role: string;
  /** The latest term the node has seen. */
  readonly term: number;
  /** The peer it believes leads, or -1. */
  readonly leader: number;
  /** The highest log index it knows to be committed. */
  readonly commitIndex: number;
  /** The highest log index applied to its state machine. */
  readonly appliedIndex: number;
  /** The last index covered by the latest snapshot it took or installed (0: none). */
  readonly snapshotIndex: number;
  /** Snapshots received from a leader (InstallSnapshot) since this process started. */
  readonly snapshotsInstalled: number;
  /** Bytes of persisted Raft state that count toward maxraftstate (hard state and live log). */
  readonly raftStateBytes: number;
  /** Bytes the log file has on disk, dead records included. */
  readonly logFileBytes: number;
  /** Commands applied since this process started. */
  readonly appliedCommands: number;
  /** Persists (each one fsync of the log, plus the hard state's when it changed) since start. */
  readonly persists: number;
  /** Log entries those persists wrote: over `persists`, the group commit's batch size. */
  readonly persistedEntries: number;
  /** Milliseconds since this process started serving. */
  readonly uptimeMs: number;
  /**
   * Raft messages refused since start: from another cluster, from a node outside the peer
   * list, or claiming another sender (see peer/cluster_envelope.ts).
   */
  readonly refusedMessages: number;
}

/** One row of a status report: the node's answer, or why there was none. */
export interface StatusRow {
  /** The address asked. */
  readonly address: string;
  /** Its answer, or null when it did not answer. */
  readonly status: NodeStatus | null;
  /** Why it did not answer (null when it did). */
  readonly error: string | null;
  /** Whether it refused the connection: a wrong or missing cluster secret or certificate. */
  readonly refused?: boolean;
}

const NUMBER_FIELDS = [
  "id",
  "term",
  "leader",
  "commitIndex",
  "appliedIndex",
  "snapshotIndex",
  "snapshotsInstalled",
  "raftStateBytes",
  "logFileBytes",
  "appliedCommands",
  "persists",
  "persistedEntries",
  "uptimeMs",
  "refusedMessages",
  "membershipIndex",
] as const;

/** Why `value` is not a {@linkcode NodeStatus}, or null when it is one. */
export function statusProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "the status is not a map";
  const fields = value as Record<string, unknown>;
  if (fields.kind !== "kv-server" && fields.kind !== "raft-peer") {
    return `the status names no known kind of node (${JSON.stringify(fields.kind)})`;
  }
  for (const name of NUMBER_FIELDS) {
    if (typeof fields[name] !== "number") return `the status field ${name} is not a number`;
  }
  if (typeof fields.role !== "string") return "the status field role is not a string";
  if (typeof fields.address !== "string") return "the status field address is not a string";
  const problem = membershipProblem(fields);
  if (problem !== null) return `the status shows no sound membership: ${problem}`;
  if (typeof fields.cluster !== "string") return "the status field cluster is not a string";
  return null;
}

/** Asks every node of `addresses` for its status, all at once; never throws. */
export async function fetchStatuses(
  addresses: readonly string[],
  timeoutMs = DEFAULT_STATUS_TIMEOUT_MS,
  security?: TransportSecurity,
): Promise<StatusRow[]> {
  return await Promise.all(addresses.map((address) => fetchStatus(address, timeoutMs, security)));
}

/** Asks one node for its status; never throws: failures come back as the row's error. */
export async function fetchStatus(
  address: string,
  timeoutMs: number,
  security?: TransportSecurity,
): Promise<StatusRow> {
  try {
    return { address, status: await callStatus(address, timeoutMs, security), error: null };
  } catch (error) {
    const refused = error instanceof RpcAuthenticationError;
    return { address, status: null, error: errorText(error), ...(refused ? { refused } : {}) };
  }
}

/**
 * Asks one node for its status within `timeoutMs`; throws the call's error (an RpcError, whose
 * kind tells a refused connection from silence) or one naming what the answer lacks.
 */
export async function callStatus(
  address: string,
  timeoutMs: number,
  security?: TransportSecurity,
): Promise<NodeStatus> {
  const client = connect(address, {
    defaultTimeoutMs: timeoutMs,
    connectTimeoutMs: timeoutMs,
    log: () => {},
    security,
  });
  try {
    const answer = await client.call(STATUS_METHOD, null, { timeoutMs });
    const problem = statusProblem(answer);
    if (problem !== null) throw new Error(problem);
    return answer as NodeStatus;
  } finally {
    client.close();
  }
}

const TABLE_HEADINGS = [
  "id",
  "address",
  "member",
  "role",
  "term",
  "leader",
  "commit",
  "applied",
  "snapshot",
  "installed",
  "state bytes",
];

/** `rows` as an aligned text table, one line per node, unreachable nodes said as such. */
export function formatStatusTable(rows: readonly StatusRow[]): string {
  const cells = rows.map((row, position) => {
    const status = row.status;
    if (status === null) {
      return [String(position), row.address, `unreachable: ${row.error ?? "no answer"}`];
    }
    return [
      String(status.id),
      row.address,
      status.membership,
      status.role,
      String(status.term),
      status.leader === -1 ? "none" : String(status.leader),
      String(status.commitIndex),
      String(status.appliedIndex),
      String(status.snapshotIndex),
      String(status.snapshotsInstalled),
      String(status.raftStateBytes),
    ];
  });
  const widths = TABLE_HEADINGS.map((heading, column) =>
    Math.max(heading.length, ...cells.map((line) => line.length > 3 ? line[column].length : 0))
  );
  const format = (line: readonly string[]) =>
    line.map((cell, column) => column === line.length - 1 ? cell : cell.padEnd(widths[column]))
      .join("  ");
  return [format(TABLE_HEADINGS), ...cells.map(format)].join("\n");
}

/**
 * The id of the node that leads in the highest term any answering node has reached, or -1 when
 * no node leads that term: a leader of an older term may already be deposed.
 */
export function currentLeader(rows: readonly StatusRow[]): number {
  let leader = -1;
  let highestTerm = -1;
  for (const row of rows) {
    const status = row.status;
    if (status === null || status.term < highestTerm) continue;
    if (status.term > highestTerm) leader = -1;
    highestTerm = status.term;
    if (status.role === "leader") leader = status.id;
  }
  return leader;
}
