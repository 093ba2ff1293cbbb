/**
 * The pause test of real processes (`dsys test cluster --run pause`): the leader is frozen with
 * SIGSTOP for longer than an election timeout, as a long garbage-collection pause or a stalled
 * virtual machine would freeze it, while clients read (linearizable, lease and serializable)
 * and write through the other nodes; then SIGCONT lets it go on with its old state, its queued
 * requests and a clock that jumped. Repeated, each time with the leader of the moment.
 *
 * In each round two clients use the other nodes (they write through the new leader while the old
 * one is frozen), and one client uses only the leader, with a timeout longer than the freeze: the
 * read it sent meanwhile waits in the frozen node's socket, and the node wakes up believing it
 * leads, within a lease its ticks have not seen end. That read must not be answered from the
 * stale state. The history of linearizable and lease reads and of writes must be linearizable;
 * serializable reads may be stale and are left out of it.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { ProcessCluster } from "./process_cluster.ts";
import {
  checkLoad,
  type ClientChoices,
  type ClientLog,
  finalReads,
  type LoadCheck,
  pause,
  runLoadClient,
} from "./load.ts";
import { SeededRandom } from "../util/random.ts";
import type { Consistency } from "../kv/mod.ts";
import type { LabTest, TestContext } from "../labs/suite.ts";

/** Nodes of the cluster. */
const PAUSE_CLUSTER_SIZE = 3;
/** Times the leader is frozen. */
const PAUSE_ROUNDS = 4;
/**
 * How long it stays frozen: well past the election timeout (300 to 600 ms) and the lease, so the
 * others elect a new leader and write through it meanwhile, and below the 2 s a clerk's call
 * waits, so the frozen node's client still waits for its answer when the node wakes up.
 */
const PAUSE_MS = 1_500;
/** How long the clients run before the freeze (their shells start meanwhile), and after it. */
const BEFORE_MS = 1_000;
const AFTER_MS = 700;
/** The clients of the other nodes give an operation up after this long (outcome unknown). */
const OPERATION_TIMEOUT_SECONDS = 1;
/** The frozen node's client waits longer than the freeze: it sees what the node answers. */
const FROZEN_NODE_TIMEOUT_SECONDS = 4;
/** The longest a clerk's call waits: a frozen node's answer must come within it to be seen. */
const CALL_TIMEOUT_MS = 2_000;
/** What the gets of the other nodes' clients draw from. */
const CONSISTENCIES: readonly Consistency[] = ["linearizable", "lease", "serializable"];
/**
 * The frozen node's client mostly reads, at the levels that must not be stale, so that what it
 * has in flight when the node freezes is most likely such a read.
 */
const FROZEN_NODE_CHOICES = { consistencies: ["linearizable", "lease"], readShare: 0.9 } as const;
/** Budget of each wait for a leader and of the final convergence. */
const SETTLE_TIMEOUT_MS = 20_000;

/** What one run of the test saw. */
export interface PauseReport extends LoadCheck {
  /** Pauses in which the other nodes elected a new leader while the old one was frozen. */
  readonly leadersReplaced: number;
  /** Gets answered, by consistency. */
  readonly readsAnswered: Readonly<Record<string, number>>;
}

/** Runs the test with `seed` for the clients' choices. */
export async function runPauseLeader(seed: number): Promise<PauseReport> {
  const cluster = await ProcessCluster.start({ size: PAUSE_CLUSTER_SIZE });
  const frozen = new Set<number>();
  try {
    const logs: ClientLog[] = [];
    let leadersReplaced = 0;
    for (let round = 0; round < PAUSE_ROUNDS; round++) {
      const outcome = await pauseRound(cluster, seed * PAUSE_ROUNDS + round, frozen);
      logs.push(...outcome.logs);
      if (outcome.replaced) leadersReplaced++;
    }
    await cluster.waitForConvergence(SETTLE_TIMEOUT_MS);
    const report = checkLoad(logs, await finalReads(cluster));
    return { ...report, leadersReplaced, readsAnswered: readsAnswered(logs) };
  } finally {
    // SIGKILL ends a frozen node too, but one left frozen would wait for it.
    for (const id of frozen) cluster.signal(id, "SIGCONT");
    await cluster.close();
  }
}

