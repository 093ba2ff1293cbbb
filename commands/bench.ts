/**
 * `dsys bench`: measures a system against its baseline in the same run. `bench mr` is the
 * MapReduce benchmark of mr/bench.ts; `bench catchup` the catch-up of a follower far behind, in
 * simulation (bench/catch_up.ts); `bench kv`, here, measures throughput and latency of a real
 * key/value cluster. It starts `kv-server`
 * processes on loopback (file storage, fsync on every persist), and runs closed-loop clients in
 * this process — each a {@linkcode Clerk} doing sequential puts of 100-byte values to its own
 * keys — for a fixed time per level. All clerks share one TCP connection per server (the RPC
 * layer multiplexes calls), as a client library would. A 1-node cluster (no replication, same
 * code and disk) runs first in the same run as the baseline; the 3-node figures are then given
 * as ratios of it.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { InvalidArgumentError } from "commander";
import { assert } from "../util/assert.ts";
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import { connect } from "../rpc/tcp_client.ts";
import { Clerk } from "../kv/clerk.ts";
import { runMrBench } from "../mr/mod.ts";
import { ProcessCluster } from "../cluster/process_cluster.ts";
import { runCatchUpBench } from "../bench/catch_up.ts";
import { runFailoverBench } from "../bench/failover.ts";
import { DEFAULT_MAX_INFLIGHT_APPENDS } from "../raft/config.ts";
import { examples, integerOption, requireFiles } from "./arguments.ts";

/** Default client counts, one level each. */
export const DEFAULT_BENCH_CLIENTS: readonly number[] = [1, 16, 64];
/** Default seconds per level. */
export const DEFAULT_BENCH_SECONDS = 5;
/** Size of every value put. */
export const BENCH_VALUE_BYTES = 100;
/** Keys each client cycles through. */
const KEYS_PER_CLIENT = 16;
/** Most clients one level may have. */
export const MAX_BENCH_CLIENTS = 1024;
/** Servers snapshot past this much Raft state, as a deployment would. */
const BENCH_MAX_RAFT_STATE_BYTES = 8 * 1024 * 1024;
/** Time allowed for the first leader. */
const LEADER_TIMEOUT_MS = 15_000;
/** Puts before measuring, so connections and the leader's first entry are done. */
const WARMUP_PUTS = 20;

/** The `bench` subcommand. */
export function benchCommand() {
  return new Command("bench")
    .description("Measure a system against its baseline in the same run.")
    .addArgument(
      new Command().createArgument("<system>", "what to measure").choices([
        "mr",
        "kv",
        "catchup",
        "failover",
      ]),
    )
    .option("--inputs <files...>", "mr: input files (default: a generated corpus)")
    .option(
      "--clients <counts>",
      "kv: concurrent clients per level, comma-separated",
      parseClientCounts,
      [...DEFAULT_BENCH_CLIENTS],
    )
    .option(
      "--seconds <seconds>",
      "kv: seconds per level",
      integerOption(1, 3600),
      DEFAULT_BENCH_SECONDS,
    )
    .option("--kills <count>", "failover: leaders to kill -9", integerOption(0, 1000), 50)
    .option("--transfers <count>", "failover: leadership transfers", integerOption(0, 1000), 20)
    .addHelpText(
      "after",
      examples(
        "dsys bench mr --inputs books/*.txt",
        "dsys bench kv --clients 1,16,64 --seconds 5",
        "dsys bench catchup",
        "dsys bench failover --kills 50 --transfers 20",
      ),
    )
    .action(async (system, options) => {
      if (system === "kv") {
        await runKvBench({ clients: options.clients, seconds: options.seconds });
        return;
      }
      if (system === "catchup") {
        await runCatchUpBench(DEFAULT_MAX_INFLIGHT_APPENDS);
        return;
      }
      if (system === "failover") {
        await runFailoverBench({ kills: options.kills, transfers: options.transfers });
        return;
      }
      if (options.inputs !== undefined) await requireFiles(options.inputs);
      await runMrBench({ inputs: options.inputs });
    });
}

/** Options of {@linkcode runKvBench}. */
export interface KvBenchOptions {
  /** Client counts to measure, one level each. */
  readonly clients: readonly number[];
  /** Seconds per level. */
  readonly seconds: number;
  /** Cluster sizes to measure; default 1 (the baseline) then 3. */
  readonly clusterSizes?: readonly number[];
  /** Where lines go; default standard output. */
  readonly print?: (line: string) => void;
}

/** The outcome of one level. */
export interface LevelResult {
  /** Nodes in the cluster. */
  readonly nodes: number;
  /** Concurrent clients. */
  readonly clients: number;
  /** Puts completed. */
  readonly operations: number;
  /** Puts per second. */
  readonly operationsPerSecond: number;
  /** Median latency. */
  readonly p50Ms: number;
  /** 99th percentile latency. */
  readonly p99Ms: number;
  /** Log entries per persist (one fsync each) on the leader during the level: group commit. */
  readonly entriesPerPersist: number;
}

