/**
 * The real-cluster commands as processes: a bare raft-peer cluster replicating proposals, and
 * the errors and exit codes scripts rely on (bad --id, another cluster's folder, a damaged
 * file, a taken address, --join, --listen and --peers at odds with each other or with the
 * folder, an operation or a `dsys member` without an answer, a clean stop on SIGTERM).
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChildGroup } from "../util/child_process.ts";
import { waitUntilListening } from "../util/child_process.ts";
import { freeLoopbackAddresses, ProcessCluster } from "./process_cluster.ts";
import { PROPOSE_METHOD } from "../commands/raft_peer.ts";
import { EXIT_UNAVAILABLE } from "../cli/exit_codes.ts";
import { connect } from "../rpc/tcp_client.ts";
import type { ProposeResult } from "../raft/core.ts";
import { fetchStatus } from "../peer/status.ts";
import { runKvCommand } from "./kv_clients.ts";
import { FileStorage } from "../storage/file_storage.ts";

const LEADER_TIMEOUT_MS = 10_000;
const LISTEN_TIMEOUT_MS = 30_000;

Deno.test("raft-peer processes replicate proposals (RPC and dsys propose) and only the leader accepts them", async () => {
  const cluster = await ProcessCluster.start({ size: 3, kind: "raft-peer", transport: "tcp" });
  const clients = cluster.clientAddresses().map((address) => connect(address, { log: () => {} }));
  try {
    const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const follower = (leader + 1) % 3;
    const refused = await clients[follower].call<ProposeResult>(PROPOSE_METHOD, {
      command: "ignored",
    });
    assert.equal(refused.isLeader, false);
    let last: ProposeResult | null = null;
    for (let command = 0; command < 5; command++) {
      last = await clients[leader].call<ProposeResult>(PROPOSE_METHOD, {
        command: `set x ${command}`,
      });
      assert.equal(last.isLeader, true);
    }
    const group = new ChildGroup();
    const proposed = await dsys(group, cluster.root, [
      "propose",
      "--servers",
      cluster.clientAddresses().join(","),
      "set y 1",
    ]);
    await group.killAll();
    assert.equal(proposed.code, 0, proposed.output);
    const committed = /^committed at index (\d+) in term \d+ by peer \d\n$/.exec(proposed.output);
    assert.ok(committed !== null, proposed.output);
    assert.ok(Number(committed[1]) > (last?.index ?? 0));
    const lastIndex = Number(committed[1]);
    const rows = await cluster.waitForStatus(
      (rows) => rows.every((row) => (row.status?.appliedIndex ?? 0) >= lastIndex),
      LEADER_TIMEOUT_MS,
      `every peer applying up to ${lastIndex}`,
    );
    for (const row of rows) {
      assert.equal(row.status?.kind, "raft-peer");
      assert.equal(row.status?.appliedCommands, 6, `${row.address} applied the 6 commands`);
    }
    await assert.rejects(
      clients[leader].call(PROPOSE_METHOD, { command: 12 }),
      /refused a proposal: its command is neither a string nor bytes/,
    );
  } finally {
    for (const client of clients) client.close();
    await cluster.close();
  }
});

Deno.test("a raft-peer that installs its leader's snapshot counts it in its status", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsys-raft-peer-test-" });
  try {
    // Node 0 starts from a snapshot up to entry 5; node 1 from nothing. Node 1 cannot win a vote
    // of two without node 0, whose log is ahead, so node 0 leads and sends it the snapshot.
    const seeded = new FileStorage({ dir: `${dir}/node-0`, id: 0, log: () => {} });
    seeded.load();
    const snapshot = { index: 5, term: 1, data: new Uint8Array([7]) };
    await seeded.persist({ hardState: { term: 1, votedFor: 0 }, snapshot });
    seeded.close();
    const cluster = await ProcessCluster.start({ size: 2, kind: "raft-peer", dir });
    try {
      const rows = await cluster.waitForStatus(
        (rows) => (rows[1].status?.appliedIndex ?? 0) >= snapshot.index,
        LEADER_TIMEOUT_MS,
        "node 1 applying the snapshot",
      );
      const { snapshotsInstalled, snapshotIndex, appliedCommands } = rows[1].status!;
      assert.deepEqual({ snapshotsInstalled, snapshotIndex, appliedCommands }, {
        snapshotsInstalled: 1,
        snapshotIndex: snapshot.index,
        appliedCommands: 0,
      });
      assert.equal(rows[0].status?.snapshotsInstalled, 0, "node 0 loaded its own snapshot");
      assert.equal(rows[0].status?.snapshotIndex, snapshot.index);
    } finally {
      await cluster.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs `dsys <args>` to its end. */
