/**
 * `dsys sequential`: a MapReduce application in one process, the reference a distributed run's
 * output is compared with.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { CounterSet, formatCounts, loadApp, PhaseTimes, runSequential } from "../mr/mod.ts";
import { examples, requireFiles } from "./arguments.ts";

/** The `sequential` subcommand. */
export function sequentialCommand() {
  return new Command("sequential")
    .description("Run a MapReduce application in one process and write mr-out-0 (the reference).")
    .argument("<app>", "built-in application (wc, indexer, …) or a module path")
    .argument("<files...>", "input files")
    .option("--output-dir <dir>", "where mr-out-0 goes", ".")
    .option("--timings", "print the time spent in each phase on standard error at exit")
    .addHelpText("after", examples("dsys sequential wc books/*.txt"))
    .action(async (app, files, options) => {
      await requireFiles(files);
      const times = new PhaseTimes();
      const counters = new CounterSet();
      await runSequential({
        app: await loadApp(app),
        inputFiles: files,
        outputDir: options.outputDir,
        times,
        counters,
      });
      if (options.timings) console.error(times.line());
      const counts = counters.counts();
      if (Object.keys(counts).length > 0) console.error(`Counters: ${formatCounts(counts)}`);
    });
}
