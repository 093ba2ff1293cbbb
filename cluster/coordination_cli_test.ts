/**
 * The coordination subcommands of `dsys kv` as processes against a real three-node cluster:
 * keys, ranges, transactions and leases in etcdctl's shapes; `dsys kv lock` from four contending
 * processes while the leader is killed with -9 (one holder at a time, growing fencing tokens);
 * and `dsys kv watch --prefix -w json`, which sees every put once and in order across a kill -9
 * of the leader.
 *
 * @module
 */
import assert from "node:assert/strict";
import { selfCommand } from "../util/self_command.ts";
import { readLines } from "../kv_cli/kv.ts";
import { ProcessCluster } from "./process_cluster.ts";
import { runDsys } from "./testing/run_dsys.ts";

/** Budget of each wait for a leader or for the processes to finish. */
const SETTLE_TIMEOUT_MS = 20_000;
/** The operations' --timeout: far past a failover, so that no outcome is unknown. */
const TIMEOUT_SECONDS = 10;

/**
 * Runs `body` on a fresh three-node cluster that has a leader, and closes the cluster; each
 * kv-server gets `nodeArgs` too.
 */
async function withCluster(
  body: (cluster: ProcessCluster) => Promise<void>,
  nodeArgs: readonly string[] = [],
): Promise<void> {
  const cluster = await ProcessCluster.start({ size: 3, nodeArgs: () => [...nodeArgs] });
  try {
    await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    await body(cluster);
  } finally {
    await cluster.close();
  }
}

/**
 * Waits until `done()` holds, polling every 20 ms; fails naming `what` (and what `seen()` says
 * of the state) after the budget.
 */
