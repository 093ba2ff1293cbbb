/**
 * Real clusters of real processes: `kv-server` nodes over TCP with their files, driven through
 * the `kv` command as a user would, and the shell scripts in scripts/.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChildGroup } from "../mr/child_process.ts";
import { LocalCluster } from "../commands/local_cluster.ts";
import { DeadlineClerk } from "../commands/kv.ts";

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
  const baseDir = await Deno.makeTempDir({ prefix: "dsys-cluster-test-" });
  const cluster = await LocalCluster.start({
    size: 3,
    baseDir,
    maxRaftStateBytes: SMALL_MAX_RAFT_STATE_BYTES,
  });
  const clients = new ChildGroup();
  try {
    const servers = cluster.addresses;
    assert.equal((await kvCommand(clients, baseDir, servers, ["put", "city", "Lyon"])).code, 0);
    assert.equal((await kvCommand(clients, baseDir, servers, ["append", "city", " 69"])).code, 0);
    const read = await kvCommand(clients, baseDir, servers, ["get", "city"]);
    assert.deepEqual(read, { code: 0, output: "Lyon 69\n" });

    const oldLeader = await cluster.waitForLeader(FAILOVER_TIMEOUT_MS);
    const killed = await cluster.kill(oldLeader);
    assert.equal(killed.code, 128 + 9, "the leader dies of SIGKILL");
    const newLeader = await cluster.waitForLeader(FAILOVER_TIMEOUT_MS, [oldLeader]);
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
    const leaderRows = await cluster.status();
    const leaderCommit = leaderRows[newLeader].status?.commitIndex ?? 0;
    const leaderSnapshot = leaderRows[newLeader].status?.snapshotIndex ?? 0;
    assert.ok(leaderSnapshot > 0, "the leader took a snapshot while the old leader was down");

    await cluster.restart(oldLeader);
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
    await cluster.stop();
    await Deno.remove(baseDir, { recursive: true });
  }
});