async function dsys(group: ChildGroup, cwd: string, args: string[]) {
  return await group.spawn(args, { cwd }).exited;
}

Deno.test("kv-server refuses a bad --id, another cluster's folder and a damaged file with one line and code 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsys-cli-test-" });
  const group = new ChildGroup();
  try {
    const [address] = freeLoopbackAddresses(1);
    const server = (extra: string[]) => [
      "kv-server",
      "--peers",
      address,
      "--data",
      `${dir}/node`,
      ...extra,
    ];
    const badId = await dsys(group, dir, server(["--id", "1"]));
    assert.equal(badId.code, 1);
    assert.equal(badId.output, "dsys: --id 1 is not a peer: --endpoints lists 1 (ids 0 to 0)\n");

    const first = group.spawn(server(["--id", "0", "--cluster", "alpha"]), { cwd: dir });
    await waitUntilListening(first, address, LISTEN_TIMEOUT_MS);
    // Once it leads, its term is on disk: there is a hard state file to damage below.
    for (let poll = 0; (await fetchStatus(address, 1_000)).status?.role !== "leader"; poll++) {
      assert.ok(poll < LEADER_TIMEOUT_MS / 20, "a lone server elects itself");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    Deno.kill(first.pid, "SIGTERM");
    const stopped = await first.exited;
    assert.equal(stopped.code, 0, stopped.output);
    assert.match(stopped.output, /kv-server 0: SIGTERM: stopping\n.*kv-server 0: stopped\n$/s);

    const other = await dsys(group, dir, server(["--id", "0", "--cluster", "beta"]));
    assert.equal(other.code, 1);
    assert.match(
      other.output,
      /^dsys: Cannot start: .*\/node\/raft-identity belongs to peer 0 of cluster "alpha", not to peer 0 of cluster "beta"\n$/,
    );

    const statePath = `${dir}/node/raft-state`;
    const state = await Deno.readFile(statePath);
    state[state.length - 1] ^= 0xff;
    await Deno.writeFile(statePath, state);
    const damaged = await dsys(group, dir, server(["--id", "0", "--cluster", "alpha"]));
    assert.equal(damaged.code, 1);
    assert.match(damaged.output, /^dsys: Cannot start: .*\/node\/raft-state/);
    assert.equal(damaged.output.trim().split("\n").length, 1, damaged.output);
  } finally {
    await group.killAll();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a node restarted alone with its own address as --peers is refused: no second leader, the majority serves on", async () => {
  const cluster = await ProcessCluster.start({ size: 3, transport: "tcp" });
  const group = new ChildGroup();
  try {
    const servers = cluster.clientAddresses();
    await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const put = await runKvCommand(servers, 10, ["put", "city", "Lyon"], cluster.root);
    assert.equal(put.code, 0, put.stderr);
    await cluster.kill(0, "SIGTERM");
    const [own] = cluster.clientAddresses([0]);
    const child = group.spawn(
      ["kv-server", "--id", "0", "--peers", own, "--data", cluster.dataDir(0)],
      { cwd: cluster.root },
    );
    // A refusal comes at once; a node still running after this started a cluster of its own.
    const refusalDeadlineMs = 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), refusalDeadlineMs);
    });
    const alone = await Promise.race([child.exited, deadline]);
    clearTimeout(timer);
    assert.ok(alone !== null, `node 0 still runs ${refusalDeadlineMs} ms after a one-node --peers`);
    assert.equal(alone.code, 1, alone.output);
    assert.match(
      alone.output,
      new RegExp(
        `^dsys: Cannot start: .*/node-0 belongs to a cluster of peers ${
          servers.join(",")
        }, not ${own} \\(a peer list only sets up a new cluster\\)\n$`,
      ),
    );
    const majority = cluster.clientAddresses([1, 2]);
    const read = await runKvCommand(majority, 10, ["get", "city"], cluster.root);
    assert.deepEqual([read.code, read.stdout], [0, "Lyon\n"]);
  } finally {
    await group.killAll();
    await cluster.close();
  }
});

