/**
 * The kv and status clients against real processes, as a new user meets them: any one address
 * is enough (a follower's), an address that is not a kv-server or a closed port is named at
 * once with exit 3, 200 KB of garbage into `kv shell` gives a few lines and exit 1, `status` tells a whole cluster (0) from one with a node down (4) and one
 * with none up (3), and a 1 MiB value goes in through standard input and comes back (a larger one than standard input takes is refused, naming the limit).
 *
 * @module
 */
import assert from "node:assert/strict";
import { type DsysRun, runDsys } from "./testing/run_dsys.ts";
import { freeLoopbackAddresses, ProcessCluster } from "./process_cluster.ts";
import { EXIT_DEGRADED, EXIT_OK, EXIT_UNAVAILABLE } from "../cli/exit_codes.ts";
import { ENDPOINTS_ENV } from "../cli/endpoints.ts";
import { BAD_LINES_REPORTED_MAX } from "../kv_cli/kv.ts";

const LEADER_TIMEOUT_MS = 10_000;
/** A timeout no step should come near: a step that waits it out has failed. */
const TIMEOUT_SECONDS = 30;

/** Runs `dsys <args…>` in `cwd`, with `stdin` and `env` when given. */
function dsys(
  cwd: string,
  args: readonly string[],
  options: { stdin?: Uint8Array; env?: Record<string, string> } = {},
): Promise<DsysRun> {
  return runDsys(args, { cwd, ...options });
}

/** `dsys kv --endpoints <endpoints> --timeout 30 <args…>`. */
function kv(
  cwd: string,
  endpoints: readonly string[],
  args: readonly string[],
  stdin?: Uint8Array,
) {
  const flags = ["--endpoints", endpoints.join(","), "--timeout", `${TIMEOUT_SECONDS}`];
  return dsys(cwd, ["kv", ...flags, ...args], { stdin });
}

Deno.test("a kv client needs only one address, a follower's included, and a value may come from standard input", async () => {
  const cluster = await ProcessCluster.start({ size: 3, transport: "tcp" });
  try {
    const addresses = cluster.clientAddresses();
    const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const follower = addresses[(leader + 1) % 3];
    const put = await kv(cluster.root, [follower], ["put", "city", "Lyon"]);
    assert.equal(put.code, EXIT_OK, put.stderr);
    const get = await kv(cluster.root, [follower], ["get", "city"]);
    assert.deepEqual([get.code, get.stdout], [EXIT_OK, "Lyon\n"], get.stderr);
    const fromEnv = await dsys(cluster.root, ["kv", "get", "city"], {
      env: { [ENDPOINTS_ENV]: follower },
    });
    assert.deepEqual([fromEnv.code, fromEnv.stdout], [EXIT_OK, "Lyon\n"], fromEnv.stderr);

    // Larger than one command-line argument may be (128 KiB on Linux). A 10 MiB value round-trips
    // too on an idle machine, but under load its AppendEntries hold up the heartbeats behind it
    // past the election timeout and the cluster re-elects for tens of seconds (see the report).
    const big = new Uint8Array(1024 * 1024).fill("x".charCodeAt(0));
    const putBig = await kv(cluster.root, [follower], ["put", "big"], big);
    assert.equal(putBig.code, EXIT_OK, putBig.stderr);
    const getBig = await kv(cluster.root, [addresses[leader]], ["get", "big"]);
    assert.equal(getBig.code, EXIT_OK, getBig.stderr);
    assert.equal(getBig.stdout.length, big.length + 1, "the 1 MiB value and a line end");
    assert.ok(/^x+\n$/.test(getBig.stdout), "the value comes back as it went in");

    const garbage = new Uint8Array(200 * 1024);
    for (let at = 0; at < garbage.length; at += 65_536) {
      crypto.getRandomValues(garbage.subarray(at, at + 65_536));
    }
    const shell = await kv(cluster.root, [follower], ["shell"], garbage);
    assert.equal(shell.code, 1, shell.stderr);
    const shellLines = shell.stdout.trimEnd().split("\n");
    assert.ok(shellLines.length <= BAD_LINES_REPORTED_MAX + 1, `${shellLines.length} lines`);
    assert.match(shellLines.at(-1) ?? "", /lines were not operations/);

    const tooBig = new Uint8Array(17 * 1024 * 1024).fill("x".charCodeAt(0));
    const refused = await kv(cluster.root, [follower], ["put", "huge"], tooBig);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^dsys: Standard input is longer than 16777216 characters/);
  } finally {
    await cluster.close();
  }
});

Deno.test("a kv client names a raft-peer, a closed port and a missing socket at once, with exit 3", async () => {
  const peers = await ProcessCluster.start({ size: 1, kind: "raft-peer", transport: "tcp" });
  try {
    const [peer] = peers.clientAddresses();
    const notKv = await kv(peers.root, [peer], ["get", "city"]);
    assert.equal(notKv.code, EXIT_UNAVAILABLE, notKv.stderr);
    assert.match(notKv.stderr, new RegExp(`${peer} is not a kv-server: it is a raft-peer`));

    const [closed] = freeLoopbackAddresses(1);
    const refused = await kv(peers.root, [closed], ["put", "city", "Lyon"]);
    assert.equal(refused.code, EXIT_UNAVAILABLE, refused.stderr);
    assert.match(refused.stderr, new RegExp(`^dsys: .*${closed}: connection refused\\n$`));
    assert.ok(refused.elapsedMs < TIMEOUT_SECONDS * 1000 / 2, "it did not wait out --timeout");

    const missing = `unix:${peers.root}/no-such-folder/kv.sock`;
    const noSocket = await kv(peers.root, [missing], ["get", "city"]);
    assert.equal(noSocket.code, EXIT_UNAVAILABLE, noSocket.stderr);
    assert.match(noSocket.stderr, /no-such-folder\/kv\.sock: no socket at that path/);
  } finally {
    await peers.close();
  }
});

Deno.test("dsys status exits 0 for a whole cluster, 4 with a node down and 3 with none up", async () => {
  const cluster = await ProcessCluster.start({ size: 3, transport: "tcp" });
  try {
    const endpoints = ["--endpoints", cluster.clientAddresses().join(",")];
    const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    // Every node must know the leader before the whole cluster counts as whole.
    await cluster.waitForStatus(
      (rows) => rows.every((row) => row.status?.leader === leader),
      LEADER_TIMEOUT_MS,
      `every node following node ${leader}`,
    );
    const whole = await dsys(cluster.root, ["status", ...endpoints, "-w", "json"]);
    assert.equal(whole.code, EXIT_OK, whole.stdout + whole.stderr);
    assert.equal(JSON.parse(whole.stdout).length, 3);
    const down = (leader + 1) % 3;
    await cluster.kill(down);
    const degraded = await dsys(cluster.root, ["status", ...endpoints]);
    assert.equal(degraded.code, EXIT_DEGRADED, degraded.stdout + degraded.stderr);
    assert.match(degraded.stdout, /unreachable: .*connection refused/);
    for (const id of cluster.ids) if (id !== down) await cluster.kill(id);
    const none = await dsys(cluster.root, ["status", ...endpoints, "-w", "json"]);
    assert.equal(none.code, EXIT_UNAVAILABLE, none.stdout + none.stderr);
  } finally {
    await cluster.close();
  }
});