/** Runs every cluster size at every client level and prints a table; returns the results. */
export async function runKvBench(options: KvBenchOptions): Promise<LevelResult[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const sizes = options.clusterSizes ?? [1, 3];
  assert(options.seconds > 0, `Cannot run a level for ${options.seconds} s`);
  for (const clients of options.clients) {
    assert(
      clients >= 1 && clients <= MAX_BENCH_CLIENTS,
      `Cannot run ${clients} clients: 1 to ${MAX_BENCH_CLIENTS} are allowed`,
    );
  }
  print(
    `kv bench: closed-loop clients doing puts of ${BENCH_VALUE_BYTES}-byte values, ${options.seconds} s per level, kv-server processes on loopback with fsync`,
  );
  print(formatRow(["nodes", "clients", "ops/s", "p50 ms", "p99 ms", "entries/fsync", "vs 1 node"]));
  const results: LevelResult[] = [];
  for (const nodes of sizes) {
    for (const result of await benchCluster(nodes, options.clients, options.seconds)) {
      const baseline = results.find((other) =>
        other.nodes === 1 && other.clients === result.clients
      );
      results.push(result);
      print(formatRow([
        String(result.nodes),
        String(result.clients),
        result.operationsPerSecond.toFixed(0),
        result.p50Ms.toFixed(2),
        result.p99Ms.toFixed(2),
        result.entriesPerPersist.toFixed(1),
        baseline === undefined || nodes === 1
          ? "-"
          : (result.operationsPerSecond / baseline.operationsPerSecond).toFixed(2),
      ]));
    }
  }
  return results;
}

function formatRow(cells: readonly string[]): string {
  return cells.map((cell, column) => column === 0 ? cell.padEnd(6) : cell.padStart(10)).join(" ");
}

/** Starts a cluster of `nodes`, runs each level on it, and stops it. */
async function benchCluster(
  nodes: number,
  levels: readonly number[],
  seconds: number,
): Promise<LevelResult[]> {
  const cluster = await ProcessCluster.start({
    size: nodes,
    transport: "tcp",
    maxRaftStateBytes: BENCH_MAX_RAFT_STATE_BYTES,
  });
  const servers = cluster.clientAddresses().map((address) => connect(address, { log: () => {} }));
  try {
    const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const results: LevelResult[] = [];
    for (const clients of levels) {
      const before = await persistCounts(cluster, leader);
      const result = await runLevel(servers, nodes, clients, seconds);
      const after = await persistCounts(cluster, leader);
      const entriesPerPersist = (after.persistedEntries - before.persistedEntries) /
        Math.max(1, after.persists - before.persists);
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

/** `clients` closed-loop clerks putting for `seconds`; latencies of every put. */
async function runLevel(
  servers: ReturnType<typeof connect>[],
  nodes: number,
  clients: number,
  seconds: number,
): Promise<Omit<LevelResult, "entriesPerPersist">> {
  const value = "v".repeat(BENCH_VALUE_BYTES);
  const clerks = Array.from(
    { length: clients },
    () => new Clerk(servers, realClock, unseededRandom()),
  );
  await Promise.all(clerks.map(async (clerk, index) => {
    for (let put = 0; put < WARMUP_PUTS; put++) await clerk.put(`warmup-${index}`, value);
  }));
  const latenciesMs: number[] = [];
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  await Promise.all(clerks.map(async (clerk, index) => {
    for (let put = 0; performance.now() < endMs; put++) {
      const callMs = performance.now();
      await clerk.put(`client-${index}-key-${put % KEYS_PER_CLIENT}`, value);
      latenciesMs.push(performance.now() - callMs);
    }
  }));
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  for (const clerk of clerks) clerk.close();
  latenciesMs.sort((a, b) => a - b);
  return {
    nodes,
    clients,
    operations: latenciesMs.length,
    operationsPerSecond: latenciesMs.length / elapsedSeconds,
    p50Ms: percentile(latenciesMs, 0.5),
    p99Ms: percentile(latenciesMs, 0.99),
  };
}

/** The value below which `fraction` of the sorted `values` lie (nearest rank). */
export function percentile(sortedValues: readonly number[], fraction: number): number {
  if (sortedValues.length === 0) return NaN;
  const rank = Math.ceil(fraction * sortedValues.length) - 1;
  return sortedValues[Math.min(sortedValues.length - 1, Math.max(0, rank))];
}

/** Parses `--clients`: comma-separated client counts, each 1 to {@linkcode MAX_BENCH_CLIENTS}. */
export function parseClientCounts(text: string): number[] {
  return text.split(",").map((part) => {
    const count = Number(part.trim());
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_BENCH_CLIENTS) {
      throw new InvalidArgumentError(
        `"${part}" is not a client count from 1 to ${MAX_BENCH_CLIENTS}.`,
      );
    }
    return count;
  });
}