Deno.test("a node of another cluster given this cluster's addresses can neither vote nor depose: its messages are refused", async () => {
  const cluster = await ProcessCluster.start({ size: 3, transport: "tcp" });
  const group = new ChildGroup();
  try {
    const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const termBefore = (await cluster.status(leader))?.term;
    // A node of cluster "beta" believes it is peer 1 beside this cluster's nodes 0 and 2, and
    // campaigns there with ever higher terms.
    const [alpha0, , alpha2] = cluster.clientAddresses();
    const [betaAddress] = freeLoopbackAddresses(1);
    const beta = group.spawn([
      "kv-server",
      ...["--id", "1", "--peers", `${alpha0},${betaAddress},${alpha2}`],
      ...["--data", `${cluster.root}/beta`, "--cluster", "beta"],
    ], { cwd: cluster.root });
    await waitUntilListening(beta, betaAddress, LISTEN_TIMEOUT_MS);
    // Beta asks for (pre-)votes every election timeout; wait until node 0 refused three rounds.
    const statusOf = async (address: string) => (await fetchStatus(address, 1_000)).status;
    for (let poll = 0; ((await cluster.status(0))?.refusedMessages ?? 0) < 3; poll++) {
      assert.notEqual((await statusOf(betaAddress))?.role, "leader", "beta won another's votes");
      assert.ok(poll < LEADER_TIMEOUT_MS / 20, "node 0 never refused beta's messages");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.notEqual((await statusOf(betaAddress))?.role, "leader", "beta won another's votes");
    for (const id of cluster.ids) {
      const status = await cluster.status(id);
      assert.equal(status?.term, termBefore, `node ${id} kept its term`);
      assert.equal(status?.role, id === leader ? "leader" : "follower");
    }
    const exit = await cluster.kill(0, "SIGTERM");
    assert.match(
      exit.output,
      /kv-server 0: refused a message \(1 so far\): it comes from cluster "beta"\n/,
    );
    assert.equal(exit.output.match(/refused a message/g)?.length, 1, "logged once");
  } finally {
    await group.killAll();
    await cluster.close();
  }
});

Deno.test("kv-server says which address is taken, and kv exits 3 naming the address when no server listens", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsys-cli-test-" });
  const group = new ChildGroup();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const address = `127.0.0.1:${taken.addr.port}`;
    const busy = await dsys(group, dir, [
      "kv-server",
      "--id",
      "0",
      "--peers",
      address,
      "--data",
      `${dir}/node`,
    ]);
    assert.equal(busy.code, 1);
    assert.match(
      busy.output,
      new RegExp(`dsys: Cannot listen on ${address}: the address is already in use\n$`),
    );

    const [nobody] = freeLoopbackAddresses(1);
    const unknown = await dsys(group, dir, [
      "kv",
      "--servers",
      nobody,
      "--timeout",
      "0.3",
      "put",
      "k",
      "v",
    ]);
    assert.equal(unknown.code, EXIT_UNAVAILABLE);
    assert.equal(unknown.output, `dsys: No kv-server to talk to: ${nobody}: connection refused\n`);

    const usage = await dsys(group, dir, ["kv", "--servers", "nohost", "get", "k"]);
    assert.equal(usage.code, 1);
    assert.equal(usage.output, 'dsys: Bad address "nohost": expected host:port or unix:/path\n');
  } finally {
    taken.close();
    await group.killAll();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv-server refuses --join without --listen, --join with --peers and --listen without --join in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsys-cli-test-" });
  const group = new ChildGroup();
  try {
    const address = `unix:${dir}/node.sock`;
    const refusals: Array<[string[], string]> = [
      [["--join"], "--join needs --listen: the address the cluster will reach this node at"],
      [
        ["--join", "--listen", address, "--peers", address],
        "--join and --endpoints exclude each other: --endpoints only sets up a new cluster",
      ],
      [
        ["--peers", address, "--listen", address],
        "--listen goes with --join: a node of --endpoints listens on its own entry",
      ],
      [[], "Give --endpoints to set up a new cluster, or --join --listen to join one"],
    ];
    for (const [placement, message] of refusals) {
      const refused = await dsys(group, dir, [
        "kv-server",
        ...["--id", "0", "--data", `${dir}/node`],
        ...placement,
      ]);
      assert.deepEqual([refused.code, refused.output], [1, `dsys: ${message}\n`], `${placement}`);
    }
    // No refusal got as far as the data folder.
    await assert.rejects(Deno.stat(`${dir}/node`), Deno.errors.NotFound);
  } finally {
    await group.killAll();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a node that joined is refused a restart with --peers, and a bootstrapped one a restart with --join, naming both", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsys-cli-test-" });
  const group = new ChildGroup();
  try {
    const address = `unix:${dir}/node.sock`;
    const joined = ["--join", "--listen", address];
    const bootstrapped = ["--peers", address];
    for (const [first, then] of [[joined, bootstrapped], [bootstrapped, joined]]) {
      const data = `${dir}/node-${first[0].slice(2)}`;
      const server = (
        placement: string[],
      ) => ["kv-server", "--id", "0", "--data", data, ...placement];
      const node = group.spawn(server(first), { cwd: dir });
      await waitUntilListening(node, address, LISTEN_TIMEOUT_MS);
      Deno.kill(node.pid, "SIGTERM");
      assert.equal((await node.exited).code, 0);
      const refused = await dsys(group, dir, server(then));
      assert.equal(refused.code, 1);
      const peers = `bootstrapped with peers ${address}`;
      const join = "joined a running cluster (no peer list)";
      const [was, asked] = first === joined ? [join, peers] : [peers, join];
      assert.equal(
        refused.output,
        `dsys: Cannot start: ${data} belongs to a peer that ${was}, not one that ${asked}\n`,
      );
    }
  } finally {
    await group.killAll();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsys member says in one line, with code 1, that no server answered", async () => {
  const group = new ChildGroup();
  try {
    const servers = "127.0.0.1:1,127.0.0.1:2";
    for (
      const change of [["list"], ["add", "--id", "3", "--address", "127.0.0.1:3"], [
        "remove",
        "--id",
        "1",
      ]]
    ) {
      const refused = await dsys(group, ".", ["member", "--servers", servers, ...change]);
      assert.deepEqual(
        [refused.code, refused.output],
        [1, `dsys: No node of ${servers} answered\n`],
        change.join(" "),
      );
    }
  } finally {
    await group.killAll();
  }
});

