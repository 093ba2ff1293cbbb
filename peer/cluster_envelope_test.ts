import assert from "node:assert/strict";
import type { RpcClient, RpcHandlers } from "../rpc/types.ts";
import { RAFT_STEP_METHOD } from "../raft_node/node.ts";
import {
  envelopeCheckingHandlers,
  envelopeProblem,
  envelopingClient,
  type PeerIdentity,
} from "./cluster_envelope.ts";

/** Peer 1 of voters 0, 1 and 2, following a leader: its core refuses votes of non-voters. */
const ALPHA_1: PeerIdentity = {
  cluster: "alpha",
  id: 1,
  voters: () => [0, 1, 2],
  refusesVoteOf: (sender) => ![0, 1, 2].includes(sender),
};
const vote = { type: "RequestVote", from: 0, to: 1, term: 5, lastLogIndex: 0, lastLogTerm: 0 };

Deno.test("a peer's Raft messages leave in an envelope naming its cluster and node; other calls do not", async () => {
  const calls: [string, unknown][] = [];
  const inner: RpcClient = {
    call: <Result>(method: string, args: unknown) => {
      calls.push([method, args]);
      return Promise.resolve(undefined as Result);
    },
    close: () => {},
  };
  const client = envelopingClient(inner, { ...ALPHA_1, id: 0 });
  await client.call(RAFT_STEP_METHOD, vote);
  await client.call("Status", {});
  assert.deepEqual(calls, [
    [RAFT_STEP_METHOD, { cluster: "alpha", from: 0, message: vote }],
    ["Status", {}],
  ]);
});

Deno.test("a peer steps the message of an envelope from another node of its cluster", () => {
  const stepped: unknown[] = [];
  const handlers: RpcHandlers = { [RAFT_STEP_METHOD]: (args) => stepped.push(args) };
  const refusals: string[] = [];
  const checked = envelopeCheckingHandlers(handlers, ALPHA_1, (reason) => refusals.push(reason));
  checked[RAFT_STEP_METHOD]({ cluster: "alpha", from: 0, message: vote });
  assert.deepEqual([stepped, refusals], [[vote], []]);
});

Deno.test("a peer refuses another cluster, a vote asked by a non-voter, a false sender and a bare message", () => {
  const stepped: unknown[] = [];
  const refusals: string[] = [];
  const checked = envelopeCheckingHandlers(
    { [RAFT_STEP_METHOD]: (args) => stepped.push(args) },
    ALPHA_1,
    (reason) => refusals.push(reason),
  );
  const cases: [unknown, string][] = [
    [{ cluster: "beta", from: 0, message: vote }, 'it comes from cluster "beta"'],
    [
      { cluster: "alpha", from: 3, message: { ...vote, from: 3 } },
      "node 3 asks for votes but is not a voter (voters: 0, 1, 2)",
    ],
    [
      { cluster: "alpha", from: 1, message: { ...vote, from: 1 } },
      "it comes from node 1, not another node",
    ],
    [{ cluster: "alpha", from: 2, message: vote }, "node 2 sent a message from node 0"],
    [vote, "it is not an envelope naming its cluster and node"],
    [null, "it is not an envelope naming its cluster and node"],
  ];
  for (const [args, reason] of cases) {
    assert.equal(envelopeProblem(args, ALPHA_1), reason);
    assert.throws(() => checked[RAFT_STEP_METHOD](args), {
      message: `Peer 1 of cluster "alpha" refused a message: ${reason}`,
    });
  }
  assert.deepEqual(stepped, []);
  assert.deepEqual(refusals, cases.map(([, reason]) => reason));
});

Deno.test("a peer takes a leader's append from a node it does not know yet, and a joining peer takes anything of its cluster", () => {
  const appendFrom7 = {
    type: "AppendEntries",
    from: 7,
    to: 1,
    term: 5,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [],
    leaderCommit: 0,
  };
  assert.equal(envelopeProblem({ cluster: "alpha", from: 7, message: appendFrom7 }, ALPHA_1), null);
  const joining: PeerIdentity = {
    cluster: "alpha",
    id: 1,
    voters: () => [],
    refusesVoteOf: () => false,
  };
  const voteFrom7 = { ...vote, from: 7 };
  assert.equal(envelopeProblem({ cluster: "alpha", from: 7, message: voteFrom7 }, joining), null);
  assert.equal(
    envelopeProblem({ cluster: "beta", from: 7, message: voteFrom7 }, joining),
    'it comes from cluster "beta"',
  );
});