/**
 * One round: clients start, the leader of the moment is frozen for {@linkcode PAUSE_MS}, then
 * let go; returns what the clients did and whether another node led while it was frozen.
 */
async function pauseRound(
  cluster: ProcessCluster,
  seed: number,
  frozen: Set<number>,
): Promise<{ logs: ClientLog[]; replaced: boolean }> {
  const leader = await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
  const others = cluster.ids.filter((id) => id !== leader);
  const shells = [
    cluster.startShell(cluster.clientAddresses(others), OPERATION_TIMEOUT_SECONDS),
    cluster.startShell(cluster.clientAddresses(others.toReversed()), OPERATION_TIMEOUT_SECONDS),
    cluster.startShell(cluster.clientAddresses([leader]), FROZEN_NODE_TIMEOUT_SECONDS),
  ];
  let stopping = false;
  const clients = shells.map((shell, index) => {
    const random = new SeededRandom(seed * 101 + index + 1);
    const frozenNode = index === shells.length - 1;
    const choices: ClientChoices = frozenNode
      ? { random, ...FROZEN_NODE_CHOICES }
      : { random, consistencies: CONSISTENCIES };
    // Client numbers differ across rounds: they make the appended values unique.
    return runLoadClient(shell, seed * shells.length + index, choices, () => stopping);
  });
  let replaced = false;
  try {
    await pause(BEFORE_MS);
    cluster.signal(leader, "SIGSTOP");
    frozen.add(leader);
    await pause(PAUSE_MS);
    // The others' status only: the frozen node would not answer.
    const rows = await cluster.statusRows(others);
    replaced = rows.some((row) => row.status?.role === "leader");
    cluster.signal(leader, "SIGCONT");
    frozen.delete(leader);
    await pause(AFTER_MS);
  } finally {
    stopping = true;
    await Promise.allSettled(clients);
  }
  const logs = await Promise.all(clients);
  await Promise.all(shells.map((shell) => shell.close()));
  return { logs, replaced };
}

function readsAnswered(logs: readonly ClientLog[]): Record<string, number> {
  const counts: Record<string, number> = { linearizable: 0, lease: 0, serializable: 0 };
  for (const log of logs) {
    for (const result of log.results) {
      if (result.op !== "get" || !result.ok) continue;
      const consistency = result.consistency ?? "linearizable";
      assert(consistency in counts, `A get of unknown consistency ${consistency}`);
      counts[consistency]++;
    }
  }
  return counts;
}

// The freeze must end while the frozen node's client still waits for its call.
assert(PAUSE_MS < CALL_TIMEOUT_MS, `A freeze of ${PAUSE_MS} ms outlasts a call`);

/** The report as one line. */
export function describePause(report: PauseReport): string {
  const reads = report.readsAnswered;
  return `pause leader: ${PAUSE_ROUNDS} freezes of ${PAUSE_MS} ms, ${report.leadersReplaced} ` +
    `new leaders elected meanwhile; ${report.operations} operations checked (gets answered: ` +
    `${reads.linearizable} linearizable, ${reads.lease} lease, ${reads.serializable} ` +
    `serializable, left out), ${report.acknowledgedAppends} acknowledged appends kept, ` +
    `${report.unknownOperations} unknown; linearizable`;
}

/** The pause test as a lab-style test: `dsys test cluster --run pause`. */
export const pauseLeaderTest: LabTest = {
  name: "pause: the leader frozen by SIGSTOP past an election timeout, reads and writes go on",
  part: "",
  async run(context: TestContext) {
    context.log(describePause(await runPauseLeader(context.seed)));
  },
};
