/**
 * `dsys bench mr`: word count with 1, 2 and 3 worker processes against the sequential
 * reference, in one run on one machine, printing wall times and each run's ratio to sequential.
 * Every process (sequential included) is a fresh process of this program, so start-up costs
 * the same on both sides. Each distributed output is checked against sequential's.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { realClock } from "../util/clock.ts";
import { ChildGroup } from "../util/child_process.ts";
import { writeCorpusOfSize } from "./corpus.ts";
import { joinPath, readJobOutput } from "./job_files.ts";
import { runLocalJob } from "./local_job.ts";
import { TIMINGS_LABEL } from "./phase_times.ts";
import type { Transfer } from "../mr_data/transfer_protocol.ts";

/** Size of the generated corpus when no inputs are given: eight files of about 1 MB each. */
export const DEFAULT_BENCH_BYTES = 8_000_000;
/** Largest generated corpus: eight files of at most 10 million words. */
export const MAX_BENCH_BYTES = 512 * 1024 * 1024;
/** Width of the table's first column. */
const LABEL_CHARS = 18;
/** Most worker counts one bench run may try. */
const MAX_WORKER_COUNTS = 16;

/** Options of {@linkcode runMrBench}. */
export interface MrBenchOptions {
  /** Input files; default a generated corpus of eight files. */
  readonly inputs?: readonly string[];
  /** Size of the generated corpus, in bytes, when no inputs are given; default 8 MB. */
  readonly sizeBytes?: number;
  /** Print each process's time per phase under the table; default false. */
  readonly timings?: boolean;
  /** Worker counts to measure; default 1, 2 and 3. */
  readonly workers?: readonly number[];
  /** How map output travels in the distributed runs, each measured; default `shared` only. */
  readonly transfers?: readonly Transfer[];
  /** Where the table goes; default standard output. */
  readonly print?: (line: string) => void;
}

/** One measured run. */
export interface MrBenchRow {
  /** `sequential` or `N workers`. */
  readonly label: string;
  /** Wall time in milliseconds. */
  readonly wallMs: number;
  /** `wallMs` divided by the sequential run's. */
  readonly ratio: number;
}

/** Runs the benchmark, prints the table and returns its rows. */
export async function runMrBench(options: MrBenchOptions = {}): Promise<MrBenchRow[]> {
  const workerCounts = options.workers ?? [1, 2, 3];
  assert(
    workerCounts.length <= MAX_WORKER_COUNTS && workerCounts.every((count) => count >= 1),
    `Cannot bench worker counts ${
      workerCounts.join(",")
    }: give 1 to ${MAX_WORKER_COUNTS} counts ≥ 1`,
  );
  const print = options.print ?? ((line: string) => console.log(line));
  const folder = await Deno.makeTempDir({ prefix: "dsys-mr-bench-" });
  try {
    const inputs = options.inputs !== undefined
      ? await Promise.all(options.inputs.map((path) => Deno.realPath(path)))
      : (await generateCorpus(
        joinPath(folder, "corpus"),
        options.sizeBytes ?? DEFAULT_BENCH_BYTES,
      ));
    const totalBytes = (await Promise.all(inputs.map((path) => Deno.stat(path))))
      .reduce((sum, info) => sum + info.size, 0);
    print(`mr bench: word count over ${inputs.length} files, ${(totalBytes / 1e6).toFixed(1)} MB`);
    const flags = options.timings ? ["--timings"] : [];
    const sequential = await timeSequential(joinPath(folder, "sequential"), inputs, flags);
    const rows: MrBenchRow[] = [{ label: "sequential", wallMs: sequential.wallMs, ratio: 1 }];
    const timingLines = [`sequential: ${timingsOf(sequential.processOutput)}`];
    const runs = (options.transfers ?? ["shared"]).flatMap((transfer) =>
      workerCounts.map((workers) => ({ transfer, workers }))
    );
    for (const { transfer, workers } of runs) {
      const workDir = joinPath(folder, `workers-${workers}-${transfer}`);
      await Deno.mkdir(workDir);
      const job = await runLocalJob({
        app: "wc",
        inputFiles: inputs,
        workDir,
        workers,
        workerFlags: flags,
        transfer,
      });
      // Freed before the next run so that it does not compete for the page cache.
      await Deno.remove(workDir, { recursive: true });
      const label = `${workers} worker${workers === 1 ? "" : "s"}` +
        (transfer === "shared" ? "" : `, ${transfer}`);
      if (!sameLines(job.output, sequential.output)) {
        throw new Error(`Word count with ${label} differs from the sequential output`);
      }
      rows.push({ label, wallMs: job.elapsedMs, ratio: job.elapsedMs / sequential.wallMs });
      job.workerOutputs.forEach((output, index) =>
        timingLines.push(`${label}, worker ${index + 1}: ${timingsOf(output)}`)
      );
    }
    printTable(rows, print);
    print("every distributed output equals the sequential output");
    if (options.timings) { for (const line of timingLines) print(line); }
    return rows;
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

async function generateCorpus(folder: string, totalBytes: number): Promise<string[]> {
  assert(
    totalBytes > 0 && totalBytes <= MAX_BENCH_BYTES,
    `Cannot generate a corpus of ${totalBytes} bytes: give 1 to ${MAX_BENCH_BYTES}`,
  );
  await Deno.mkdir(folder);
  const names = await writeCorpusOfSize(folder, { seed: 1, totalBytes });
  return names.map((name) => joinPath(folder, name));
}

/**
 * What follows `timings: ` on the last line of `output` that has it: a worker's line is stamped
 * with time, level and node before it, sequential's is not.
 */
export function timingsOf(output: string): string {
  const line = output.split("\n").findLast((line) => line.includes(TIMINGS_LABEL));
  if (line === undefined) return "no timings printed";
  return line.slice(line.lastIndexOf(TIMINGS_LABEL) + TIMINGS_LABEL.length);
}

async function timeSequential(
  folder: string,
  inputs: readonly string[],
  flags: readonly string[],
): Promise<{ wallMs: number; output: string[]; processOutput: string }> {
  await Deno.mkdir(folder);
  const group = new ChildGroup();
  try {
    const startMs = realClock.now();
    const exit = await group.spawn(["sequential", ...flags, "wc", ...inputs], { cwd: folder })
      .exited;
    const wallMs = realClock.now() - startMs;
    if (exit.code !== 0) {
      throw new Error(`Sequential word count exited with code ${exit.code}: ${exit.output}`);
    }
    return { wallMs, output: await readJobOutput(folder), processOutput: exit.output };
  } finally {
    await group.killAll();
  }
}

function sameLines(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((line, index) => line === right[index]);
}

/** The table; the last column is how each run compares with one worker, when one ran. */
function printTable(rows: readonly MrBenchRow[], print: (line: string) => void): void {
  const oneWorker = rows.find((row) => row.label === "1 worker");
  const columns = ["wall s", "vs sequential", "vs 1 worker"].map((name) => name.padStart(14));
  print(`${"run".padEnd(LABEL_CHARS)}${columns.join("")}`);
  for (const row of rows) {
    const versusOne = oneWorker === undefined || row === rows[0]
      ? "-"
      : `${(row.wallMs / oneWorker.wallMs).toFixed(2)}x`;
    const cells = [(row.wallMs / 1000).toFixed(2), `${row.ratio.toFixed(2)}x`, versusOne];
    print(`${row.label.padEnd(LABEL_CHARS)}${cells.map((cell) => cell.padStart(14)).join("")}`);
  }
}
