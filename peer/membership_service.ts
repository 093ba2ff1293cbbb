/**
 * Membership changes between real peers: the RPC a leader takes to make one single-server change
 * (it answers once the change is committed), and the client behind `dsys member`, which finds
 * the leader from any address of the cluster and retries what a leader refuses for the moment
 * (a change still in flight, no entry of its term committed yet, a leader just deposed).
 *
 * @module
 */
import { errorText } from "../util/error_text.ts";
import { realClock, sleep } from "../util/clock.ts";
import type { RpcHandlers } from "../rpc/types.ts";
import { connect } from "../rpc/tcp_client.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { parseAddress } from "../rpc/address.ts";
import type { RaftNode } from "../raft_node/node.ts";
import { changedMembership, type Membership, type MembershipChange } from "../raft/membership.ts";
import { currentLeader, fetchStatuses, type NodeStatus, type StatusRow } from "./status.ts";

/** The RPC a leader takes: {@linkcode ChangeMembershipArguments}. */
export const CHANGE_MEMBERSHIP_METHOD = "Raft.ChangeMembership";

/** What {@linkcode CHANGE_MEMBERSHIP_METHOD} takes. */
export interface ChangeMembershipArguments {
  /** The change. */
  readonly change: MembershipChange;
  /** How long the leader may wait for a learner to catch up and for the commit, in ms. */
  readonly timeoutMs: number;
}

/** What {@linkcode CHANGE_MEMBERSHIP_METHOD} answers once the change is committed. */
export interface ChangeMembershipResult {
  /** The log index of the membership entry. */
  readonly index: number;
  /** The membership in force after it. */
  readonly membership: Membership;
}

/** Pause between looks at the node or the cluster while waiting. */
const POLL_MS = 5;
/** Pause before asking again after a refusal that passes (a change in flight, a new leader). */
const RETRY_MS = 50;
/** Longest a status call may take. */
const STATUS_TIMEOUT_MS = 1_000;
/** Longest a leader waits for anything on one call, whatever the caller asks. */
const CHANGE_TIMEOUT_MAX_MS = 60_000;
/** Refusals that pass by themselves: asking again later may succeed. */
const PASSING_REFUSAL =
  /not committed yet|committed no entry|does not lead|handing leadership|lost leadership|connect|closed|timed out/i;

/** The handler of {@linkcode CHANGE_MEMBERSHIP_METHOD} for `node`. */
export function membershipHandler(node: RaftNode): RpcHandlers {
  return {
    [CHANGE_MEMBERSHIP_METHOD]: async (args: unknown): Promise<ChangeMembershipResult> => {
      const { change, timeoutMs } = parseChangeArguments(args);
      const deadlineMs = realClock.now() + Math.min(timeoutMs, CHANGE_TIMEOUT_MAX_MS);
      if (change.kind === "promote") {
        // A leader refuses a peer that is no learner at once: itself or an unknown id has no
        // progress to catch up, and the caller would wait out its time to hear it was catching up.
        const refusal = node.role === "leader" ? changedMembership(node.membership, change) : null;
        if (typeof refusal === "string") throw new Error(refusal);
        await untilCaughtUp(node, change.id, deadlineMs);
      }
      const term = node.term;
      const index = node.proposeMembership(change);
      // Bounded by the deadline.
      while (node.commitIndex < index || node.term !== term) {
        // A later term may have replaced the entry: the caller must look again.
        if (node.term !== term) {
          throw new Error(`Peer ${node.id} lost leadership before entry ${index} committed`);
        }
        if (realClock.now() >= deadlineMs) {
          throw new Error(`Membership entry ${index} did not commit within the time allowed`);
        }
        await sleep(realClock, POLL_MS);
      }
      return { index, membership: node.membership };
    },
  };
}

/**
 * Waits until learner `id` holds the leader's log up to the commit index seen now, so that
 * promoting it cannot stall commits while it catches up.
 */
async function untilCaughtUp(node: RaftNode, id: number, deadlineMs: number): Promise<void> {
  const target = node.commitIndex;
  // Bounded by the deadline.
  for (;;) {
    const match = node.matchIndexOf(id);
    if (match === null && node.role !== "leader") {
      throw new Error(`Peer ${node.id} does not lead: ask the leader`);
    }
    if (match !== null && match >= target) return;
    if (realClock.now() >= deadlineMs) {
      throw new Error(
        `Learner ${id} holds the log up to ${
          match ?? "nothing"
        }, not yet up to ${target}: it is still catching up`,
      );
    }
    await sleep(realClock, POLL_MS);
  }
}

