/**
 * Fault tests of real processes (`dsys test cluster`): a crash loop that kills key/value servers
 * with -9 under a continuous write load and restarts them on their own files, and partitions of
 * a five-node cluster made by a link proxy; the suite also holds the membership scenario
 * (membership_scenario.ts) and the frozen leader (pause_leader.ts). Each checks what clients saw: every acknowledged write is kept, and
 * the whole history is linearizable.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Random, SeededRandom } from "../util/random.ts";
import { assertLinearizable, type Operation } from "../linearizability/mod.ts";
import { ProcessCluster } from "./process_cluster.ts";
import type { CommandResult } from "./kv_clients.ts";
import { checkLoad, finalReads, type LoadCheck, pause, underLoad } from "./load.ts";
import { membershipScenarioTest } from "./membership_scenario.ts";
import { pauseLeaderTest } from "./pause_leader.ts";
import type { LabTest, TestContext } from "../labs/suite.ts";
import type { SecurityFiles } from "../security/transport_security.ts";
import { makeTestCertificates } from "../security/openssl_certificates.ts";

/** The environment variable that sets the crash loop's kill/restart cycles per run. */
export const CRASH_CYCLES_ENV = "DSYS_CRASH_CYCLES";
/** Kill/restart cycles of one crash-loop run unless {@linkcode CRASH_CYCLES_ENV} says otherwise. */
export const DEFAULT_CRASH_CYCLES = 50;
/** Every this many cycles the crash loop kills the current leader rather than a random node. */
const LEADER_KILL_EVERY = 3;
/** Nodes of the crash loop's cluster. */
const CRASH_CLUSTER_SIZE = 3;
/** Snapshot threshold of the crash loop's servers: small, so restarts also load snapshots. */
const CRASH_MAX_RAFT_STATE_BYTES = 16_384;
/** A shell gives up an operation after this long; it then counts as unknown outcome. */
const OPERATION_TIMEOUT_SECONDS = 1;
/** Budget of the final convergence wait and of the linearizability check. */
const SETTLE_TIMEOUT_MS = 20_000;
const CHECK_TIMEOUT_MS = 60_000;
/**
 * Cycles of the TLS crash loop unless {@linkcode CRASH_CYCLES_ENV} says otherwise: it checks that
 * TLS survives restarts, not Raft again.
 */
const TLS_CRASH_CYCLES_DEFAULT = 8;

/** Cycles per crash-loop run: {@linkcode CRASH_CYCLES_ENV} when set, else the default. */
export function crashCycles(): number {
  const text = Deno.env.get(CRASH_CYCLES_ENV);
  if (text === undefined || text === "") return DEFAULT_CRASH_CYCLES;
  const cycles = Number(text);
  if (!Number.isSafeInteger(cycles) || cycles < 1) {
    throw new Error(`${CRASH_CYCLES_ENV} "${text}" is not a positive whole number`);
  }
  return cycles;
}

/** What a crash-loop run measured, and what the check of its load found. */
export interface CrashLoopReport extends LoadCheck {
  /** Kill/restart cycles done. */
  readonly cycles: number;
  /** Processes killed with -9 (a cycle kills one node, sometimes two). */
  readonly kills: number;
  /** Wall-clock time of the run. */
  readonly elapsedMs: number;
}

/**
 * Runs the crash loop: clients write while nodes are killed with -9 and restarted, then checks
 * that every acknowledged append is kept once and in order, that the history is linearizable,
 * and that all nodes converge. Throws on any violation, or when a node fails to restart.
 */
export async function runCrashLoop(
  seed: number,
  cycles: number,
  security?: SecurityFiles,
): Promise<CrashLoopReport> {
  const startedMs = performance.now();
  const random = new SeededRandom(seed);
  const cluster = await ProcessCluster.start({
    size: CRASH_CLUSTER_SIZE,
    maxRaftStateBytes: CRASH_MAX_RAFT_STATE_BYTES,
    // TLS needs TCP; a restarted node listens on its port again.
    ...(security === undefined ? {} : { security, transport: "tcp" as const }),
  });
  try {
    await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    const { logs, outcome: kills } = await underLoad(
      cluster,
      { seed, timeoutSeconds: OPERATION_TIMEOUT_SECONDS },
      () => crash(cluster, random, cycles),
    );
    await cluster.waitForConvergence(SETTLE_TIMEOUT_MS);
    const check = checkLoad(logs, await finalReads(cluster));
    return { ...check, cycles, kills, elapsedMs: performance.now() - startedMs };
  } finally {
    await cluster.close();
  }
}

