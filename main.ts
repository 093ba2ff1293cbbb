/**
 * dsys: MapReduce, Raft and a linearizable key/value service, as one program with subcommands.
 * This file only parses the command line and starts the right component.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { integerOption, patternOption, requireFiles, secondsOption } from "./commands/arguments.ts";
import { SUITE_NAMES, suiteTests } from "./commands/test_suites.ts";
import { runDemo, runKvDemo } from "./commands/demo.ts";
import { runTests, summaryLine } from "./labs/runner.ts";
import { parseAddress } from "./rpc/mod.ts";
import { loadApp, runCoordinator, runMrBench, runSequential, runWorker } from "./mr/mod.ts";
import { errorText } from "./util/error_text.ts";
import { DEFAULT_CLUSTER_ID } from "./storage/file_storage.ts";
import { parsePeers } from "./peer/peer_process.ts";
import { runKvServer } from "./commands/kv_server.ts";
import { proposeCommand, runRaftPeer } from "./commands/raft_peer.ts";
import {
  DEFAULT_OPERATION_TIMEOUT_MS,
  EXIT_UNKNOWN_OUTCOME,
  type KvOperation,
  parseServers,
  runKvOperation,
  runKvShell,
  runStatus,
} from "./commands/kv.ts";
import { DEFAULT_STATUS_TIMEOUT_MS } from "./peer/status.ts";
import {
  DEFAULT_BENCH_CLIENTS,
  DEFAULT_BENCH_SECONDS,
  parseClientCounts,
  runKvBench,
} from "./commands/bench_kv.ts";

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

  addClusterCommands(program);

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
    .addArgument(
      new Command().createArgument("<system>", "what to measure").choices(["mr", "kv"]),
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
    .action(async (system, options) => {
      if (system === "kv") {
        await runKvBench({ clients: options.clients, seconds: options.seconds });
        return;
      }
      if (options.inputs !== undefined) await requireFiles(options.inputs);
      await runMrBench({ inputs: options.inputs });
    });

  program.command("demo")
    .description(
      "Run a MapReduce job on a coordinator and three worker processes, then a three-node key/value cluster through the loss of its leader.",
    )
    .option("--kv-only", "only the key/value part", false)
    .action(async (options) => {
      if (options.kvOnly) await runKvDemo();
      else await runDemo();
    });
  return program;
}

/** The real-cluster commands: raft-peer and kv-server, then the clients kv and status. */
function addClusterCommands(program: Command) {
  addServerCommands(program);
  addProposeCommand(program);
  addClientCommands(program);
}

/** raft-peer and kv-server. */
function addServerCommands(program: Command) {
  program.command("raft-peer")
    .description(
      "Run a Raft peer replicating opaque commands (Raft.Propose); logs role and term changes.",
    )
    .requiredOption("--id <id>", "this peer's index in --peers", integerOption(0))
    .requiredOption("--peers <addresses>", "every peer's host:port or unix:/path, comma-separated")
    .requiredOption("--data <dir>", "this peer's data folder (created if missing)")
    .option("--cluster <name>", "cluster name the data folder must belong to", DEFAULT_CLUSTER_ID)
    .option("--log-applies", "log one line per applied command", false)
    .action(async (options) => {
      await runRaftPeer({
        id: options.id,
        peers: parsePeers(options.peers, options.id),
        dataDir: options.data,
        cluster: options.cluster,
        logApplies: options.logApplies,
      });
    });

  program.command("kv-server")
    .description(
      "Run a key/value server with its Raft peer inside; listens on the --peers entry of --id.",
    )
    .requiredOption("--id <id>", "this server's index in --peers", integerOption(0))
    .requiredOption(
      "--peers <addresses>",
      "every server's host:port or unix:/path, comma-separated",
    )
    .requiredOption("--data <dir>", "this server's data folder (created if missing)")
    .option(
      "--maxraftstate <bytes>",
      "snapshot when the persisted Raft state nears this size; -1 never",
      integerOption(-1),
      -1,
    )
    .option("--cluster <name>", "cluster name the data folder must belong to", DEFAULT_CLUSTER_ID)
    .action(async (options) => {
      if (options.maxraftstate === 0) throw new Error("--maxraftstate must be -1 or positive");
      await runKvServer({
        id: options.id,
        peers: parsePeers(options.peers, options.id),
        dataDir: options.data,
        cluster: options.cluster,
        maxRaftStateBytes: options.maxraftstate,
      });
    });
}

