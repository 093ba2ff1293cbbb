/**
 * Every Raft message between real peers travels in an envelope naming the sender's cluster and
 * node, and a peer refuses one from another cluster, a vote request its Raft core would refuse
 * outright (from a non-voter, while it follows a leader), or a message that claims another
 * sender. Without it a node of another cluster that was given this
 * node's address (a typo in `--peers`, a reused port) could vote in its elections or depose its
 * leader with a higher term. The simulation needs no envelope: its network has one cluster.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { RpcClient, RpcHandlers } from "../rpc/types.ts";
import { RAFT_STEP_METHOD } from "../raft_node/node.ts";

/** What a peer sends in place of a bare Raft message. */
export interface ClusterEnvelope {
  /** The sender's cluster name. */
  readonly cluster: string;
  /** The sender's node id. */
  readonly from: number;
  /** The Raft message itself (its `from` must be the envelope's). */
  readonly message: unknown;
}

/** Who a peer is: its cluster, its id, the voters of its membership, and whom it refuses votes. */
export interface PeerIdentity {
  /** The cluster's name. */
  readonly cluster: string;
  /** This node's id. */
  readonly id: number;
  /**
   * The voters of the membership in force (it changes, hence a function). A node with none is
   * joining: it takes messages from any node of its cluster until the leader's membership comes.
   */
  readonly voters: () => readonly number[];
  /**
   * Whether this peer's Raft core refuses a vote request of `sender` outright (the core's rule,
   * `RaftCore.refusesVoteOf`): the envelope refuses it first, to count and log it.
   */
  readonly refusesVoteOf: (sender: number) => boolean;
}

/** A client whose Raft messages leave in an envelope naming `identity`. */
export function envelopingClient(client: RpcClient, identity: PeerIdentity): RpcClient {
  return {
    call: <Result>(method: string, args: unknown, options?: { timeoutMs?: number }) => {
      if (method !== RAFT_STEP_METHOD) return client.call<Result>(method, args, options);
      const envelope: ClusterEnvelope = {
        cluster: identity.cluster,
        from: identity.id,
        message: args,
      };
      return client.call<Result>(method, envelope, options);
    },
    close: () => client.close(),
  };
}

/**
 * `handlers` with the Raft method taking envelopes: the message inside is stepped only when the
 * envelope names this cluster and another node of it, and the message agrees on its sender.
 * A refusal throws (the caller gets a remote error) and calls `onRefusal` with its reason.
 */
export function envelopeCheckingHandlers(
  handlers: RpcHandlers,
  identity: PeerIdentity,
  onRefusal: (reason: string) => void,
): RpcHandlers {
  const step = handlers[RAFT_STEP_METHOD];
  assert(step !== undefined, "Cannot check envelopes: the handlers have no Raft method");
  return {
    ...handlers,
    [RAFT_STEP_METHOD]: (args: unknown) => {
      const problem = envelopeProblem(args, identity);
      if (problem !== null) {
        onRefusal(problem);
        throw new Error(
          `Peer ${identity.id} of cluster ${
            JSON.stringify(identity.cluster)
          } refused a message: ${problem}`,
        );
      }
      return step((args as ClusterEnvelope).message);
    },
  };
}

/** Why `value` is not an envelope this peer accepts, or null. */
export function envelopeProblem(value: unknown, identity: PeerIdentity): string | null {
  const { cluster, from, message } = typeof value === "object" && value !== null &&
      !Array.isArray(value)
    ? value as Partial<ClusterEnvelope>
    : {};
  if (typeof cluster !== "string" || !Number.isSafeInteger(from)) {
    return "it is not an envelope naming its cluster and node";
  }
  if (cluster !== identity.cluster) return `it comes from cluster ${JSON.stringify(cluster)}`;
  const sender = from as number;
  if (sender < 0 || sender === identity.id) return `it comes from node ${sender}, not another node`;
  const claimed = (message as { from?: unknown } | null)?.from;
  if (claimed !== sender) return `node ${sender} sent a message from node ${String(claimed)}`;
  // A leader this node does not know yet must be followed, but only a voter may ask for votes.
  const type = (message as { type?: unknown }).type;
  const asksVote = type === "PreVote" || type === "RequestVote";
  if (asksVote && identity.refusesVoteOf(sender)) {
    const voters = identity.voters().join(", ");
    return `node ${sender} asks for votes but is not a voter (voters: ${voters})`;
  }
  return null;
}
