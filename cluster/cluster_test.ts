/**
 * Real clusters of real processes: `kv-server` nodes over TCP with their files, driven through
 * the `kv` command as a user would, a spare node that joins and restarts, and the shell scripts
 * in scripts/.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChildGroup } from "../util/child_process.ts";
import { freeLoopbackPorts, ProcessCluster } from "./process_cluster.ts";
import { DeadlineClerk } from "../kv_cli/kv_clerk.ts";
import { runKvDemo } from "../commands/demo.ts";
import { selfCommand } from "../util/self_command.ts";
import { addVoter } from "../peer/membership_service.ts";

/** Small enough that the writes below make the leader snapshot several times. */
const SMALL_MAX_RAFT_STATE_BYTES = 4_000;
const WRITES_WHILE_DOWN = 300;
const FAILOVER_TIMEOUT_MS = 10_000;
const CATCH_UP_TIMEOUT_MS = 20_000;

/** Runs `dsys kv …` as a process; returns its exit code and output. */
async function kvCommand(
  group: ChildGroup,
  cwd: string,
  servers: readonly string[],
  args: string[],
): Promise<{ code: number; output: string }> {
  const child = group.spawn(["kv", "--servers", servers.join(","), "--timeout", "10", ...args], {
    cwd,
  });
  return await child.exited;
}

Deno.test("a kv-server cluster fails over when its leader is killed and catches the old leader up by snapshot", async () => {
  const cluster = await ProcessCluster.start({
    size: 3,
    transport: "tcp",
    maxRaftStateBytes: SMALL_MAX_RAFT_STATE_BYTES,
  });
  const baseDir = cluster.root;
  const clients = new ChildGroup();
  try {
    const servers = cluster.clientAddresses();
    assert.equal((await kvCommand(clients, baseDir, servers, ["put", "city", "Lyon"])).code, 0);
    assert.equal((await kvCommand(clients, baseDir, servers, ["append", "city", " 69"])).code, 0);
    const read = await kvCommand(clients, baseDir, servers, ["get", "city"]);
    assert.deepEqual(read, { code: 0, output: "Lyon 69\n" });

    const oldLeader = await cluster.waitForLeader(FAILOVER_TIMEOUT_MS);
    const killed = await cluster.kill(oldLeader);
    assert.equal(killed.code, 128 + 9, "the leader dies of SIGKILL");
    const survivors = cluster.ids.filter((id) => id !== oldLeader);
    const newLeader = await cluster.waitForLeader(FAILOVER_TIMEOUT_MS, survivors);
    assert.notEqual(newLeader, oldLeader);
    const afterFailover = await kvCommand(clients, baseDir, servers, ["get", "city"]);
    assert.deepEqual(afterFailover, { code: 0, output: "Lyon 69\n" });

    const clerk = new DeadlineClerk(servers, FAILOVER_TIMEOUT_MS);
    try {
      for (let write = 0; write < WRITES_WHILE_DOWN; write++) {
        const outcome = await clerk.run({ kind: "put", key: `k${write % 10}`, value: `v${write}` });
        assert.equal(outcome.ok, true, `put ${write} is acknowledged`);
      }
    } finally {
      clerk.close();
    }
    const leaderStatus = await cluster.status(newLeader);
    const leaderCommit = leaderStatus?.commitIndex ?? 0;
    const leaderSnapshot = leaderStatus?.snapshotIndex ?? 0;
    assert.ok(leaderSnapshot > 0, "the leader took a snapshot while the old leader was down");

    await cluster.startNode(oldLeader);
    const rows = await cluster.waitForStatus(
      (rows) => (rows[oldLeader].status?.appliedIndex ?? 0) >= leaderCommit,
      CATCH_UP_TIMEOUT_MS,
      `node ${oldLeader} applying up to ${leaderCommit}`,
    );
    const restarted = rows[oldLeader].status;
    assert.ok(restarted !== null);
    assert.ok(restarted.snapshotsInstalled >= 1, "the restarted node installed a snapshot");
    for (const row of rows) {
      assert.ok((row.status?.appliedIndex ?? 0) >= leaderCommit, `${row.address} caught up`);
    }
    const last = await kvCommand(clients, baseDir, servers, ["get", "k9"]);
    assert.deepEqual(last, { code: 0, output: `v${WRITES_WHILE_DOWN - 1}\n` });
  } finally {
    await clients.killAll();
    await cluster.close();
  }
});

