/**
 * The sequential reference, the lab's `mrsequential`: every map in turn, one sort, every reduce
 * in turn, all output in `mr-out-0`. The distributed job must produce the same lines.
 *
 * @module
 */
import type { KeyValue, MapReduceApp } from "../apps/app.ts";
import {
  MAX_INPUT_FILE_BYTES,
  outputName,
  readTextBounded,
  reduceAll,
  writeFileAtomic,
} from "./job_files.ts";
import { loadApp } from "../apps/load_app.ts";
import { PhaseTimes } from "./phase_times.ts";

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
  const intermediate: KeyValue[] = [];
  for (const name of options.inputFiles) {
    const contents = await times.time(
      "read input",
      () => readTextBounded(name, MAX_INPUT_FILE_BYTES),
    );
    const pairs = await times.time("map", () => app.map(name, contents));
    for (const pair of pairs) intermediate.push(pair);
  }
  const output = await reduceAll(intermediate, (key, values) => app.reduce(key, values), times);
  await writeFileAtomic(folder, outputName(0), output, { times, phase: "write output" });
  return `${folder}/${outputName(0)}`;
}