/**
 * Kills one node (now and then two) per cycle with -9 and restarts it; every
 * {@linkcode LEADER_KILL_EVERY}th cycle the victim is the leader. Returns the number of kills.
 */
async function crash(cluster: ProcessCluster, random: Random, cycles: number): Promise<number> {
  let kills = 0;
  for (let cycle = 0; cycle < cycles; cycle++) {
    for (let id = 0; id < cluster.size; id++) {
      const exit = await cluster.unexpectedExit(id);
      if (exit !== null) {
        throw new Error(`Node ${id} exited by itself with code ${exit.code}: ${exit.output}`);
      }
    }
    // Every third cycle kills the leader on purpose; the others pick any node.
    const first = cycle % LEADER_KILL_EVERY === 0
      ? await cluster.waitForLeader(SETTLE_TIMEOUT_MS)
      : random.int(cluster.size);
    // Now and then a second node goes too: the majority is lost until one is back.
    const victims = random.next() < 0.2 ? [first, (first + 1) % cluster.size] : [first];
    for (const id of victims) {
      const exit = await cluster.kill(id);
      kills++;
      assert(exit.code === 137, `Node ${id} ended with code ${exit.code}, not by the kill`);
    }
    // Fault schedule: how long the nodes stay down, and how long the cluster runs whole. A
    // lost majority stays down past the clients' timeout, so some outcomes become unknown.
    await pause(victims.length === 1 ? random.int(300) : 800 + random.int(800));
    for (const id of victims) await cluster.startNode(id);
    await pause(200 + random.int(500));
  }
  return kills;
}

/** One line summing up a crash-loop run. */
export function describeCrashLoop(report: CrashLoopReport): string {
  return `crash loop: ${report.cycles} cycles, ${report.kills} kills, ${report.operations} ` +
    `operations (${report.acknowledgedAppends} acknowledged appends all kept, ` +
    `${report.unknownOperations} unknown outcome, of which appends ` +
    `${report.unknownAppendsApplied} applied and ${report.unknownAppendsLost} not), ` +
    `linearizable (checked in ` +
    `${Math.round(report.checkMs)} ms), ${(report.elapsedMs / 1000).toFixed(1)} s`;
}

/** The crash loop as a lab-style test: `dsys test cluster --run crash --count N`. */
export const crashLoopTest: LabTest = {
  name: "crash loop: kill -9 and restart servers under load",
  part: "",
  async run(context: TestContext) {
    const report = await runCrashLoop(context.seed, crashCycles());
    context.log(describeCrashLoop(report));
  },
};

/**
 * The crash loop over TLS with a cluster secret, on TCP ports: every node, every client and the
 * status polls prove the secret on each of the many reconnections restarts cause. A few cycles
 * ({@linkcode TLS_CRASH_CYCLES_DEFAULT}, or {@linkcode CRASH_CYCLES_ENV}), with certificates made
 * by openssl.
 */
