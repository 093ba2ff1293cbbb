/**
 * `dsys test`: runs a lab suite, by name, over seeds and processes. (The file is not called
 * `test.ts`: `deno test` would take it for a test.)
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { runTests, summaryLine } from "../labs/runner.ts";
import { clusterSuite } from "../cluster/cluster_suite.ts";
import { kvSuite } from "../labs/kv_suite.ts";
import { kvraftSuite } from "../labs_2025/kvraft_suite.ts";
import { kvsrvSuite } from "../labs_2025/kvsrv_suite.ts";
import { mrSuite } from "../labs/mr_suite.ts";
import { raftSuite } from "../labs/raft_suite.ts";
import { simSuite } from "../safety/sim_suite.ts";
import type { LabTest } from "../labs/suite.ts";
import { examples, integerOption, patternOption } from "./arguments.ts";

/** Every suite by the name `dsys test` takes. */
export const SUITES: Readonly<Record<string, readonly LabTest[]>> = {
  cluster: clusterSuite,
  // The 2022 lab's 3A and 3B, then the 2025 lab's versioned suites: kvsrv, lock, 4B and 4C.
  kv: [...kvSuite, ...kvsrvSuite, ...kvraftSuite],
  mr: mrSuite,
  raft: raftSuite,
  sim: simSuite,
};

/** The suites that run on a simulation, whose runs `--trace` (and a failure) record. */
export const TRACED_SUITES: readonly string[] = ["raft", "kv", "sim"];

/** Names `dsys test` accepts: each suite, and `all`. */
export const SUITE_NAMES: readonly string[] = [...Object.keys(SUITES), "all"];

/** The tests of suite `name` (`all` joins every suite); throws naming the choices otherwise. */
export function suiteTests(name: string): readonly LabTest[] {
  if (name === "all") return Object.values(SUITES).flat();
  const tests = SUITES[name];
  if (tests === undefined) {
    throw new Error(`Unknown suite "${name}": choose one of ${SUITE_NAMES.join(", ")}`);
  }
  return tests;
}

/** The `test` subcommand. */
export function testCommand() {
  return new Command("test")
    .description("Run a lab test suite.")
    .addArgument(new Command().createArgument("<suite>", "which suite").choices(SUITE_NAMES))
    .option("--run <regex>", "only tests whose label matches", patternOption)
    .option("--count <runs>", "runs of each test", integerOption(1, 1_000_000), 1)
    .option(
      "--seeds <count>",
      "seeds to explore (the same as --count)",
      integerOption(1, 1_000_000),
    )
    .option("--seed <seed>", "seed of the first run (run i uses seed + i)", integerOption(0))
    .option(
      "--parallel <processes>",
      "spread runs over this many processes",
      integerOption(1, 64),
      1,
    )
    .option("--trace <file>", "write the run's timeline page (raft, kv, sim: one test, one seed)")
    .addOption(new Option("--shard <k/n>", "run every n-th run, from the k-th").hideHelp())
    .addHelpText(
      "after",
      examples(
        "dsys test raft --run 'Figure 8' --count 100",
        "dsys test sim --seeds 10000 --parallel 2",
        "dsys test raft --run 'Figure 8$' --seed 7 --trace figure8.html",
      ),
    )
    .action(async (suite, options) => {
      const traceable = TRACED_SUITES.includes(suite);
      if (options.trace !== undefined && !traceable) {
        throw new Error(
          `Cannot trace suite ${suite}: --trace takes one of ${TRACED_SUITES.join(", ")}`,
        );
      }
      const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
      if (options.seed === undefined && options.shard === undefined) console.log(`seed ${seed}`);
      const summary = await runTests(suite, suiteTests(suite), {
        pattern: options.run,
        count: options.seeds ?? options.count,
        seed,
        parallel: options.parallel,
        shard: parseShard(options.shard),
        tracePath: options.trace,
        traceFailures: traceable,
      });
      console.log(summaryLine(summary));
      if (summary.failed > 0) Deno.exitCode = 1;
    });
}

function parseShard(text: string | undefined): { index: number; total: number } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(text);
  if (match === null || Number(match[1]) >= Number(match[2])) {
    throw new Error(`Bad --shard "${text}": expected k/n with k < n`);
  }
  return { index: Number(match[1]), total: Number(match[2]) };
}
