/**
 * How long a real 3-node key/value cluster cannot take writes: after `kill -9` of its leader
 * (until a client's put succeeds again), and during a planned leadership transfer (the slowest
 * put that overlaps one). Real processes, loopback TCP, fsync, default timeouts; one client, a
 * clerk that retries as a user's would. Behind `dsys bench failover`.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import { connect } from "../rpc/tcp_client.ts";
import { Clerk } from "../kv/clerk.ts";
import { transferLeadership } from "../peer/leadership.ts";
import { ProcessCluster } from "../cluster/process_cluster.ts";

/** What to measure. */
export interface FailoverBenchOptions {
  /** Leaders killed with `-9`, one after the other (each restarted before the next). */
  readonly kills: number;
  /** Planned leadership transfers. */
  readonly transfers: number;
  /** Where lines go; default standard output. */
  readonly print?: (line: string) => void;
}

/** What was measured, in milliseconds, each list sorted. */
export interface FailoverBenchResult {
  /** From the kill until a put succeeded, per kill. */
  readonly killToServeMs: readonly number[];
  /** The slowest put overlapping each transfer. */
  readonly transferStallMs: readonly number[];
  /** The median put latency outside failures, for scale. */
  readonly quietPutP50Ms: number;
}

const LEADER_TIMEOUT_MS = 15_000;
const TRANSFER_TIMEOUT_MS = 5_000;
const FAILURES_MAX = 1_000;
/** Puts between two failures, so each starts from a settled cluster with a warm client. */
const SETTLING_PUTS = 20;

/**
 * Kills the leader `kills` times and transfers leadership `transfers` times, and prints the
 * distributions.
 *
 * @example
 * ```ts
 * const result = await runFailoverBench({ kills: 50, transfers: 20 });
 * console.log(result.killToServeMs.at(-1)); // the slowest recovery, ms
 * ```
 */
export async function runFailoverBench(
  options: FailoverBenchOptions,
): Promise<FailoverBenchResult> {
  assert(
    options.kills >= 0 && options.kills <= FAILURES_MAX && options.transfers >= 0 &&
      options.transfers <= FAILURES_MAX,
    `Cannot run ${options.kills} kills and ${options.transfers} transfers: 0 to ${FAILURES_MAX} each`,
  );
  const print = options.print ?? ((line: string) => console.log(line));
  const cluster = await ProcessCluster.start({ size: 3, transport: "tcp" });
  const addresses = cluster.clientAddresses();
  const servers = addresses.map((address) => connect(address, { log: () => {} }));
  const clerk = new Clerk(servers, realClock, unseededRandom());
  const quietMs: number[] = [];
  const put = async (record: number[] | null) => {
    const callMs = performance.now();
    await clerk.put("failover", "v".repeat(100));
    record?.push(performance.now() - callMs);
  };
  try {
    print("failover bench: 3 kv-server processes on loopback with fsync, default timeouts");
    const killToServeMs: number[] = [];
    for (let kill = 0; kill < options.kills; kill++) {
      const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
      for (let settle = 0; settle < SETTLING_PUTS; settle++) await put(quietMs);
      const killedMs = performance.now();
      await cluster.kill(leader);
      await put(null);
      killToServeMs.push(performance.now() - killedMs);
      await cluster.startNode(leader);
      await caughtUp(cluster, leader);
    }
    const transferStallMs: number[] = [];
    for (let transfer = 0; transfer < options.transfers; transfer++) {
      const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
      for (let settle = 0; settle < SETTLING_PUTS; settle++) await put(quietMs);
      transferStallMs.push(await stallDuring(put, addresses, (leader + 1) % 3));
    }
    const result = {
      killToServeMs: killToServeMs.sort((a, b) => a - b),
      transferStallMs: transferStallMs.sort((a, b) => a - b),
      quietPutP50Ms: median(quietMs.sort((a, b) => a - b)),
    };
    print(`puts outside failures: p50 ${result.quietPutP50Ms.toFixed(2)} ms`);
    print(`kill -9 of the leader until a put succeeds: ${describe(result.killToServeMs)}`);
    print(`slowest put overlapping a leadership transfer: ${describe(result.transferStallMs)}`);
    return result;
  } finally {
    clerk.close();
    for (const server of servers) server.close();
    await cluster.close();
  }
}

/** Waits until restarted node `id` follows a leader and has committed what the leader has. */
async function caughtUp(cluster: ProcessCluster, id: number): Promise<void> {
  const deadlineMs = performance.now() + LEADER_TIMEOUT_MS;
  // Bounded by the deadline.
  while (performance.now() < deadlineMs) {
    const status = await cluster.status(id);
    const leader = status === null || status.leader < 0
      ? null
      : await cluster.status(status.leader);
    if (status !== null && leader !== null && status.commitIndex >= leader.commitIndex) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Node ${id} did not catch up within ${LEADER_TIMEOUT_MS} ms of its restart`);
}

/** Puts back to back while leadership moves to `target`; the slowest put that overlapped it. */
async function stallDuring(
  put: (record: number[]) => Promise<void>,
  addresses: readonly string[],
  target: number,
): Promise<number> {
  const latenciesMs: number[] = [];
  let moving = true;
  const putting = (async () => {
    // Bounded by the transfer's timeout: it ends the loop.
    while (moving) await put(latenciesMs);
  })();
  try {
    await transferLeadership(addresses, target, TRANSFER_TIMEOUT_MS);
  } finally {
    moving = false;
    await putting;
  }
  return Math.max(...latenciesMs);
}

function median(sorted: readonly number[]): number {
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}

/** `n`, min, median, 90th percentile and max of `sorted`. */
function describe(sorted: readonly number[]): string {
  if (sorted.length === 0) return "not measured";
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
  return `n ${sorted.length}, min ${sorted[0].toFixed(0)} ms, p50 ${at(0.5).toFixed(0)} ms, ` +
    `p90 ${at(0.9).toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms`;
}
