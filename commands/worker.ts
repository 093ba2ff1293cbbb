/**
 * `dsys worker`: a MapReduce worker as a process; it asks the coordinator for tasks until the
 * job is done. It exits 0 once the coordinator told it to exit (or when no coordinator ever
 * answered at its address: no job to work for), and 1 when it lost its coordinator before being
 * told, or when something other than the application failed (its files, its connection).
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import {
  DEFAULT_COORDINATOR_ADDRESS,
  loadApp,
  PhaseTimes,
  runWorker,
  workerEndLine,
} from "../mr/mod.ts";
import { addressOption, examples } from "./arguments.ts";
import { logFormatOption } from "./observe_options.ts";
import { Logger } from "../observe/log.ts";

/** The `worker` subcommand. */
export function workerCommand() {
  return new Command("worker")
    .description("Ask the coordinator for tasks and run them until the job is done.")
    .argument("<app>", "built-in application (wc, indexer, …) or a module path")
    .option(
      "--coordinator <address>",
      "the coordinator's address",
      addressOption,
      DEFAULT_COORDINATOR_ADDRESS,
    )
    .option(
      "--work-dir <dir>",
      "shared transfer: the coordinator's folder as seen here (default: its path); " +
        "rpc transfer: this worker's own folder for map output (default: a temporary one)",
    )
    .option(
      "--listen <address>",
      "rpc transfer: where to serve this worker's map output to reducers (default 127.0.0.1, any port)",
      addressOption,
    )
    .option("--timings", "print the time spent in each phase on standard error at exit")
    .addOption(logFormatOption())
    .addHelpText(
      "after",
      examples(
        "dsys worker --coordinator 127.0.0.1:7070 wc",
        "dsys worker --coordinator 10.0.0.1:7070 --listen 10.0.0.2:7071 --work-dir /var/tmp/mr wc",
      ),
    )
    .action(async (app, options) => {
      const times = new PhaseTimes();
      const logger = new Logger({ node: `worker ${Deno.pid}`, format: options.logFormat });
      const result = await runWorker({
        log: logger.at("info"),
        coordinator: options.coordinator,
        app: await loadApp(app),
        workDir: options.workDir,
        listen: options.listen,
        times,
      });
      if (options.timings) logger.info(times.line());
      const endLine = workerEndLine(result, options.coordinator);
      if (result.reason === "coordinator-gone") throw new Error(endLine ?? "");
      if (endLine !== null) logger.info(endLine);
    });
}
