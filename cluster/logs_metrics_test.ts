/**
 * Logs and metrics of a real kv-server cluster (issue 14): every node serves `--metrics`, whose
 * values move as the cluster works and which Prometheus's own parser (`promtool check metrics`)
 * accepts without a problem; `--log-format json` gives one stamped object per line.
 *
 * @module
 */
import assert from "node:assert/strict";
import { freeLoopbackAddresses, ProcessCluster } from "./process_cluster.ts";
import { DeadlineClerk } from "../kv_cli/kv_clerk.ts";
import { MAX_KEPT_OUTPUT_CHARS } from "../util/child_process.ts";
import { assertPromtoolAccepts } from "../observe/testing/promtool.ts";

/** Small enough that the writes below make every node snapshot. */
const SMALL_MAX_RAFT_STATE_BYTES = 2_000;
const WRITES = 40;
const OPERATION_TIMEOUT_MS = 10_000;

/** The samples of a text exposition, by name with labels, as `dsys_raft_term` or `x{a="b"}`. */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

function sample(values: Map<string, number>, name: string): number {
  const value = values.get(name);
  assert.ok(value !== undefined, `no sample ${name}`);
  return value;
}

async function scrape(address: string): Promise<string> {
  const response = await fetch(`http://${address}/metrics`);
  assert.equal(response.status, 200);
  return await response.text();
}

Deno.test("a kv-server cluster's /metrics move with its work and pass promtool; its JSON log lines are stamped", async () => {
  const metricsAddresses = freeLoopbackAddresses(3);
  const cluster = await ProcessCluster.start({
    size: 3,
    transport: "tcp",
    maxRaftStateBytes: SMALL_MAX_RAFT_STATE_BYTES,
    nodeArgs: (id) => ["--metrics", metricsAddresses[id], "--log-format", "json"],
  });
  try {
    const clerk = new DeadlineClerk(cluster.clientAddresses(), OPERATION_TIMEOUT_MS);
    try {
      for (let write = 0; write < WRITES; write++) {
        const outcome = await clerk.run({ kind: "put", key: `k${write % 5}`, value: `v${write}` });
        assert.ok(outcome.ok, `put ${write}: ${outcome.ok ? "" : outcome.error}`);
      }
      const read = await clerk.run({ kind: "get", key: "k0", value: "" });
      assert.deepEqual(read, { ok: true, output: "v35" });
    } finally {
      clerk.close();
    }
    // Leadership may move under load, so the counts are summed over the nodes.
    const texts = await Promise.all(metricsAddresses.map(scrape));
    for (const text of texts) await assertPromtoolAccepts(text);
    const nodes = texts.map(samples);
    const sum = (name: string) => nodes.reduce((total, values) => total + sample(values, name), 0);
    const max = (name: string) => Math.max(...nodes.map((values) => sample(values, name)));
    for (const values of nodes) {
      const roles = ["follower", "precandidate", "candidate", "leader"];
      assert.equal(
        roles.reduce((n, role) => n + sample(values, `dsys_raft_role{role="${role}"}`), 0),
        1,
      );
      assert.ok(sample(values, "dsys_raft_term") >= 1);
    }
    assert.ok(max("dsys_raft_commit_index") >= WRITES);
    assert.ok(max("dsys_raft_applied_index") >= WRITES);
    assert.ok(sum("dsys_raft_proposals_total") >= WRITES);
    assert.ok(sum("dsys_raft_leader_changes_total") >= 3, "every node saw a leader");
    assert.ok(sum('dsys_kv_reads_total{kind="read_index"}') >= 1);
    assert.ok(sum("dsys_storage_fsync_seconds_count") >= WRITES);
    assert.ok(sum("dsys_storage_persist_entries_sum") >= WRITES);
    assert.ok(sum('dsys_rpc_calls_total{direction="in"}') >= WRITES);
    assert.ok(sum('dsys_rpc_calls_total{direction="out"}') >= WRITES);
    assert.ok(sum('dsys_rpc_bytes_total{direction="out"}') > 0);
    const snapshotter = nodes.findIndex((values) =>
      sample(values, "dsys_raft_snapshot_taken_bytes_count") >= 1
    );
    assert.ok(snapshotter >= 0, "some node took a snapshot");

    const exit = await cluster.kill(snapshotter, "SIGTERM");
    assert.equal(exit.code, 0, exit.output);
    // Only the output's tail is kept: a first line cut in the middle is left out.
    const kept = exit.output.trim().split("\n");
    const whole = exit.output.length >= MAX_KEPT_OUTPUT_CHARS ? kept.slice(1) : kept;
    const lines = whole.map((line) => JSON.parse(line));
    for (const line of lines) {
      assert.match(line.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(line.node, `kv-server ${snapshotter}`);
      assert.ok(["debug", "info", "warn", "error"].includes(line.level), line.level);
    }
    const snapshot = lines.find((line) => line.msg === "took a snapshot");
    assert.ok(snapshot?.index > 0 && snapshot?.bytes > 0, exit.output);
    assert.equal(lines.at(-1).msg, "stopped");
  } finally {
    await cluster.close();
  }
});

const GARBAGE_CONNECTIONS = 50;

/** Opens a connection to `address`, sends bytes no frame can start with, and reads until the server hangs up. */
async function sendGarbage(address: string): Promise<void> {
  const [hostname, port] = address.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    // A length prefix of 4 GiB: over any frame limit, so the server refuses the connection.
    await conn.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    const buffer = new Uint8Array(64);
    // Bounded: the server closes the connection once it read the prefix.
    while ((await conn.read(buffer)) !== null) {
      // Nothing is expected; the loop waits for the end of the stream.
    }
  } finally {
    conn.close();
  }
}

Deno.test("50 garbage connections give a few log lines and a count, not 50 lines", async () => {
  const cluster = await ProcessCluster.start({ size: 1, transport: "tcp" });
  try {
    const [address] = cluster.clientAddresses();
    for (let i = 0; i < GARBAGE_CONNECTIONS; i++) await sendGarbage(address);
    const exit = await cluster.kill(0, "SIGTERM");
    assert.equal(exit.code, 0, exit.output);
    const lines = exit.output.trim().split("\n");
    const refused = lines.filter((line) => /closing the connection from .*: Frame of/.test(line));
    const summaries = lines.flatMap((line) => {
      const match = / WARN {2}kv-server 0: (\d+) more RPC server faults in the last \d+ s$/.exec(
        line,
      );
      return match === null ? [] : [Number(match[1])];
    });
    // Each 10 s window writes at most 5 lines and then one count; a slow machine may use several.
    assert.ok(refused.length < GARBAGE_CONNECTIONS, exit.output);
    assert.ok(refused.length <= 5 * (summaries.length + 1), exit.output);
    assert.equal(refused.length + summaries.reduce((a, b) => a + b, 0), GARBAGE_CONNECTIONS);
    for (const line of refused) {
      assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}kv-server 0: /);
    }
  } finally {
    await cluster.close();
  }
});