Deno.test("dsys member refuses at once to promote a peer that is no learner, the leader itself included", async () => {
  const cluster = await ProcessCluster.start({ size: 1, kind: "raft-peer" });
  const group = new ChildGroup();
  try {
    await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const member = ["member", "--servers", cluster.clientAddresses()[0], "--timeout", "20"];
    for (const id of [0, 9]) {
      const refused = await dsys(group, cluster.root, [...member, "promote", "--id", `${id}`]);
      // Before the fix the leader waited out the 20 s for the non-learner to catch up, and then
      // said it was still catching up.
      assert.equal(refused.code, 1);
      assert.match(
        refused.output,
        new RegExp(
          `^dsys: .*Cannot promote peer ${id}: it is not a learner \\(learners: none\\)\n$`,
        ),
      );
    }
  } finally {
    await group.killAll();
    await cluster.close();
  }
});

Deno.test("kv-servers sent SIGTERM the moment their address accepts a connection all stop cleanly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsys-cli-test-" });
  const group = new ChildGroup();
  try {
    // Before the fix a node took the signal before it listened for it in about one start of
    // eight on this machine, and died of it (code 143): several rounds of eight at once.
    for (let round = 0; round < 3; round++) {
      const exits = await Promise.all(Array.from({ length: 8 }, async (_, index) => {
        const name = `${round}-${index}`;
        const address = `unix:${dir}/node-${name}.sock`;
        const data = `${dir}/node-${name}`;
        const node = group.spawn(
          ["kv-server", "--id", "0", "--peers", address, "--data", data],
          { cwd: dir },
        );
        await waitUntilListening(node, address, LISTEN_TIMEOUT_MS);
        Deno.kill(node.pid, "SIGTERM");
        return await node.exited;
      }));
      for (const exit of exits) {
        assert.equal(exit.code, 0, exit.output);
        assert.match(exit.output, /: SIGTERM: stopping\n.*: stopped\n$/s);
      }
    }
  } finally {
    await group.killAll();
    await Deno.remove(dir, { recursive: true });
  }
});