async function until(
  done: () => boolean | Promise<boolean>,
  what: string,
  seen: () => string = () => "",
): Promise<void> {
  const deadlineMs = performance.now() + SETTLE_TIMEOUT_MS;
  while (!(await done())) {
    assert.ok(performance.now() < deadlineMs, `${what} within ${SETTLE_TIMEOUT_MS} ms${seen()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `dsys kv --servers … <args>` with `input` on its standard input, to its end. */
async function kv(
  cluster: ProcessCluster,
  args: readonly string[],
  input = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const servers = cluster.clientAddresses().join(",");
  const flags = ["--servers", servers, "--timeout", `${TIMEOUT_SECONDS}`];
  return await runDsys(["kv", ...flags, ...args], { cwd: cluster.root, stdin: input });
}

/** Runs `dsys kv …` and returns its standard output, asserting it exited 0. */
async function ok(cluster: ProcessCluster, args: readonly string[], input = ""): Promise<string> {
  const result = await kv(cluster, args, input);
  assert.equal(result.code, 0, `dsys kv ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

Deno.test("dsys kv put, get, range, del, txn and lease in etcdctl's shapes", () =>
  withCluster(async (cluster) => {
    assert.equal(await ok(cluster, ["put", "config/b"], "two\n"), "");
    await ok(cluster, ["put", "config/a", "one"]);
    assert.equal(await ok(cluster, ["get", "config/b"]), "two\n");
    assert.equal(await ok(cluster, ["get", "missing"]), "\n");
    assert.equal(
      await ok(cluster, ["get", "config/", "--prefix"]),
      "config/a\none\nconfig/b\ntwo\n",
    );
    const json = (await ok(cluster, ["-w", "json", "get", "config/", "--prefix", "--rev", "1"]))
      .trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(
      json.map(({ type, key, value, createRevision }) => ({ type, key, value, createRevision })),
      [{ type: "key", key: "config/b", value: "two", createRevision: 1 }],
    );
    assert.equal(await ok(cluster, ["range", "config/", "--limit", "1"]), "config/a\none\n");
    const refused = await kv(cluster, ["put", "config/a", "x", "--version", "0"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /version 0 was refused: its version is not 0 \(ErrVersion\)/);
    const txn = 'value("config/a") = "one"\n\nput config/a "one more"\n\nget config/a\n';
    assert.equal(await ok(cluster, ["txn"], txn), "SUCCESS\n\nOK\n");
    assert.equal(await ok(cluster, ["txn"], txn), "FAILURE\n\nconfig/a\none more\n");
    const grant = JSON.parse(await ok(cluster, ["-w", "json", "lease", "grant", "30"]));
    assert.equal(grant.ttlMs, 30_000);
    await ok(cluster, ["put", "owner", "me", "--lease", `${grant.lease}`]);
    assert.equal(
      await ok(cluster, ["lease", "revoke", `${grant.lease}`]),
      `lease ${grant.lease} revoked\n`,
    );
    assert.equal(await ok(cluster, ["get", "owner"]), "\n");
    assert.equal(await ok(cluster, ["del", "config/", "--prefix"]), "2\n");
    const first = await ok(cluster, ["put", "queue/job-", "a", "--sequential"]);
    const second = await ok(cluster, ["put", "queue/job-", "b", "--sequential"]);
    assert.match(first, /^queue\/job-\d{20}\n$/);
    assert.ok(second > first, `${second} after ${first}`);
    assert.equal(await ok(cluster, ["get", first.trim()]), "a\n");
    const gone = await kv(cluster, ["lease", "revoke", `${grant.lease}`]);
    assert.deepEqual([gone.code, gone.stderr], [
      1,
      `dsys: Lease ${grant.lease} does not exist (it expired or was revoked)\n`,
    ]);
  }));

/** Contending processes, and locks each takes in turn. */
const CONTENDERS = 4;
const ROUNDS = 3;

Deno.test("dsys kv lock from four processes while the leader is killed -9: one holder at a time, growing tokens", () =>
  withCluster(async (cluster) => {
    const log = `${cluster.root}/holders.log`;
    await Deno.writeTextFile(log, "");
    // Each holder notes its token on entering and on leaving; appends of one line are atomic.
    const script =
      `echo "in $DSYS_LOCK_REV $DSYS_LOCK_KEY" >> ${log}; sleep 0.2; echo "out $DSYS_LOCK_REV" >> ${log}`;
    const contenders = Array.from({ length: CONTENDERS }, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const result = await kv(cluster, ["lock", "job", "sh", "-c", script]);
        assert.equal(result.code, 0, result.stderr);
      }
    });
    // Kill the leader once someone holds the lock, and bring it back a second later.
    await until(async () => (await Deno.readTextFile(log)).includes("in "), "a holder");
    const leader = await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    await cluster.kill(leader);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await cluster.startNode(leader);
    await Promise.all(contenders);
    const lines = (await Deno.readTextFile(log)).trim().split("\n");
    assert.equal(lines.length, 2 * CONTENDERS * ROUNDS, lines.join("\n"));
    let lastToken = 0;
    for (let at = 0; at < lines.length; at += 2) {
      const entered = /^in (\d+) job\/[0-9a-f]+$/.exec(lines[at]);
      assert.ok(entered !== null, `line ${at}: ${lines[at]} (two holders?)`);
      const token = Number(entered[1]);
      assert.equal(lines[at + 1], `out ${token}`, `a holder entered while ${token} held the lock`);
      assert.ok(token > lastToken, `token ${token} came after ${lastToken}`);
      lastToken = token;
    }
  }));

/** Puts the watch test makes, and after which of them the leader is killed. */
const PUTS = 40;
const KILL_AFTER = 15;

/**
 * A `dsys kv -w json watch` process and the events it printed so far; it polls the servers in
 * the order of `ids`, the first as long as that one answers.
 */
function startWatch(cluster: ProcessCluster, ids: readonly number[], args: readonly string[]) {
  const servers = cluster.clientAddresses(ids).join(",");
  const argv = selfCommand(["kv", "--servers", servers, "-w", "json", "watch", ...args]);
  const [program, ...programArgs] = argv;
  const process = new Deno.Command(program, {
    args: programArgs,
    cwd: cluster.root,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const events: { type: string; key: string; value: string; revision: number }[] = [];
  const reading = (async () => {
    for await (const line of readLines(process.stdout, 1_000_000)) {
      assert.ok(line !== null, "a watch event line is too long");
      events.push(JSON.parse(line));
    }
  })();
  return { process, events, reading };
}

Deno.test("dsys kv watch --prefix -w json sees every put once, in order, across a kill -9 of the leader", () =>
  withCluster(async (cluster) => {
    // The watcher polls the leader first, so the kill cuts its poll off, not a bystander's.
    const leader = await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    const order = [leader, ...cluster.ids.filter((id) => id !== leader)];
    const watch = startWatch(cluster, order, ["w/", "--prefix", "--rev", "1"]);
    try {
      const shell = cluster.startShell(cluster.clientAddresses(), TIMEOUT_SECONDS);
      for (let i = 0; i < PUTS; i++) {
        if (i === KILL_AFTER) await cluster.kill(leader);
        const result = await shell.run("put", `w/${i}`, `v${i}`);
        assert.ok(result.ok, `put ${i}: ${result.error}`);
      }
      await until(() => watch.events.length >= PUTS, `${PUTS} events`, () => {
        const revisions = new Set(watch.events.map((event) => event.revision));
        const missing = Array.from({ length: PUTS }, (_, i) => i + 1).filter((revision) =>
          !revisions.has(revision)
        );
        return `: ${watch.events.length} came; none for revisions ${missing.join(", ")}`;
      });
      watch.process.kill("SIGINT");
      assert.equal((await watch.process.status).code, 0);
      await watch.reading;
      assert.deepEqual(
        watch.events.map(({ type, key, value }) => `${type} ${key} ${value}`),
        Array.from({ length: PUTS }, (_, i) => `put w/${i} v${i}`),
      );
      assert.deepEqual(
        watch.events.map((event) => event.revision),
        Array.from({ length: PUTS }, (_, i) => i + 1),
      );
    } finally {
      try {
        watch.process.kill("SIGKILL");
      } catch {
        // It exited already.
      }
      await watch.process.status;
      await watch.reading.catch(() => {});
    }
  }));

Deno.test("kv-server --history bounds the revisions kept: older reads and watches are refused in one line", () =>
  withCluster(async (cluster) => {
    const shell = cluster.startShell(cluster.clientAddresses(), TIMEOUT_SECONDS);
    // 130 revisions with 20 kept: history is compacted in steps of 100, so it starts at 101.
    for (let i = 1; i <= 130; i++) {
      const result = await shell.run("put", "h", `v${i}`);
      assert.ok(result.ok, `put ${i}: ${result.error}`);
    }
    assert.equal(await ok(cluster, ["get", "h", "--rev", "125"]), "v125\n");
    const old = await kv(cluster, ["get", "h", "--rev", "2"]);
    assert.equal(old.code, 1, old.stderr);
    assert.match(old.stderr, /^dsys: .*"h".*ErrCompacted\n$/);
    const watch = await kv(cluster, ["watch", "h", "--rev", "1"]);
    assert.equal(watch.code, 1, watch.stderr);
    assert.match(
      watch.stderr,
      /^dsys: Cannot watch from revision 1: the history now starts at revision 101/,
    );
  }, ["--history", "20"]));
