/**
 * Secured clusters as processes: kv-servers with TLS and a cluster secret serve `dsys kv` clients
 * that have both, refuse one without the secret or with another (exit 1, one clear line, no
 * wait), and a raft peer of another secret cannot disturb a running cluster.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChildGroup, waitUntilListening } from "../util/child_process.ts";
import { selfCommand } from "../util/self_command.ts";
import { readLines } from "../kv_cli/kv.ts";
import { freeLoopbackAddresses, ProcessCluster } from "./process_cluster.ts";
import { runKvCommand } from "./kv_clients.ts";
import { fetchStatus } from "../peer/status.ts";
import { makeTestCertificates } from "../security/openssl_certificates.ts";
import { securityEnv } from "../security/security_options.ts";
import { loadTransportSecurity } from "../security/transport_security.ts";

const LEADER_TIMEOUT_MS = 10_000;
const LISTEN_TIMEOUT_MS = 30_000;
/** A client timeout far above what a refusal takes, so that a refusal is seen not to wait. */
const CLIENT_TIMEOUT_SECONDS = 20;
const POLL_MS = 20;

/** Runs this program with `args` and `env` to its end. */
async function runSelf(args: readonly string[], env: Readonly<Record<string, string>>) {
  const [program, ...programArgs] = selfCommand(args);
  const output = await new Deno.Command(program, { args: programArgs, env, stdin: "null" })
    .output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const dir = await Deno.makeTempDir({ prefix: "dsys-secure-cluster-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const certs = await makeTestCertificates(dir);

Deno.test("a TLS cluster with a secret serves its clients and refuses the others at once", async () => {
  const cluster = await ProcessCluster.start({ size: 3, transport: "tcp", security: certs });
  try {
    await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const servers = cluster.clientAddresses();
    const put = await cluster.runKv(servers, CLIENT_TIMEOUT_SECONDS, ["put", "city", "Lyon"]);
    assert.equal(put.code, 0, put.stderr);
    const get = await cluster.runKv(servers, CLIENT_TIMEOUT_SECONDS, ["get", "city"]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, "Lyon\n");
    const refusals: { env: Record<string, string>; why: RegExp }[] = [
      { env: {}, why: /authentication failed: .*TLS/ },
      { env: { DSYS_CA: certs.ca }, why: /requires the cluster secret/ },
      {
        env: { ...securityEnv(certs), DSYS_SECRET_FILE: certs.otherSecretFile },
        why: /the server did not prove the cluster secret/,
      },
    ];
    for (const { env, why } of refusals) {
      const refused = await runKvCommand(
        servers,
        CLIENT_TIMEOUT_SECONDS,
        ["get", "city"],
        cluster.root,
        env,
      );
      assert.equal(refused.code, 1, refused.stderr);
      assert.equal(refused.stdout, "");
      assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
      assert.match(refused.stderr, why);
      assert.ok(refused.returnMs - refused.callMs < CLIENT_TIMEOUT_SECONDS * 1000 / 2);
    }
    // status shows the refusals in its table and exits 1, as the other clients do.
    const status = await runSelf(["status", "--endpoints", servers.join(",")], {
      DSYS_CA: certs.ca,
    });
    assert.equal(status.code, 1, status.stderr);
  } finally {
    await cluster.close();
  }
});

Deno.test("a secured raft peer takes proposals with the secret, and refuses a peer with another", async () => {
  const [nodeAddress, rogueAddress] = freeLoopbackAddresses(2);
  const [program, ...args] = selfCommand(
    ["raft-peer", "--id", "0", "--endpoints", nodeAddress, "--data", `${dir}/node`],
  );
  const node = new Deno.Command(program, {
    args,
    env: securityEnv(certs),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = readLines(node.stderr, 4096);
  const rogues = new ChildGroup();
  try {
    const security = await loadTransportSecurity(certs);
    const status = async () => (await fetchStatus(nodeAddress, LEADER_TIMEOUT_MS, security)).status;
    // Bounded by the test's timeout: a single node elects itself at once.
    while ((await status())?.role !== "leader") await pause(POLL_MS);
    for (const [env, code] of [[securityEnv(certs), 0], [{ DSYS_CA: certs.ca }, 1]] as const) {
      const proposed = await runSelf(["propose", "--endpoints", nodeAddress, "set x 1"], env);
      assert.equal(proposed.code, code, proposed.stderr);
      if (code === 1) assert.match(proposed.stderr, /requires the cluster secret/);
    }
    const before = await status();
    // The rogue lists the node as its peer 0, so it asks it for votes, with the other secret.
    const rogueFiles = { ...certs, secretFile: certs.otherSecretFile };
    const rogue = rogues.spawn(
      [
        "raft-peer",
        "--id",
        "1",
        "--endpoints",
        `${nodeAddress},${rogueAddress}`,
        "--data",
        `${dir}/rogue`,
      ],
      { cwd: dir, env: securityEnv(rogueFiles) },
    );
    await waitUntilListening(rogue, rogueAddress, LISTEN_TIMEOUT_MS);
    const refusal =
      /RPC server on 127\.0\.0\.1:\d+: refusing the connection from 127\.0\.0\.1:\d+: wrong cluster secret/;
    // Bounded by the test's timeout: the rogue dials the node within its election timeout. The
    // line is the node's stamped warning, so the refusal is found anywhere in it.
    let line = await lines.next();
    while (!line.done && !refusal.test(line.value ?? "")) line = await lines.next();
    assert.ok(!line.done, "The node's log ended without a refusal");
    const after = await status();
    assert.equal(after?.role, "leader");
    assert.equal(after?.term, before?.term);
    assert.equal(after?.commitIndex, before?.commitIndex);
  } finally {
    await rogues.killAll();
    node.kill("SIGTERM");
    // Read to the end, so that the stream is released once the node has exited.
    while (!(await lines.next()).done) {
      // Only the refusal mattered.
    }
    await node.status;
  }
});