/** propose: a command for a raft-peer cluster. */
function addProposeCommand(program: Command) {
  program.command("propose")
    .description(
      `Replicate a command on a raft-peer cluster and wait until it is committed. Exit codes: 0 committed, ${EXIT_UNKNOWN_OUTCOME} outcome unknown (timed out), 1 other errors.`,
    )
    .requiredOption("--servers <addresses>", "the peers' addresses, comma-separated")
    .addOption(
      new Option("--timeout <seconds>", "give up after this long (exit 2)")
        .argParser(secondsOption())
        .default(DEFAULT_OPERATION_TIMEOUT_MS, `${DEFAULT_OPERATION_TIMEOUT_MS / 1000}`),
    )
    .argument("<command>", "the command, as a string")
    .action(async (command, options) => {
      const outcome = await proposeCommand(parseServers(options.servers), command, options.timeout);
      if (outcome === null) {
        console.error(
          `dsys propose: no commit within ${options.timeout / 1000} s: outcome unknown`,
        );
        Deno.exitCode = EXIT_UNKNOWN_OUTCOME;
        return;
      }
      console.log(
        `committed at index ${outcome.index} in term ${outcome.term} by peer ${outcome.leader}`,
      );
    });
}

/** kv (one operation, shell, status) and status. */
function addClientCommands(program: Command) {
  const kv = program.command("kv")
    .description(
      `Run key/value operations against a cluster. Exit codes: 0 done, ${EXIT_UNKNOWN_OUTCOME} outcome unknown (timed out: the write may or may not have happened), 1 other errors.`,
    )
    .requiredOption("--servers <addresses>", "the servers' addresses, comma-separated")
    .addOption(
      new Option("--timeout <seconds>", "give up an operation after this long (exit 2)")
        .argParser(secondsOption())
        .default(DEFAULT_OPERATION_TIMEOUT_MS, `${DEFAULT_OPERATION_TIMEOUT_MS / 1000}`),
    );
  const operate = async (operation: KvOperation) => {
    const options = kv.opts();
    const code = await runKvOperation(parseServers(options.servers), operation, options.timeout);
    if (code !== 0) Deno.exitCode = code;
  };
  kv.command("get").description("Print the value of a key (empty if missing).")
    .argument("<key>").action((key) => operate({ kind: "get", key, value: "" }));
  kv.command("put").description("Set a key.")
    .argument("<key>").argument("<value>")
    .action((key, value) => operate({ kind: "put", key, value }));
  kv.command("append").description("Append to a key's value.")
    .argument("<key>").argument("<value>")
    .action((key, value) => operate({ kind: "append", key, value }));
  kv.command("shell")
    .description(
      'Read "get K", "put K V", "append K V" lines from stdin; print one JSON result per line (callMs/returnMs: ms since the epoch, performance.timeOrigin + performance.now()).',
    )
    .action(async () => {
      const options = kv.opts();
      await runKvShell(
        parseServers(options.servers),
        options.timeout,
        Deno.stdin.readable,
        (line) => console.log(line),
      );
    });
  kv.command("status").description("Show every server's role, term, leader and indexes.")
    .option("--json", "print JSON instead of a table", false)
    .action(async (options) => {
      await runStatus(parseServers(kv.opts().servers), options.json, DEFAULT_STATUS_TIMEOUT_MS);
    });

  program.command("status")
    .description("Show the role, term, leader and indexes of kv-server or raft-peer nodes.")
    .requiredOption("--servers <addresses>", "the nodes' addresses, comma-separated")
    .option("--json", "print JSON instead of a table", false)
    .addOption(
      new Option("--timeout <seconds>", "a node silent this long is unreachable")
        .argParser(secondsOption())
        .default(DEFAULT_STATUS_TIMEOUT_MS, `${DEFAULT_STATUS_TIMEOUT_MS / 1000}`),
    )
    .action(async (options) => {
      await runStatus(parseServers(options.servers), options.json, options.timeout);
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

if (import.meta.main) {
  try {
    await buildProgram().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    console.error(`dsys: ${errorText(error)}`);
    Deno.exit(1);
  }
}