export const tlsCrashLoopTest: LabTest = {
  name: "crash loop over TLS with a cluster secret",
  part: "",
  async run(context: TestContext) {
    const dir = await Deno.makeTempDir({ prefix: "dsys-tls-" });
    try {
      const certs = await makeTestCertificates(dir);
      const cycles = (Deno.env.get(CRASH_CYCLES_ENV) ?? "") === ""
        ? TLS_CRASH_CYCLES_DEFAULT
        : crashCycles();
      const report = await runCrashLoop(context.seed, cycles, certs);
      context.log(`TLS ${describeCrashLoop(report)}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
};

/** Nodes of the partition test's cluster. */
const PARTITION_CLUSTER_SIZE = 5;
/** How long an operation through the minority is given before it counts as unknown. */
const MINORITY_TIMEOUT_SECONDS = 2;
/** How long an operation through the majority may take: it waits out an election. */
const MAJORITY_TIMEOUT_SECONDS = 20;

/** One-shot `dsys kv` commands as a history: each run is its own client. */
class CommandHistory {
  readonly operations: Operation[] = [];

  /** Adds `result` of `kind key value` (unknown outcome unless it exited 0) and returns it. */
  add(kind: Operation["kind"], key: string, value: string, result: CommandResult): CommandResult {
    const known = result.code === 0;
    this.operations.push({
      clientId: this.operations.length + 1,
      kind,
      key,
      value,
      output: known && kind === "get" ? result.stdout.replace(/\n$/, "") : "",
      callMs: result.callMs,
      returnMs: known ? result.returnMs : Infinity,
    });
    return result;
  }
}

/** Runs one `dsys kv` operation through `servers` and records it in `history`. */
async function kvCommand(
  cluster: ProcessCluster,
  history: CommandHistory,
  servers: readonly string[],
  timeoutSeconds: number,
  operation: [Operation["kind"], string, string?],
): Promise<CommandResult> {
  const [kind, key, value = ""] = operation;
  const args = kind === "get" ? [kind, key] : [kind, key, value];
  const result = await cluster.runKv(servers, timeoutSeconds, args);
  assert(
    result.code === 0 || result.code === 2,
    `dsys kv ${args.join(" ")} failed with code ${result.code}: ${result.stderr}`,
  );
  return history.add(kind, key, value, result);
}

/**
 * Partitions a five-node cluster into a minority holding the old leader and a majority: the
 * minority must make no progress (its operations time out with exit code 2), the majority must
 * serve; once healed, every node must converge and reads through any node must agree, the lost
 * minority write included.
 */
export async function runPartition(seed: number, log: (line: string) => void): Promise<void> {
  const random = new SeededRandom(seed);
  const cluster = await ProcessCluster.start({ size: PARTITION_CLUSTER_SIZE, proxied: { random } });
  try {
    const history = new CommandHistory();
    const everyone = cluster.clientAddresses();
    const before = await kvCommand(cluster, history, everyone, MAJORITY_TIMEOUT_SECONDS, [
      "put",
      "before",
      "1",
    ]);
    assert(before.code === 0, `The put before the partition failed: ${before.stderr}`);
    const oldLeader = await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    const others = [...Array(cluster.size).keys()].filter((id) => id !== oldLeader);
    const minority = [oldLeader, others[random.int(others.length)]];
    const majority = others.filter((id) => !minority.includes(id));
    cluster.partition([minority, majority]);
    log(
      `partition: minority ${minority.join(",")} (old leader ${oldLeader}), majority ${majority}`,
    );
    await duringPartition(cluster, history, minority, majority);
    cluster.healAll();
    const settled = await cluster.waitForConvergence(SETTLE_TIMEOUT_MS);
    assert(
      majority.includes(settled[0].leader),
      `Node ${settled[0].leader} leads after the heal, but only the majority has the newest log`,
    );
    await readsAgree(cluster, history);
    assertLinearizable(history.operations, { timeoutMs: CHECK_TIMEOUT_MS });
    log(
      `healed: all ${cluster.size} nodes at commit ${settled[0].commitIndex}, leader ${
        settled[0].leader
      } term ${settled[0].term}`,
    );
  } finally {
    await cluster.close();
  }
}

/** The minority times out on a write and a read while the majority elects a leader and writes. */
async function duringPartition(
  cluster: ProcessCluster,
  history: CommandHistory,
  minority: readonly number[],
  majority: readonly number[],
): Promise<void> {
  const toMinority = cluster.clientAddresses(minority);
  const toMajority = cluster.clientAddresses(majority);
  const [lost, won] = await Promise.all([
    kvCommand(cluster, history, toMinority, MINORITY_TIMEOUT_SECONDS, ["put", "minority", "lost"]),
    kvCommand(cluster, history, toMajority, MAJORITY_TIMEOUT_SECONDS, ["put", "majority", "won"]),
  ]);
  assert(lost.code === 2, `A put through the minority ended with code ${lost.code}, not 2`);
  assert(/may or may not/.test(lost.stderr), `The minority put said: ${lost.stderr}`);
  assert(won.code === 0, `A put through the majority failed: ${won.stderr}`);
  const stale = await kvCommand(cluster, history, toMinority, MINORITY_TIMEOUT_SECONDS, [
    "get",
    "before",
  ]);
  assert(stale.code === 2, `A get through the minority ended with code ${stale.code}, not 2`);
  const read = await kvCommand(cluster, history, toMajority, MAJORITY_TIMEOUT_SECONDS, [
    "get",
    "majority",
  ]);
  assert(read.stdout === "won\n", `The majority read ${JSON.stringify(read.stdout)}, not "won"`);
  const newLeader = await cluster.waitForLeader(SETTLE_TIMEOUT_MS, majority);
  const [leaderState, ...minorityStates] = await Promise.all(
    [newLeader, ...minority].map((id) => cluster.status(id)),
  );
  for (const state of minorityStates) {
    assert(state !== null && leaderState !== null, "A node stopped answering Status");
    assert(
      state.commitIndex < leaderState.commitIndex,
      `Minority node ${state.id} committed up to ${state.commitIndex}, as far as the majority's ` +
        `leader (${leaderState.commitIndex})`,
    );
  }
}

/** Reads every key through each node first in turn; all must see the majority's writes only. */
async function readsAgree(cluster: ProcessCluster, history: CommandHistory): Promise<void> {
  const expected: Array<[string, string]> = [["before", "1"], ["majority", "won"], [
    "minority",
    "",
  ]];
  const addresses = cluster.clientAddresses();
  for (let first = 0; first < cluster.size; first++) {
    const servers = [...addresses.slice(first), ...addresses.slice(0, first)];
    for (const [key, value] of expected) {
      const read = await kvCommand(cluster, history, servers, MAJORITY_TIMEOUT_SECONDS, [
        "get",
        key,
      ]);
      assert(read.code === 0, `A get of ${key} after the heal failed: ${read.stderr}`);
      assert(
        read.stdout === `${value}\n`,
        `Key ${key} read ${JSON.stringify(read.stdout)} via node ${first} first, not ${
          JSON.stringify(value)
        }`,
      );
    }
  }
}

/** The partition test as a lab-style test: `dsys test cluster --run partition`. */
export const partitionTest: LabTest = {
  name: "partition: the minority stalls, the majority serves, the heal converges",
  part: "",
  run: (context: TestContext) => runPartition(context.seed, (line) => context.log(line)),
};

/** Rounds of link faults in the flaky-network test. */
const FLAKY_ROUNDS = 12;
/** How long each round of link faults lasts. */
const FLAKY_ROUND_MS = 800;
/** Chance that a link drops its connection at each chunk it forwards, in a flaky round. */
const FLAKY_LOSS = 0.01;
/** Most extra delay of a link in a flaky round. */
const FLAKY_MAX_DELAY_MS = 20;

/**
 * Clients write through the proxy while every round the links get random delays and losses and,
 * now and then, one node is cut off; afterwards the cluster must converge with every
 * acknowledged append kept and a linearizable history.
 */
export async function runFlakyNetwork(seed: number, log: (line: string) => void): Promise<void> {
  const random = new SeededRandom(seed);
  const cluster = await ProcessCluster.start({ size: PARTITION_CLUSTER_SIZE, proxied: { random } });
  try {
    await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    const { logs, outcome: isolations } = await underLoad(
      cluster,
      { seed, timeoutSeconds: OPERATION_TIMEOUT_SECONDS },
      () => flakyRounds(cluster, random),
    );
    cluster.healAll();
    await cluster.waitForConvergence(SETTLE_TIMEOUT_MS);
    const report = checkLoad(logs, await finalReads(cluster));
    const dropped = cluster.proxy!.links().reduce(
      (sum, link) => sum + link.stats().droppedConnections,
      0,
    );
    log(
      `flaky network: ${FLAKY_ROUNDS} rounds, ${isolations} isolations, ${dropped} connections ` +
        `dropped, ${report.operations} operations (${report.acknowledgedAppends} acknowledged ` +
        `appends kept, ${report.unknownOperations} unknown), linearizable`,
    );
  } finally {
    await cluster.close();
  }
}

/** Gives every link a random delay and loss each round, and isolates a node in some rounds. */
async function flakyRounds(cluster: ProcessCluster, random: Random): Promise<number> {
  const proxy = cluster.proxy;
  assert(proxy !== null, "The flaky-network test needs a proxied cluster");
  let isolations = 0;
  for (let round = 0; round < FLAKY_ROUNDS; round++) {
    const everyone = [...Array(cluster.size).keys()];
    if (random.next() < 0.4) {
      const isolated = random.int(cluster.size);
      cluster.partition([[isolated], everyone.filter((id) => id !== isolated)]);
      isolations++;
    } else {
      cluster.partition([everyone]);
    }
    for (const link of proxy.links()) {
      if (link.isCut) continue;
      link.setDelay(random.int(FLAKY_MAX_DELAY_MS + 1));
      link.setLoss(FLAKY_LOSS);
    }
    await pause(FLAKY_ROUND_MS);
  }
  return isolations;
}

/** The flaky-network test as a lab-style test: `dsys test cluster --run flaky`. */
export const flakyNetworkTest: LabTest = {
  name: "flaky network: delays, lost connections and isolated nodes under load",
  part: "",
  run: (context: TestContext) => runFlakyNetwork(context.seed, (line) => context.log(line)),
};

/** Every fault test of real processes, for `dsys test cluster`. */
export const clusterSuite: readonly LabTest[] = [
  crashLoopTest,
  tlsCrashLoopTest,
  partitionTest,
  flakyNetworkTest,
  membershipScenarioTest,
  pauseLeaderTest,
];