/** Checks the RPC's argument; throws a sentence naming what is wrong. */
function parseChangeArguments(args: unknown): ChangeMembershipArguments {
  const { change, timeoutMs } = (args ?? {}) as Partial<ChangeMembershipArguments>;
  if (!Number.isSafeInteger(timeoutMs) || (timeoutMs as number) <= 0) {
    throw new Error("A membership change names no positive timeoutMs");
  }
  const { kind, id, address } = (change ?? {}) as Partial<
    { kind: unknown; id: unknown; address: unknown }
  >;
  if (!Number.isSafeInteger(id) || (id as number) < 0) {
    throw new Error(`A membership change names no member id (got ${String(id)})`);
  }
  if (kind === "add-learner") {
    if (typeof address !== "string") throw new Error(`Peer ${id} is added without an address`);
    parseAddress(address);
    return { change: { kind, id: id as number, address }, timeoutMs: timeoutMs as number };
  }
  if (kind === "promote" || kind === "remove") {
    return { change: { kind, id: id as number }, timeoutMs: timeoutMs as number };
  }
  throw new Error(`A membership change of kind ${JSON.stringify(kind)} is unknown`);
}

/** What a look at the cluster found: the statuses that answered and the leader's, if any. */
export interface ClusterView {
  /** Every status that answered, from the given addresses and the members they named. */
  readonly statuses: readonly NodeStatus[];
  /** The leader of the highest term seen, or null. */
  readonly leader: NodeStatus | null;
}

/**
 * Asks `servers`, then every member they name, for their status: any one address of a cluster
 * is enough to find all of it. Never throws.
 */
export async function viewCluster(
  servers: readonly string[],
  security?: TransportSecurity,
): Promise<ClusterView> {
  const asked = new Set(servers);
  const answered: StatusRow[] = [];
  let pending = [...servers];
  // Two rounds: the given addresses, then the members they named that were not asked yet.
  for (let round = 0; round < 2 && pending.length > 0; round++) {
    const rows = await fetchStatuses(pending, STATUS_TIMEOUT_MS, security);
    const named: string[] = [];
    for (const row of rows) {
      if (row.status === null) continue;
      answered.push(row);
      for (const address of Object.values(row.status.addresses)) {
        if (!asked.has(address)) named.push(address);
        asked.add(address);
      }
    }
    pending = named;
  }
  const statuses = answered.map((row) => row.status as NodeStatus);
  const leaderId = currentLeader(answered);
  const leader = statuses.find((status) => status.id === leaderId && status.role === "leader");
  return { statuses, leader: leader ?? null };
}

/**
 * Makes `change` through the leader of the cluster `servers` belong to, retrying refusals that
 * pass until `timeoutMs` runs out; returns once the change is committed. Throws a one-line error
 * when no node answers, or the change is refused for good (a member added twice, an unknown id).
 */
export async function changeMembership(
  servers: readonly string[],
  change: MembershipChange,
  timeoutMs: number,
  security?: TransportSecurity,
): Promise<ChangeMembershipResult> {
  const deadlineMs = realClock.now() + timeoutMs;
  let lastProblem = "no node answered";
  // Bounded by the deadline.
  while (realClock.now() < deadlineMs) {
    const { statuses, leader } = await viewCluster(servers, security);
    if (statuses.length === 0) throw new Error(`No node of ${servers.join(",")} answered`);
    if (leader === null) lastProblem = "no node leads";
    else {
      const remainingMs = Math.max(1, Math.round(deadlineMs - realClock.now()));
      const client = connect(leader.address, { log: () => {}, security });
      try {
        return await client.call<ChangeMembershipResult>(
          CHANGE_MEMBERSHIP_METHOD,
          { change, timeoutMs: remainingMs } satisfies ChangeMembershipArguments,
          { timeoutMs: remainingMs + STATUS_TIMEOUT_MS },
        );
      } catch (error) {
        lastProblem = errorText(error);
        if (!PASSING_REFUSAL.test(lastProblem)) throw new Error(lastProblem);
      } finally {
        client.close();
      }
    }
    await sleep(realClock, RETRY_MS);
  }
  throw new Error(
    `The membership change did not go through within ${timeoutMs} ms: ${lastProblem}`,
  );
}

/**
 * Adds voter `id` at `address` the safe way: as a learner, then promoted once it has caught up.
 * Done twice, it does nothing the second time: a learner already there is only promoted, and a
 * voter already there at that address is left as it is (`alreadyVoter` says so). Throws a
 * one-line error when `id` is a member at another address, or a step is refused for good.
 */
export async function addVoter(
  servers: readonly string[],
  id: number,
  address: string,
  timeoutMs: number,
  security?: TransportSecurity,
): Promise<ChangeMembershipResult & { readonly alreadyVoter: boolean }> {
  try {
    await changeMembership(servers, { kind: "add-learner", id, address }, timeoutMs, security);
  } catch (error) {
    if (!/is a member already/.test(errorText(error))) throw error;
    const { leader } = await viewCluster(servers, security);
    const known = leader?.addresses[String(id)];
    if (leader === null || known !== address) {
      throw new Error(
        `Peer ${id} is a member already, at ${
          known ?? "an address the leader did not say"
        }, not ${address}`,
      );
    }
    if (leader.voters.includes(id)) {
      const membership = {
        voters: leader.voters,
        learners: leader.learners,
        addresses: leader.addresses,
      };
      return { index: leader.membershipIndex, membership, alreadyVoter: true };
    }
  }
  const promoted = await changeMembership(servers, { kind: "promote", id }, timeoutMs, security);
  return { ...promoted, alreadyVoter: false };
}
