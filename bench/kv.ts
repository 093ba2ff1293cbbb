/**
 * Throughput and latency of a real key/value cluster, behind `dsys bench kv`. It starts
 * `kv-server` processes on loopback (file storage, fsync on every persist) and runs closed-loop
 * clients in this process: each a {@linkcode Clerk} doing, one after the other, gets (a share
 * `reads` of its operations, at one consistency) and puts of 100-byte values, on its own keys,
 * for a fixed time per level. All clerks share one TCP connection per server (the RPC layer
 * multiplexes calls), as a client library would. A 1-node cluster (no replication, same code
 * and disk) runs first in the same run as the baseline; the 3-node figures are also given as
 * ratios of it.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { realClock } from "../util/clock.ts";
import { SeededRandom, unseededRandom } from "../util/random.ts";
import { connect } from "../rpc/tcp_client.ts";
import { Clerk, type Consistency } from "../kv/mod.ts";
import { ProcessCluster } from "../cluster/process_cluster.ts";

/** Size of every value put. */
export const BENCH_VALUE_BYTES = 100;
/** Most clients one level may have. */
export const MAX_BENCH_CLIENTS = 1024;
/** Keys each client cycles through. */
const KEYS_PER_CLIENT = 16;
/** Servers snapshot past this much Raft state, as a deployment would. */
const BENCH_MAX_RAFT_STATE_BYTES = 8 * 1024 * 1024;
/** Time allowed for the first leader. */
const LEADER_TIMEOUT_MS = 15_000;
/** Puts before measuring, so connections, the leader's first entry and the keys are there. */
const WARMUP_PUTS = KEYS_PER_CLIENT;

/** Options of {@linkcode runKvBench}. */
export interface KvBenchOptions {
  /** Client counts to measure. */
  readonly clients: readonly number[];
  /** Seconds per level. */
  readonly seconds: number;
  /** Shares of gets among the operations, each in [0, 1]; default only puts. */
  readonly readShares?: readonly number[];
  /** Consistencies of the gets; each share above 0 is measured at each. Default linearizable. */
  readonly consistencies?: readonly Consistency[];
  /** Cluster sizes to measure; default 1 (the baseline) then 3. */
  readonly clusterSizes?: readonly number[];
  /** Where lines go; default standard output. */
  readonly print?: (line: string) => void;
}

/** One level: a cluster size, a client count, a share of gets and their consistency. */
export interface Level {
  /** Nodes in the cluster. */
  readonly nodes: number;
  /** Concurrent clients. */
  readonly clients: number;
  /** Share of gets among the operations. */
  readonly readShare: number;
  /** The gets' consistency; null when there are no gets. */
  readonly consistency: Consistency | null;
}

/** The outcome of one level. */
export interface LevelResult extends Level {
  /** Operations completed, gets and puts. */
  readonly operations: number;
  /** Operations per second, and the same for gets and puts alone. */
  readonly operationsPerSecond: number;
  readonly getsPerSecond: number;
  readonly putsPerSecond: number;
  /** Median and 99th percentile latency of all operations. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Median latency of gets and of puts alone (NaN when there were none). */
  readonly getP50Ms: number;
  readonly putP50Ms: number;
  /**
   * Log entries per persist (one fsync each) on the leader during the level: group commit. NaN
   * when it persisted nothing.
   */
  readonly entriesPerPersist: number;
}

/** The table's columns, named in its header. */
const COLUMNS = [
  "nodes",
  "clients",
  "reads",
  "level",
  "ops/s",
  "gets/s",
  "puts/s",
  "p50 ms",
  "p99 ms",
  "get p50",
  "put p50",
  "entries/fsync",
  "vs 1 node",
];

/** Runs every level on every cluster size, prints one table, and returns the results. */
export async function runKvBench(options: KvBenchOptions): Promise<LevelResult[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const sizes = options.clusterSizes ?? [1, 3];
  checkOptions(options);
  print(
    `kv bench: closed-loop clients, gets at the level given and puts of ${BENCH_VALUE_BYTES}-byte values, ${options.seconds} s per level, kv-server processes on loopback with fsync; latencies in ms`,
  );
  print(formatRow(COLUMNS));
  const results: LevelResult[] = [];
  for (const nodes of sizes) {
    const levels = levelsOf(nodes, options);
    for (const result of await benchCluster(levels, options.seconds)) {
      const baseline = results.find((other) =>
        other.nodes === 1 && other.clients === result.clients &&
        other.readShare === result.readShare && other.consistency === result.consistency
      );
      results.push(result);
      print(formatRow(rowOf(result, nodes === 1 ? undefined : baseline)));
    }
  }
  return results;
}

function checkOptions(options: KvBenchOptions): void {
  assert(options.seconds > 0, `Cannot run a level for ${options.seconds} s`);
  for (const clients of options.clients) {
    assert(
      Number.isSafeInteger(clients) && clients >= 1 && clients <= MAX_BENCH_CLIENTS,
      `Cannot run ${clients} clients: 1 to ${MAX_BENCH_CLIENTS} are allowed`,
    );
  }
  for (const share of options.readShares ?? []) {
    assert(share >= 0 && share <= 1, `A share of gets of ${share} is not in [0, 1]`);
  }
}

/** The levels of a cluster of `nodes`: clients, then shares, then consistencies. */
export function levelsOf(nodes: number, options: KvBenchOptions): Level[] {
  const levels: Level[] = [];
  for (const clients of options.clients) {
    for (const readShare of options.readShares ?? [0]) {
      const consistencies = readShare === 0 ? [null] : options.consistencies ?? ["linearizable"];
      for (const consistency of consistencies) {
        levels.push({ nodes, clients, readShare, consistency });
      }
    }
  }
  return levels;
}