Deno.test("a spare node joins with an empty folder once started, and restarts after kill -9 as the member it became", async () => {
  const cluster = await ProcessCluster.start({ size: 1, spares: 1, kind: "raft-peer" });
  try {
    const [spare] = cluster.spareIds;
    assert.deepEqual([cluster.ids, spare, cluster.isRunning(spare)], [[0], 1, false]);
    await cluster.waitForLeader(FAILOVER_TIMEOUT_MS);
    await cluster.startNode(spare);
    const waiting = await cluster.status(spare);
    assert.deepEqual([waiting?.membership, waiting?.voters], ["none", []], "it waits, unknown");
    const servers = cluster.clientAddresses([0]);
    const address = cluster.listenAddress(spare);
    assert.equal((await addVoter(servers, spare, address, 10_000)).alreadyVoter, false);
    // Done again (a retried command), it changes nothing and says so; at another address it fails.
    const again = await addVoter(servers, spare, address, 10_000);
    assert.deepEqual([again.alreadyVoter, again.membership.voters], [true, [0, 1]]);
    await assert.rejects(
      () => addVoter(servers, spare, "127.0.0.1:1", 10_000),
      new RegExp(`Peer 1 is a member already, at ${address}, not 127.0.0.1:1`),
    );
    const killed = await cluster.kill(spare);
    assert.equal(killed.code, 128 + 9);
    // Restarted with --join on the files it has now: it comes back as a voter of both.
    await cluster.startNode(spare);
    const [row] = await cluster.waitForStatus(
      (rows) => rows[0].status?.leader === 0,
      FAILOVER_TIMEOUT_MS,
      `node ${spare} following node 0 again`,
      [spare],
    );
    assert.deepEqual([row.status?.membership, row.status?.voters], ["voter", [0, 1]]);
    assert.deepEqual(await cluster.waitForLeader(FAILOVER_TIMEOUT_MS, [0, spare]), 0);
  } finally {
    await cluster.close();
  }
});

/** Runs scripts/kv_cluster.sh with `args`; throws with its output unless it exits 0. */
async function clusterScript(dir: string, args: string[]): Promise<string> {
  const script = new URL("../scripts/kv_cluster.sh", import.meta.url).pathname;
  const output = await new Deno.Command("bash", {
    args: [script, args[0], "-d", dir, ...args.slice(1)],
    env: { DSYS: selfCommand([]).join(" ") },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `kv_cluster.sh ${args.join(" ")} failed: ${text}`);
  return text;
}

function processExists(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("scripts/kv_cluster.sh starts, uses, restarts and stops a 5-node cluster", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsys-scripts-test-" });
  const pids: number[] = [];
  try {
    const basePort = freeLoopbackPorts(5);
    await clusterScript(dir, ["start", "-n", "5", "-p", String(basePort)]);
    for (let id = 0; id < 5; id++) {
      pids.push(Number(await Deno.readTextFile(`${dir}/node-${id}.pid`)));
    }
    assert.match(await clusterScript(dir, ["workload", "-k", "3"]), /3 keys put/);
    await clusterScript(dir, ["restart", "2"]);
    pids.push(Number(await Deno.readTextFile(`${dir}/node-2.pid`)));
    assert.match(await clusterScript(dir, ["workload", "-k", "2"]), /2 keys put/);
    const status = JSON.parse(await clusterScript(dir, ["status", "--json"]));
    assert.equal(status.length, 5);
    const nodes = status as { role?: string; term?: number; error?: string }[];
    for (const node of nodes) assert.equal(node.error, undefined, "every node answers");
    const leaderTerms = nodes.filter((node) => node.role === "leader").map((node) => node.term);
    assert.equal(new Set(leaderTerms).size, leaderTerms.length, "one leader per term at most");
    await clusterScript(dir, ["stop"]);
    for (const pid of pids) assert.equal(processExists(pid), false, `process ${pid} is gone`);
  } finally {
    // A failed start leaves its nodes running with only their pid files to name them.
    for (let id = 0; id < 5; id++) {
      const pidFile = await Deno.readTextFile(`${dir}/node-${id}.pid`).catch(() => null);
      if (pidFile !== null) pids.push(Number(pidFile));
    }
    for (const pid of pids) {
      if (processExists(pid)) Deno.kill(pid, "SIGKILL");
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the key/value demo survives the loss of its leader and cleans up", async () => {
  const lines: string[] = [];
  await runKvDemo((line) => lines.push(line));
  const text = lines.join("\n");
  assert.match(text, /killing the leader, node \d, with SIGKILL/);
  assert.match(text, /get capital\/peru -> "Lima \(Rímac\)"/);
  const folder = /data in (\S+)\)/.exec(text)?.[1];
  assert.ok(folder !== undefined, "the demo names its folder");
  await assert.rejects(Deno.stat(folder), Deno.errors.NotFound);
});
