/**
 * `dsys coordinator`: the MapReduce coordinator as a process; it serves tasks to `dsys worker`
 * processes and exits once the job is done (code 0) or failed (code 1, with one line naming
 * the task that failed three times, its input and the application's error).
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import {
  DEFAULT_COORDINATOR_ADDRESS,
  DEFAULT_REDUCE_COUNT,
  DEFAULT_SPLIT_BYTES,
  DEFAULT_TASK_TIMEOUT_MS,
  formatByteSize,
  runCoordinator,
  TRANSFERS,
} from "../mr/mod.ts";
import {
  addressOption,
  examples,
  integerOption,
  parseSize,
  requireFiles,
  secondsFlag,
} from "./arguments.ts";
import { logFormatOption, metricsOption } from "./observe_options.ts";
import { Logger } from "../observe/log.ts";
import { type MetricsServer, serveMetrics } from "../observe/metrics_server.ts";
import { coordinatorMetrics } from "../mr_status/coordinator_metrics.ts";

/** The `coordinator` subcommand. */
export function coordinatorCommand() {
  return new Command("coordinator")
    .description("Serve map and reduce tasks to workers; exit once the job is done.")
    .argument("<files...>", "input files, one map task per split")
    .option(
      "--listen <address>",
      "host:port or unix:/path to listen on",
      addressOption,
      DEFAULT_COORDINATOR_ADDRESS,
    )
    .option(
      "--nreduce <count>",
      "number of reduce tasks",
      integerOption(1, 10_000),
      DEFAULT_REDUCE_COUNT,
    )
    .addOption(
      secondsFlag(
        "--task-timeout <seconds>",
        "re-issue a task not reported in time",
        DEFAULT_TASK_TIMEOUT_MS,
      ),
    )
    .option("--output-dir <dir>", "where intermediate and output files go", ".")
    .addOption(
      new Option(
        "--transfer <how>",
        "shared: every process sees --output-dir and the inputs (the lab's way); rpc: workers " +
          "keep map output in their own folders and serve it, inputs they cannot read and all " +
          "outputs travel over RPC (no shared folder needed)",
      ).choices(TRANSFERS).default("shared" as const),
    )
    .addOption(
      new Option(
        "--split-size <bytes>",
        "a larger file becomes several map tasks, cut at lines (as 64MiB or 20MB)",
      ).argParser(parseSize).default(DEFAULT_SPLIT_BYTES, formatByteSize(DEFAULT_SPLIT_BYTES)),
    )
    .option(
      "--skip-bad-records",
      "run a map task that failed twice in skip mode, leaving out the lines map fails on " +
        "(for apps whose map treats lines independently, as wc and indexer)",
      false,
    )
    .option("--no-backup-tasks", "never run a second attempt of a straggler near a phase's end")
    .option(
      "--state <file>",
      "checkpoint finished tasks to this file and resume from it after a crash (kept after the job)",
    )
    .addOption(logFormatOption())
    .addOption(metricsOption())
    .addHelpText(
      "after",
      examples(
        "dsys coordinator --listen 127.0.0.1:7070 --nreduce 10 --task-timeout 10 books/*.txt",
        "dsys coordinator --metrics 127.0.0.1:9102 --log-format json books/*.txt",
        "dsys coordinator --split-size 16MiB big.txt",
        "dsys coordinator --transfer rpc --listen 0.0.0.0:7070 /data/books/*.txt",
        "dsys coordinator --skip-bad-records logs/*.txt",
        "dsys coordinator --state job.state books/*.txt   # run again with it after a crash",
      ),
    )
    .action(async (files, options) => {
      await requireFiles(files);
      const logger = new Logger({ node: "coordinator", format: options.logFormat });
      let metrics: MetricsServer | null = null;
      try {
        await runCoordinator({
          listen: options.listen,
          inputFiles: files,
          nReduce: options.nreduce,
          taskTimeoutMs: options.taskTimeout,
          outputDir: options.outputDir,
          splitSizeBytes: options.splitSize,
          transfer: options.transfer,
          skipBadRecords: options.skipBadRecords,
          backupTasks: options.backupTasks,
          stateFile: options.state,
          stamp: (line) => logger.format("info", line),
          onStatus: async (status) => {
            if (options.metrics === undefined) return;
            const registry = coordinatorMetrics(status);
            metrics = await serveMetrics(options.metrics, registry);
            logger.info(`serving metrics at http://${metrics.address}/metrics`);
          },
        });
      } finally {
        await (metrics as MetricsServer | null)?.close();
      }
    });
}
