/**
 * dsys: MapReduce, Raft and a linearizable key/value service, as one program with subcommands.
 * This file only parses the command line and starts the right component.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { integerOption, patternOption, requireFiles, secondsOption } from "./commands/arguments.ts";
import { SUITE_NAMES, suiteTests } from "./commands/test.ts";
import { runDemo } from "./commands/demo.ts";
import { runTests, summaryLine } from "./tests/runner.ts";
import { parseAddress } from "./rpc/mod.ts";
import { loadApp, runCoordinator, runMrBench, runSequential, runWorker } from "./mr/mod.ts";
import { errorText } from "./rpc/codec.ts";

const DEFAULT_COORDINATOR = "127.0.0.1:7070";

function addressOption(text: string) {
  parseAddress(text);
  return text;
}

function buildProgram() {
  const program = new Command()
    .name("dsys")
    .description(
      "MapReduce, Raft and a linearizable key/value service, for real and in simulation.",
    )
    .configureOutput({ outputError: (text, write) => write(text) });

  program.command("sequential")
    .description("Run a MapReduce application in one process and write mr-out-0 (the reference).")
    .argument("<app>", "built-in application (wc, indexer, …) or a module path")
    .argument("<files...>", "input files")
    .option("--output-dir <dir>", "where mr-out-0 goes", ".")
    .action(async (app, files, options) => {
      await requireFiles(files);
      await runSequential({
        app: await loadApp(app),
        inputFiles: files,
        outputDir: options.outputDir,
      });
    });

  program.command("coordinator")
    .description("Serve map and reduce tasks to workers; exit once the job is done.")
    .argument("<files...>", "input files, one map task each")
    .option(
      "--listen <address>",
      "host:port or unix:/path to listen on",
      addressOption,
      DEFAULT_COORDINATOR,
    )
    .option("--nreduce <count>", "number of reduce tasks", integerOption(1, 10_000), 10)
    .option(
      "--task-timeout <seconds>",
      "re-issue a task not reported in time",
      secondsOption(),
      10_000,
    )
    .option("--output-dir <dir>", "where intermediate and output files go", ".")
    .action(async (files, options) => {
      await requireFiles(files);
      await runCoordinator({
        listen: options.listen,
        inputFiles: files,
        nReduce: options.nreduce,
        taskTimeoutMs: options.taskTimeout,
        outputDir: options.outputDir,
      });
    });

  program.command("worker")
    .description("Ask the coordinator for tasks and run them until the job is done.")
    .argument("<app>", "built-in application (wc, indexer, …) or a module path")
    .option(
      "--coordinator <address>",
      "the coordinator's address",
      addressOption,
      DEFAULT_COORDINATOR,
    )
    .option(
      "--work-dir <dir>",
      "read inputs and write outputs here (default: the coordinator's folder)",
    )
    .action(async (app, options) => {
      await runWorker({
        coordinator: options.coordinator,
        app: await loadApp(app),
        workDir: options.workDir,
      });
    });

  program.command("test")
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
    .addOption(new Option("--shard <k/n>", "run every n-th run, from the k-th").hideHelp())
    .action(async (suite, options) => {
      const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
      if (options.seed === undefined && options.shard === undefined) console.log(`seed ${seed}`);
      const summary = await runTests(suite, suiteTests(suite), {
        pattern: options.run,
        count: options.seeds ?? options.count,
        seed,
        parallel: options.parallel,
        shard: parseShard(options.shard),
      });
      console.log(summaryLine(summary));
      if (summary.failed > 0) Deno.exitCode = 1;
    });

  program.command("bench")
    .description("Measure a system against its baseline in the same run.")
    .addArgument(new Command().createArgument("<system>", "what to measure").choices(["mr"]))
    .option("--inputs <files...>", "input files (default: a generated corpus)")
    .action(async (_system, options) => {
      if (options.inputs !== undefined) await requireFiles(options.inputs);
      await runMrBench({ inputs: options.inputs });
    });

  program.command("demo")
    .description("Start a coordinator and three workers as processes, and show the result.")
    .action(async () => {
      await runDemo();
    });
  return program;
}

function parseShard(text: string | undefined): { index: number; total: number } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(text);
  if (match === null || Number(match[1]) >= Number(match[2])) {
    throw new Error(`Bad --shard "${text}": expected k/n with k < n`);
  }
  return { index: Number(match[1]), total: Number(match[2]) };
}

if (import.meta.main) {
  try {
    await buildProgram().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    console.error(`dsys: ${errorText(error)}`);
    Deno.exit(1);
  }
}
