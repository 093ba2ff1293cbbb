/**
 * `dsys bench`: measures a system against its baseline in the same run. `bench mr` is the
 * MapReduce benchmark of mr/bench.ts; `bench catchup` the catch-up of a follower far behind, in
 * simulation (bench/catch_up.ts); `bench kv` throughput and latency of a real key/value
 * cluster, gets and puts (bench/kv.ts); `bench failover` how long a cluster cannot write after
 * its leader dies or hands over (bench/failover.ts). This file reads their options.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { InvalidArgumentError } from "commander";
import { DEFAULT_BENCH_BYTES, runMrBench, type Transfer, TRANSFERS } from "../mr/mod.ts";
import { CONSISTENCIES, type Consistency } from "../kv/mod.ts";
import { MAX_BENCH_CLIENTS, runKvBench } from "../bench/kv.ts";
import { runCatchUpBench } from "../bench/catch_up.ts";
import { runFailoverBench } from "../bench/failover.ts";
import { runCoordinationBench } from "../bench/coordination.ts";
import { MAX_STATE_KEYS, restoreSnapshotFile, runKvStateBench } from "../bench/kv_state.ts";
import { DEFAULT_MAX_INFLIGHT_APPENDS } from "../raft/config.ts";
import { examples, integerOption, parseSize, requireFiles } from "./arguments.ts";

/** Default client counts, one level each. */
export const DEFAULT_BENCH_CLIENTS: readonly number[] = [1, 16, 64];
/** Default seconds per level. */
export const DEFAULT_BENCH_SECONDS = 5;

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
        "kv-state",
        "coordination",
      ]),
    )
    .option("--inputs <files...>", "mr: input files (default: a generated corpus)")
    .addOption(
      new Option("--size <bytes>", "mr: size of the generated corpus, as 200MB or 64MiB")
        .argParser(parseSize).default(DEFAULT_BENCH_BYTES, "8MB"),
    )
    .option("--timings", "mr: print each process's time per phase")
    .option(
      "--mr-transfer <list>",
      "mr: how map output travels in the distributed runs, comma-separated: shared, rpc",
      parseTransfers,
      ["shared" as Transfer],
    )
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
    .option(
      "--reads <shares>",
      "kv: shares of gets among the operations, comma-separated, each 0 to 1",
      parseReadShares,
      [0],
    )
    .option(
      "--consistency <levels>",
      `kv: the gets' consistency, comma-separated (${
        CONSISTENCIES.join(", ")
      }; serializable reads may be stale)`,
      parseConsistencies,
      ["linearizable" as const],
    )
    .option(
      "--coordination",
      "kv: then, on a fresh cluster, puts/s beside compare-and-swap txns/s and watch fan-out " +
        "(as bench coordination, with the first --clients count)",
    )
    .option("--kills <count>", "failover: leaders to kill -9", integerOption(0, 1000), 50)
    .option("--transfers <count>", "failover: leadership transfers", integerOption(0, 1000), 20)
    .addHelpText(
      "after",
      examples(
        "dsys bench mr --inputs books/*.txt",
        "dsys bench mr --size 200MB --timings",
        "dsys bench mr --size 200MB --mr-transfer shared,rpc",
        "dsys bench kv --clients 1,16,64 --seconds 5",
        "dsys bench kv --clients 1,64 --reads 0,0.5,0.9,1 --consistency linearizable,lease",
        "dsys bench kv --clients 64 --coordination --watchers 100",
        "dsys bench catchup",
        "dsys bench failover --kills 50 --transfers 20",
        "dsys bench kv-state --keys 1000000 --value-bytes 100 --follower",
        "dsys bench coordination --clients 64 --watchers 100 --seconds 5",
      ),
    )
    .option(
      "--watchers <count>",
      "coordination (and kv --coordination): watchers of one prefix",
      integerOption(1, 10_000),
      100,
    )
    .option("--keys <count>", "kv-state: keys to load", integerOption(1, MAX_STATE_KEYS), 1_000_000)
    .option("--value-bytes <bytes>", "kv-state: bytes per value", integerOption(0, 1_000_000), 100)
    .option(
      "--follower",
      "kv-state: also time a follower of a real 3-node cluster installing the state",
    )
    .option(
      "--restore <file>",
      "kv-state: (used by the bench itself) restore a snapshot file and report",
    )
    .action(async (system, options) => {
      if (system === "kv" || system === "coordination") {
        if (system === "kv") {
          await runKvBench({
            clients: options.clients,
            seconds: options.seconds,
            readShares: options.reads,
            consistencies: options.consistency,
          });
        }
        if (system === "coordination" || options.coordination) {
          await runCoordinationBench({
            clients: options.clients[0],
            watchers: options.watchers,
            seconds: options.seconds,
          });
        }
        return;
      }
      if (system === "kv-state") {
        if (options.restore !== undefined) await restoreSnapshotFile(options.restore);
        else {
          await runKvStateBench({
            keys: options.keys,
            valueBytes: options.valueBytes,
            follower: options.follower,
          });
        }
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
      await runMrBench({
        inputs: options.inputs,
        sizeBytes: options.size,
        timings: options.timings,
        transfers: options.mrTransfer,
      });
    });
}

/** Parses `--mr-transfer`: comma-separated transfer modes. */
export function parseTransfers(text: string): Transfer[] {
  return text.split(",").map((part) => {
    const transfer = TRANSFERS.find((name) => name === part.trim());
    if (transfer === undefined) {
      throw new InvalidArgumentError(
        `"${part}" is not a transfer: give ${TRANSFERS.join(" or ")}.`,
      );
    }
    return transfer;
  });
}

/** Parses `--reads`: comma-separated shares of gets, each from 0 to 1. */
export function parseReadShares(text: string): number[] {
  return text.split(",").map((part) => {
    const share = Number(part.trim());
    if (part.trim() === "" || !Number.isFinite(share) || share < 0 || share > 1) {
      throw new InvalidArgumentError(`"${part}" is not a share of gets from 0 to 1.`);
    }
    return share;
  });
}

/** Parses `--consistency`: comma-separated consistency levels. */
export function parseConsistencies(text: string): Consistency[] {
  return text.split(",").map((part) => {
    const level = part.trim();
    if (!CONSISTENCIES.includes(level as Consistency)) {
      throw new InvalidArgumentError(
        `"${part}" is not a consistency: use ${CONSISTENCIES.join(", ")}.`,
      );
    }
    return level as Consistency;
  });
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
