/**
 * `dsys worker`: a MapReduce worker as a process; it asks the coordinator for tasks until the
 * job is done.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { DEFAULT_COORDINATOR_ADDRESS, loadApp, PhaseTimes, runWorker } from "../mr/mod.ts";
import { addressOption, examples } from "./arguments.ts";

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
      "read inputs and write outputs here (default: the coordinator's folder)",
    )
    .option("--timings", "print the time spent in each phase on standard error at exit")
    .addHelpText("after", examples("dsys worker --coordinator 127.0.0.1:7070 wc"))
    .action(async (app, options) => {
      const times = new PhaseTimes();
      await runWorker({
        coordinator: options.coordinator,
        app: await loadApp(app),
        workDir: options.workDir,
        times,
      });
      if (options.timings) console.error(`timings: ${times.format()}`);
    });
}
