/**
 * The sequential reference, the lab's `mrsequential`: every map in turn, its pairs grouped by
 * key as they come, one sort of the keys, every reduce in turn, all output in `mr-out-0`. The
 * distributed job must produce the same lines.
 *
 * It groups as a map task does (each key's values as runs of equal values, spelled out for
 * reduce), so that it is as fast a baseline as one process can be: the benchmark's speed-up of
 * the workers over it is then the job's, not a difference of data structures. It never runs
 * the application's combiner: the reference reduces every value.
 *
 * @module
 */
import type { MapReduceApp } from "../apps/app.ts";
import {
  AtomicFileWriter,
  MAX_INPUT_FILE_BYTES,
  outputName,
  readTextBounded,
  reduceKeys,
} from "./job_files.ts";
import { loadApp } from "../apps/load_app.ts";
import { PhaseTimes } from "./phase_times.ts";
import { CounterSet } from "../apps/counters.ts";
import { groupMapOutput, RunsByKey } from "../mr_data/intermediate.ts";

/** Options of {@linkcode runSequential}. */
export interface SequentialOptions {
  /** The application, loaded or by name/path (see `loadApp`). */
  readonly app: MapReduceApp | string;
  /** Input files; map receives the names as given here. */
  readonly inputFiles: readonly string[];
  /** Folder for `mr-out-0`; default the current folder. */
  readonly outputDir?: string;
  /** Where each phase adds its time; default a fresh one nobody reads. */
  readonly times?: PhaseTimes;
  /** What map and reduce count into; default a fresh set nobody reads. */
  readonly counters?: CounterSet;
}

/**
 * Runs the whole job in this process and writes `mr-out-0` (atomically) in `outputDir`.
 * Resolves with the output file's path.
 *
 * @example
 * ```ts
 * await runSequential({ app: "wc", inputFiles: ["pg-grimm.txt"], outputDir: "/tmp/out" });
 * ```
 */
export async function runSequential(options: SequentialOptions): Promise<string> {
  const app = typeof options.app === "string" ? await loadApp(options.app) : options.app;
  const folder = options.outputDir ?? ".";
  const times = options.times ?? new PhaseTimes();
  const counters = options.counters ?? new CounterSet();
  const groups = new RunsByKey();
  const reference: MapReduceApp = { ...app, combine: undefined };
  for (const name of options.inputFiles) {
    const contents = await times.time(
      "read input",
      () => readTextBounded(name, MAX_INPUT_FILE_BYTES),
    );
    const result = await times.time("map", () => app.map(name, contents, counters));
    await times.time("group", () => {
      for (const { key, runs } of groupMapOutput(reference, name, result, 1)[0]) {
        groups.add(key, runs);
      }
    });
  }
  const writer = await AtomicFileWriter.create(folder, outputName(0), {
    times,
    phase: "write output",
  });
  try {
    const valuesOf = (key: string) => groups.values(key);
    await reduceKeys(app, [...groups.keys()], valuesOf, writer, times, counters);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.commit(true);
  return `${folder}/${outputName(0)}`;
}
