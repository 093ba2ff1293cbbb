/**
 * The pause test of real processes (`dsys test cluster --run pause`): the leader is frozen with
 * SIGSTOP for longer than an election timeout, as a long garbage-collection pause or a stalled
 * virtual machine would freeze it, while clients read (linearizable, lease and serializable)
 * and write through every node; then SIGCONT lets it go on with its old state, its queued
 * requests and a clock that jumped. Repeated. A frozen leader wakes up believing it leads: the
 * reads it was asked must not be answered from its stale state. The history of linearizable and
 * lease reads and of writes must be linearizable; serializable reads may be stale and are left
 * out of it.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { ProcessCluster } from "./process_cluster.ts";
import { checkLoad, finalReads, type LoadCheck, pause, underLoad } from "./load.ts";
import type { ClientLog } from "./load.ts";
import type { LabTest, TestContext } from "../labs/suite.ts";

/** Nodes of the cluster. */
const PAUSE_CLUSTER_SIZE = 3;
/** Times the leader is frozen. */
const PAUSE_ROUNDS = 4;
/** How long it stays frozen: well past the election timeout (300 to 600 ms) and the lease. */
const PAUSE_MS = 1_500;
/** How long the cluster runs between two pauses. */
const RESUMED_MS = 1_000;
/**
 * A shell gives an operation up after this long (then its outcome is unknown): long enough for
 * its clerk to give up on the frozen node (a call waits 2 s at most) and try another.
 */
const OPERATION_TIMEOUT_SECONDS = 4;
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
    await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    const { logs, outcome: leadersReplaced } = await underLoad(
      cluster,
      {
        seed,
        timeoutSeconds: OPERATION_TIMEOUT_SECONDS,
        readConsistencies: ["linearizable", "lease", "serializable"],
      },
      () => pauseRounds(cluster, frozen),
    );
    await cluster.waitForConvergence(SETTLE_TIMEOUT_MS);
    const report = checkLoad(logs, await finalReads(cluster));
    return { ...report, leadersReplaced, readsAnswered: readsAnswered(logs) };
  } finally {
    // A frozen node would not see the SIGKILL of close() any sooner, but SIGCONT costs nothing.
    for (const id of frozen) cluster.signal(id, "SIGCONT");
    await cluster.close();
  }
}

/** Freezes the leader of the moment for each round; returns how often another took over. */
async function pauseRounds(cluster: ProcessCluster, frozen: Set<number>): Promise<number> {
  let replaced = 0;
  for (let round = 0; round < PAUSE_ROUNDS; round++) {
    const leader = await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    cluster.signal(leader, "SIGSTOP");
    frozen.add(leader);
    await pause(PAUSE_MS);
    const others = cluster.ids.filter((id) => id !== leader);
    // The status of the others, never of the frozen node (it would not answer).
    const rows = await cluster.statusRows(others);
    const replacedNow = rows.some((row) => row.status?.role === "leader");
    if (replacedNow) replaced++;
    cluster.signal(leader, "SIGCONT");
    frozen.delete(leader);
    await pause(RESUMED_MS);
  }
  return replaced;
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

/** The report as one line. */
export function describePause(report: PauseReport): string {
  const reads = report.readsAnswered;
  return `pause leader: ${PAUSE_ROUNDS} pauses of ${PAUSE_MS} ms, ${report.leadersReplaced} ` +
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
