/**
 * Leadership transfer between real kv-server processes under client load: each hand-over ends
 * with the chosen node leading, no acknowledged write is lost, the history is linearizable, and
 * `dsys leader transfer` says so as a command.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertLinearizable, type Operation } from "../linearizability/mod.ts";
import { transferLeadership } from "../peer/leadership.ts";
import { appendValue, auditAppends, type IssuedAppend } from "./append_audit.ts";
import { runKvCommand, toOperation } from "./kv_clients.ts";
import { ProcessCluster } from "./process_cluster.ts";
import { ChildGroup } from "../util/child_process.ts";

const LEADER_TIMEOUT_MS = 10_000;
const TRANSFER_TIMEOUT_MS = 5_000;
const CLIENTS = 3;
const KEY = "transfer";
/** Appends each client makes between two hand-overs, so every transfer happens under load. */
const APPENDS_BETWEEN_TRANSFERS = 15;

Deno.test("leadership handed around a 3-node cluster under load: the target leads each time, nothing acknowledged is lost", async () => {
  const cluster = await ProcessCluster.start({ size: 3, transport: "tcp" });
  const group = new ChildGroup();
  try {
    const servers = cluster.clientAddresses();
    let leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const history: Operation[] = [];
    const issued: IssuedAppend[] = [];
    const done = Array.from({ length: CLIENTS }, () => 0);
    let stopping = false;
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      const shell = cluster.startShell(servers, 5);
      try {
        // Bounded: the test stops the clients after the last hand-over.
        for (let sequence = 0; !stopping && sequence < 100_000; sequence++) {
          const value = appendValue(client, sequence);
          const result = await shell.run("append", KEY, value);
          history.push(toOperation(result));
          issued.push({ client, sequence, key: KEY, value, acknowledged: result.ok });
          done[client]++;
        }
      } finally {
        await shell.close();
      }
    });
    const loaded = async (target: number[]) => {
      // Bounded by the clients' progress: each waits for its next operation.
      while (done.some((count, client) => count < target[client])) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    for (let round = 0; round < 3; round++) {
      await loaded(done.map((count) => count + APPENDS_BETWEEN_TRANSFERS));
      const target = (leader + 1) % 3;
      const outcome = await transferLeadership(servers, target, TRANSFER_TIMEOUT_MS);
      assert.deepEqual([outcome.from, outcome.to], [leader, target]);
      leader = target;
    }
    // The command, as an operator would type it, hands it on once more.
    const next = (leader + 1) % 3;
    const command = await group.spawn(
      ["leader", "--servers", servers.join(","), "transfer", "--to", `${next}`],
      { cwd: cluster.root },
    ).exited;
    assert.equal(command.code, 0, command.output);
    assert.match(
      command.output,
      new RegExp(`^peer ${next} leads term \\d+, taken over from peer ${leader} in \\d+ ms\\n$`),
    );
    await loaded(done.map((count) => count + APPENDS_BETWEEN_TRANSFERS));
    stopping = true;
    await Promise.all(clients);
    const read = await runKvCommand(servers, 10, ["get", KEY], cluster.root);
    assert.equal(read.code, 0, read.stderr);
    const audit = auditAppends(issued, new Map([[KEY, read.stdout.replace(/\n$/, "")]]));
    assert.equal(audit.acknowledged, issued.filter((append) => append.acknowledged).length);
    assertLinearizable(history);
  } finally {
    await group.killAll();
    await cluster.close();
  }
});

Deno.test("dsys leader transfer says in one line that no server answered", async () => {
  const group = new ChildGroup();
  try {
    const refused = await group.spawn([
      "leader",
      "--servers",
      "127.0.0.1:1,127.0.0.1:2",
      "transfer",
      "--to",
      "5",
    ], { cwd: "." }).exited;
    assert.equal(refused.code, 1);
    assert.equal(refused.output, "dsys: No node of 127.0.0.1:1,127.0.0.1:2 answered\n");
  } finally {
    await group.killAll();
  }
});
