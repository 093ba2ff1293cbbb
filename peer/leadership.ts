/**
 * Leadership transfer between real peers: the RPC a leader takes to hand leadership over, and
 * the client that finds the leader, asks it, and waits until the target leads.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { realClock, sleep } from "../util/clock.ts";
import type { RpcHandlers } from "../rpc/types.ts";
import { connect } from "../rpc/tcp_client.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import type { RaftNode } from "../raft_node/node.ts";
import { fetchStatus } from "./status.ts";
import { viewCluster } from "./membership_service.ts";

/** The RPC a leader takes: `{to}` names the peer to hand leadership to. */
export const TRANSFER_LEADERSHIP_METHOD = "Raft.TransferLeadership";

/** Pause between looks at the cluster while waiting for the target to lead. */
const POLL_MS = 5;
/** Longest a status call may take while waiting. */
const STATUS_TIMEOUT_MS = 1_000;

/** The handler of {@linkcode TRANSFER_LEADERSHIP_METHOD} for `node`. */
export function transferHandler(node: RaftNode): RpcHandlers {
  return {
    [TRANSFER_LEADERSHIP_METHOD]: (args: unknown) => {
      const to = (args as { to?: unknown } | null)?.to;
      if (!Number.isSafeInteger(to)) throw new Error("A transfer names no peer (field to)");
      node.transferLeadership(to as number);
      return { from: node.id, to, term: node.term };
    },
  };
}

/** What {@linkcode transferLeadership} saw. */
export interface TransferOutcome {
  /** The peer that led before. */
  readonly from: number;
  /** The peer that leads now. */
  readonly to: number;
  /** The new leader's term. */
  readonly term: number;
  /** From asking the old leader until a status showed the new one leading, in ms. */
  readonly elapsedMs: number;
}

/**
 * Asks the leader of the cluster `servers` belong to (any of its addresses will do) to hand
 * leadership to voter `to`, and waits until `to` reports itself leader of a later term. Throws a
 * one-line error when no server leads, `to` is not a voter, the leader refuses, or `to` does not
 * lead within `timeoutMs`.
 */
export async function transferLeadership(
  servers: readonly string[],
  to: number,
  timeoutMs: number,
  security?: TransportSecurity,
): Promise<TransferOutcome> {
  const { statuses, leader } = await viewCluster(servers, security);
  if (statuses.length === 0) throw new Error(`No node of ${servers.join(",")} answered`);
  if (leader === null) {
    throw new Error("No server leads: try again once one does");
  }
  if (!leader.voters.includes(to)) {
    throw new Error(
      `Peer ${to} is not a voter of the cluster: its voters are ${leader.voters.join(", ")}`,
    );
  }
  if (leader.id === to) {
    return { from: to, to, term: leader.term, elapsedMs: 0 };
  }
  const target = leader.addresses[String(to)];
  assert(target !== undefined, `Leader ${leader.id} knows no address of voter ${to}`);
  const startMs = realClock.now();
  const client = connect(leader.address, { security });
  try {
    await client.call(TRANSFER_LEADERSHIP_METHOD, { to }, { timeoutMs });
  } finally {
    client.close();
  }
  // Bounded by timeoutMs.
  while (realClock.now() - startMs < timeoutMs) {
    const { status } = await fetchStatus(target, STATUS_TIMEOUT_MS, security);
    if (status?.role === "leader" && status.term > leader.term) {
      return { from: leader.id, to, term: status.term, elapsedMs: realClock.now() - startMs };
    }
    await sleep(realClock, POLL_MS);
  }
  throw new Error(`Peer ${to} did not take over from peer ${leader.id} within ${timeoutMs} ms`);
}
