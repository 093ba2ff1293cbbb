import assert from "node:assert/strict";
import { serve } from "../rpc/tcp_server.ts";
import { formatAddress } from "../rpc/address.ts";
import { freeLoopbackAddresses } from "../cluster/process_cluster.ts";
import {
  currentLeader,
  fetchStatus,
  fetchStatuses,
  formatStatusTable,
  type NodeStatus,
  STATUS_METHOD,
  statusProblem,
  type StatusRow,
} from "./status.ts";
import { nodeStatus } from "./testing/node_status.ts";

function row(status: NodeStatus | null, address = "127.0.0.1:1"): StatusRow {
  return { address, status, error: status === null ? "connection refused" : null };
}

Deno.test("statusProblem accepts a full status and names a missing or mistyped field", () => {
  assert.equal(statusProblem(nodeStatus(0, "leader", 1)), null);
  assert.equal(statusProblem(null), "the status is not a map");
  assert.match(statusProblem({ ...nodeStatus(0, "leader", 1), term: "1" }) ?? "", /field term/);
  assert.match(statusProblem({ ...nodeStatus(0, "leader", 1), kind: "x" }) ?? "", /kind/);
  const { role: _role, ...withoutRole } = nodeStatus(0, "leader", 1);
  assert.match(statusProblem(withoutRole) ?? "", /field role/);
});

Deno.test("currentLeader picks the leader of the highest term and -1 when none leads it", () => {
  assert.equal(currentLeader([row(nodeStatus(0, "follower", 2)), row(null)]), -1);
  const rows = [
    row(nodeStatus(0, "leader", 1)),
    row(nodeStatus(1, "leader", 3)),
    row(nodeStatus(2, "follower", 3)),
  ];
  assert.equal(currentLeader(rows), 1);
  assert.equal(currentLeader([...rows].reverse()), 1);
  const deposed = [row(nodeStatus(0, "leader", 2)), row(nodeStatus(1, "candidate", 3))];
  assert.equal(currentLeader(deposed), -1, "a leader of term 2 is deposed once term 3 began");
});

Deno.test("formatStatusTable aligns columns and shows unreachable nodes as such", () => {
  const table = formatStatusTable([
    row(nodeStatus(0, "leader", 12), "127.0.0.1:7100"),
    row(null, "127.0.0.1:7101"),
  ]).split("\n");
  assert.equal(table.length, 3);
  assert.match(table[0], /^id\s+address\s+member\s+role\s+term\s+leader\s+commit\s+applied/);
  assert.match(table[1], /^0\s+127\.0\.0\.1:7100\s+voter\s+leader\s+12\s+0\s+7\s+7/);
  assert.equal(table[1].indexOf("leader"), table[0].indexOf("role"));
  assert.match(table[2], /^1\s+127\.0\.0\.1:7101\s+unreachable: connection refused$/);
});

Deno.test("fetchStatuses returns answers, refusals and malformed answers without throwing", async () => {
  const good = await serve("127.0.0.1:0", { [STATUS_METHOD]: () => nodeStatus(4, "leader", 2) });
  const bad = await serve("127.0.0.1:0", { [STATUS_METHOD]: () => ({ kind: "kv-server" }) });
  const [closed] = freeLoopbackAddresses(1);
  try {
    const rows = await fetchStatuses(
      [formatAddress(good.address), formatAddress(bad.address), closed],
      1000,
    );
    assert.deepEqual(rows[0].status, nodeStatus(4, "leader", 2));
    assert.equal(rows[0].error, null);
    assert.equal(rows[1].status, null);
    assert.match(rows[1].error ?? "", /field id is not a number/);
    assert.equal(rows[2].status, null);
    assert.match(rows[2].error ?? "", /refused|reach/);
  } finally {
    await good.close();
    await bad.close();
  }
});

Deno.test("fetchStatus gives up on a node that does not answer in time", async () => {
  let release = () => {};
  const silent = await serve("127.0.0.1:0", {
    [STATUS_METHOD]: () => new Promise<void>((resolve) => (release = resolve)),
  });
  try {
    const answer = await fetchStatus(formatAddress(silent.address), 100);
    assert.equal(answer.status, null);
    assert.match(answer.error ?? "", /no reply within 100 ms/);
  } finally {
    release();
    await silent.close();
  }
});
