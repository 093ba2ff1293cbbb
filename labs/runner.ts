/**
 * `dsys test`: runs lab suites from the single program, with the options a person stressing a
 * suite wants — a name filter, a repeat count, a seed to replay, and runs spread over processes.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { errorText } from "../util/error_text.ts";
import { selfCommand } from "../util/self_command.ts";
import { type LabTest, testLabel } from "./suite.ts";
import { runTraced } from "../trace_view/traced_run.ts";

/** Options of one `dsys test` invocation. */
export interface RunnerOptions {
  /** Only tests whose label matches this pattern run. */
  readonly pattern?: RegExp;
  /** Runs of each test. */
  readonly count: number;
  /** The first run's seed; run `i` of a test uses `seed + i`. */
  readonly seed: number;
  /** Processes to spread the runs over; 1 runs everything in this process. */
  readonly parallel: number;
  /** Where lines go; standard output by default. */
  readonly print?: (line: string) => void;
  /** Write the one selected run's timeline page here (`--trace`). */
  readonly tracePath?: string;
  /** Replay failing runs with a recorder and write their pages to temporary files. */
  readonly traceFailures?: boolean;
}

/** Failing runs whose seed is replayed with a recorder to write a page, per invocation. */
export const FAILURE_TRACES_MAX = 3;

/** One run of one test: what to replay it with. */
interface PlannedRun {
  readonly test: LabTest;
  readonly seed: number;
  readonly ordinal: number;
}

/** Counts of a finished `dsys test`. */
export interface RunnerSummary {
  /** Runs that passed. */
  passed: number;
  /** Runs that failed. */
  failed: number;
}

/** Upper bound on runs in one invocation, so a typo in `--count` cannot run for days. */
export const MAX_RUNS = 1_000_000;

/** Lists the runs a filter, count and seed select, in the order they run. */
function planRuns(tests: readonly LabTest[], options: RunnerOptions): PlannedRun[] {
  const selected = tests.filter((test) => options.pattern?.test(testLabel(test)) ?? true);
  const runs: PlannedRun[] = [];
  for (const test of selected) {
    for (let index = 0; index < options.count; index++) {
      runs.push({ test, seed: options.seed + index, ordinal: runs.length });
    }
  }
  assert(runs.length <= MAX_RUNS, `Cannot plan ${runs.length} runs: the limit is ${MAX_RUNS}`);
  return runs;
}

/** Runs one planned run, printing its lines, and says whether it passed. */
async function runOne(
  suiteName: string,
  run: PlannedRun,
  print: (line: string) => void,
  traces: { tracePath?: string; failuresLeft: number },
): Promise<boolean> {
  const label = testLabel(run.test);
  const replay = `dsys test ${suiteName} --run '${escapeForPattern(label)}' --seed ${run.seed}`;
  let failure = "";
  if (traces.tracePath !== undefined) {
    const header = { title: label, replay };
    failure = (await runTraced(run.test, run.seed, header, traces.tracePath, print)).failure;
    print(`    trace: ${traces.tracePath}`);
  } else {
    try {
      await run.test.run({ seed: run.seed, log: print });
    } catch (error) {
      failure = errorText(error);
    }
  }
  if (failure === "") return true;
  print(`--- FAIL: ${label} (seed ${run.seed}): ${failure}`);
  print(`    replay: ${replay}`);
  if (traces.tracePath === undefined && traces.failuresLeft > 0) {
    traces.failuresLeft--;
    // The replay is the same run, recorded; its own lines were printed once already.
    const path = await Deno.makeTempFile({
      prefix: `dsys-trace-${suiteName}-${run.seed}-`,
      suffix: ".html",
    });
    await runTraced(run.test, run.seed, { title: label, replay }, path, () => {});
    print(`    trace: ${path}`);
  }
  return false;
}

/** Escapes regular-expression characters so a label can be passed back as `--run`. */
export function escapeForPattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Runs the selected tests of `tests` in this process, or shards them over `parallel` child
 * processes, and returns the counts. Shard `k` of `n` (child processes) runs every n-th run.
 */
export async function runTests(
  suiteName: string,
  tests: readonly LabTest[],
  options: RunnerOptions & { readonly shard?: { index: number; total: number } },
): Promise<RunnerSummary> {
  const print = options.print ?? ((line: string) => console.log(line));
  if (options.parallel > 1 && options.shard === undefined && options.tracePath === undefined) {
    return await runSharded(suiteName, options, print);
  }
  const runs = planRuns(tests, options).filter((run) =>
    options.shard === undefined || run.ordinal % options.shard.total === options.shard.index
  );
  if (options.tracePath !== undefined && runs.length !== 1) {
    throw new Error(
      `Cannot trace ${runs.length} runs into ${options.tracePath}: --trace takes one test and ` +
        `one seed (narrow it with --run and --count 1)`,
    );
  }
  const traces = {
    tracePath: options.tracePath,
    failuresLeft: options.traceFailures === true ? FAILURE_TRACES_MAX : 0,
  };
  const summary: RunnerSummary = { passed: 0, failed: 0 };
  for (const run of runs) {
    if (await runOne(suiteName, run, print, traces)) summary.passed++;
    else summary.failed++;
  }
  return summary;
}

/** Starts `parallel` children of this program, each running one shard, and adds their counts. */
async function runSharded(
  suiteName: string,
  options: RunnerOptions,
  print: (line: string) => void,
): Promise<RunnerSummary> {
  const children = [];
  for (let index = 0; index < options.parallel; index++) {
    const args = [
      "test",
      suiteName,
      "--count",
      String(options.count),
      "--seed",
      String(options.seed),
    ];
    if (options.pattern !== undefined) args.push("--run", options.pattern.source);
    args.push("--shard", `${index}/${options.parallel}`);
    const [program, ...programArgs] = selfCommand(args);
    const child = new Deno.Command(program, {
      args: programArgs,
      stdout: "piped",
      stderr: "inherit",
    })
      .spawn();
    children.push(
      forwardLines(child.stdout, print).then(async (summary) => {
        await child.status;
        return summary;
      }),
    );
  }
  const summary: RunnerSummary = { passed: 0, failed: 0 };
  for (const childSummary of await Promise.all(children)) {
    summary.passed += childSummary.passed;
    summary.failed += childSummary.failed;
  }
  return summary;
}

/** The closing line every runner prints; CI reads it. */
export function summaryLine(summary: RunnerSummary): string {
  return `${summary.passed} passed, ${summary.failed} failed`;
}

const SUMMARY_PATTERN = /^(\d+) passed, (\d+) failed$/;

/** Prints a child's lines as they come, except its closing line, whose counts it returns. */
async function forwardLines(
  stream: ReadableStream<Uint8Array>,
  print: (line: string) => void,
): Promise<RunnerSummary> {
  const summary: RunnerSummary = { passed: 0, failed: 0 };
  let sawSummary = false;
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + text).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const match = SUMMARY_PATTERN.exec(line);
      if (match === null) {
        print(line);
        continue;
      }
      summary.passed += Number(match[1]);
      summary.failed += Number(match[2]);
      sawSummary = true;
    }
  }
  if (pending !== "") print(pending);
  // A child that died before its closing line counts as one failure, never as silence.
  if (!sawSummary) {
    print("--- FAIL: a test process exited before printing its counts");
    summary.failed++;
  }
  return summary;
}