function rowOf(result: LevelResult, baseline: LevelResult | undefined): string[] {
  const fixed = (value: number, digits: number) =>
    Number.isNaN(value) ? "-" : value.toFixed(digits);
  return [
    String(result.nodes),
    String(result.clients),
    result.readShare.toFixed(2),
    result.consistency ?? "-",
    fixed(result.operationsPerSecond, 0),
    fixed(result.getsPerSecond, 0),
    fixed(result.putsPerSecond, 0),
    fixed(result.p50Ms, 2),
    fixed(result.p99Ms, 2),
    fixed(result.getP50Ms, 2),
    fixed(result.putP50Ms, 2),
    fixed(result.entriesPerPersist, 1),
    baseline === undefined
      ? "-"
      : fixed(result.operationsPerSecond / baseline.operationsPerSecond, 2),
  ];
}

function formatRow(cells: readonly string[]): string {
  return cells.map((cell, column) =>
    column === 0 ? cell.padEnd(5) : cell.padStart(column === 3 ? 13 : 8)
  )
    .join(" ");
}

/** Starts a cluster of the levels' size, runs each level on it, and stops it. */
async function benchCluster(levels: readonly Level[], seconds: number): Promise<LevelResult[]> {
  if (levels.length === 0) return [];
  const cluster = await ProcessCluster.start({
    size: levels[0].nodes,
    transport: "tcp",
    maxRaftStateBytes: BENCH_MAX_RAFT_STATE_BYTES,
  });
  const servers = cluster.clientAddresses().map((address) => connect(address, { log: () => {} }));
  try {
    const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const results: LevelResult[] = [];
    for (const level of levels) {
      const clerks = await warmClerks(servers, level.clients);
      const before = await persistCounts(cluster, leader);
      const result = await runLevel(clerks, level, seconds);
      const after = await persistCounts(cluster, leader);
      const persists = after.persists - before.persists;
      // A level of gets alone persists nothing: no ratio to give.
      const entriesPerPersist = persists === 0
        ? NaN
        : (after.persistedEntries - before.persistedEntries) / persists;
      results.push({ ...result, entriesPerPersist });
    }
    return results;
  } finally {
    for (const server of servers) server.close();
    await cluster.close();
  }
}

/** The persist counters of node `id`; throws when it does not answer. */
async function persistCounts(
  cluster: ProcessCluster,
  id: number,
): Promise<{ persists: number; persistedEntries: number }> {
  const status = await cluster.status(id);
  if (status === null) throw new Error(`Node ${id} did not report its status during the bench`);
  return status;
}

/**
 * `clients` clerks that have each put a value in every key they will read, so connections and
 * keys are there before the level's measurement (and its count of persists) starts.
 */
async function warmClerks(
  servers: ReturnType<typeof connect>[],
  clients: number,
): Promise<Clerk[]> {
  const value = "v".repeat(BENCH_VALUE_BYTES);
  const clerks = Array.from(
    { length: clients },
    () => new Clerk(servers, realClock, unseededRandom()),
  );
  await Promise.all(clerks.map(async (clerk, index) => {
    for (let key = 0; key < WARMUP_PUTS; key++) await clerk.put(keyOf(index, key), value);
  }));
  return clerks;
}

/** The level's closed-loop `clerks` for `seconds`; the latency of every get and put. */
async function runLevel(
  clerks: readonly Clerk[],
  level: Level,
  seconds: number,
): Promise<Omit<LevelResult, "entriesPerPersist">> {
  const value = "v".repeat(BENCH_VALUE_BYTES);
  const getsMs: number[] = [];
  const putsMs: number[] = [];
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  await Promise.all(clerks.map(async (clerk, index) => {
    // The same mix of gets and puts at every level of a share, on every run.
    const random = new SeededRandom(index + 1);
    for (let operation = 0; performance.now() < endMs; operation++) {
      const key = keyOf(index, operation);
      const callMs = performance.now();
      if (random.next() < level.readShare) {
        await clerk.get(key, level.consistency ?? "linearizable");
        getsMs.push(performance.now() - callMs);
      } else {
        await clerk.put(key, value);
        putsMs.push(performance.now() - callMs);
      }
    }
  }));
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  for (const clerk of clerks) clerk.close();
  return summarize(level, getsMs, putsMs, elapsedSeconds);
}

function keyOf(client: number, operation: number): string {
  return `client-${client}-key-${operation % KEYS_PER_CLIENT}`;
}

function summarize(
  level: Level,
  getsMs: number[],
  putsMs: number[],
  elapsedSeconds: number,
): Omit<LevelResult, "entriesPerPersist"> {
  const allMs = [...getsMs, ...putsMs].sort((a, b) => a - b);
  getsMs.sort((a, b) => a - b);
  putsMs.sort((a, b) => a - b);
  return {
    ...level,
    operations: allMs.length,
    operationsPerSecond: allMs.length / elapsedSeconds,
    getsPerSecond: getsMs.length / elapsedSeconds,
    putsPerSecond: putsMs.length / elapsedSeconds,
    p50Ms: percentile(allMs, 0.5),
    p99Ms: percentile(allMs, 0.99),
    getP50Ms: percentile(getsMs, 0.5),
    putP50Ms: percentile(putsMs, 0.5),
  };
}

/** The value below which `fraction` of the sorted `values` lie (nearest rank). */
export function percentile(sortedValues: readonly number[], fraction: number): number {
  if (sortedValues.length === 0) return NaN;
  const rank = Math.ceil(fraction * sortedValues.length) - 1;
  return sortedValues[Math.min(sortedValues.length - 1, Math.max(0, rank))];
}
