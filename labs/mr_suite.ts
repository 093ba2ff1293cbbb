/**
 * The lab's MapReduce test (`test-mr.sh`), ported: real coordinator and worker processes of
 * this program, real sockets, and a corpus the test writes into its own temporary folder.
 * Every process a test starts is killed and reaped before the test ends, pass or fail.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Child, ChildGroup, waitUntilListening } from "../util/child_process.ts";
import { writeCorpus } from "../mr/corpus.ts";
import { joinPath, readJobOutput } from "../mr/job_files.ts";
import { type LabTest, type TestContext, testLabel } from "./suite.ts";

/** Words per generated input file: enough for real work, small enough for a quick suite. */
const WORDS_PER_FILE = 20_000;
/** How long a coordinator may take to start listening (a cold Deno start can be slow). */
const LISTEN_TIMEOUT_MS = 30_000;
/** Deadline of the tests without crashes; the lab allows 45 s per process. */
const TEST_TIMEOUT_MS = 120_000;
/** Deadline of the crash test; the lab allows 120 s per process, and restarts add up. */
const CRASH_TEST_TIMEOUT_MS = 300_000;
/** The lab restarts a crashed worker after one second. */
const CRASH_RESTART_DELAY_MS = 1_000;
/** Most restarts of one crash-test loop; far above what a passing run needs. */
const MAX_RESTARTS_PER_LOOP = 1_000;

/** One test's folders, processes and coordinator address. */
interface Job {
  /** Where processes run and outputs land (the lab's `mr-tmp`). */
  readonly runFolder: string;
  /** Input files as given to the processes, relative to `runFolder` (the lab's `../pg*.txt`). */
  readonly inputs: readonly string[];
  readonly address: string;
  readonly group: ChildGroup;
}

/** Creates the folders and corpus, runs `body`, and always kills the processes and cleans up. */
async function withJob(context: TestContext, timeoutMs: number, body: (job: Job) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "dsys-mr-test-" });
  const group = new ChildGroup();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  try {
    await Deno.mkdir(joinPath(root, "corpus"));
    await Deno.mkdir(joinPath(root, "run"));
    const names = await writeCorpus(joinPath(root, "corpus"), {
      seed: context.seed,
      wordsPerFile: WORDS_PER_FILE,
    });
    const job: Job = {
      runFolder: joinPath(root, "run"),
      inputs: names.map((name) => `../corpus/${name}`),
      address: `unix:${joinPath(root, "run/mr-coordinator.sock")}`,
      group,
    };
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Test took over ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    running = body(job);
    await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
    await group.killAll();
    // After a timeout the body still waits on processes that are dead now; let it settle so
    // none of its timers outlive the test.
    await running?.catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
}

/** Runs `dsys sequential <app>` on the inputs and returns its sorted, non-blank lines. */
async function sequentialOutput(job: Job, app: string): Promise<string[]> {
  const child = job.group.spawn(["sequential", app, ...job.inputs], { cwd: job.runFolder });
  await expectExitCode(child, 0);
  const lines = await readJobOutput(job.runFolder);
  await Deno.remove(joinPath(job.runFolder, "mr-out-0"));
  assert.ok(lines.length > 0, `sequential ${app} wrote no output`);
  return lines;
}

/**
 * Starts the coordinator (lab defaults: 10 reduce tasks, 10 s task timeout), with `flags`
 * added, and waits for it to listen.
 */
async function startCoordinator(job: Job, flags: readonly string[] = []): Promise<Child> {
  const args = ["coordinator", "--listen", job.address, ...flags, ...job.inputs];
  const child = job.group.spawn(args, { cwd: job.runFolder });
  await waitUntilListening(child, job.address, LISTEN_TIMEOUT_MS);
  return child;
}

function startWorker(job: Job, app: string): Child {
  return job.group.spawn(["worker", "--coordinator", job.address, app], { cwd: job.runFolder });
}

async function expectExitCode(child: Child, code: number): Promise<void> {
  const exit = await child.exited;
  assert.equal(
    exit.code,
    code,
    `${child.args.join(" ")} (pid ${child.pid}) exited with ${exit.code}:\n${exit.output}`,
  );
}

/** Compares two sorted outputs, naming the first line that differs rather than dumping both. */
function expectSameOutput(
  actual: readonly string[],
  expected: readonly string[],
  what: string,
): void {
  const length = Math.max(actual.length, expected.length);
  for (let index = 0; index < length; index++) {
    if (actual[index] !== expected[index]) {
      assert.fail(
        `${what}: line ${index + 1} is ${JSON.stringify(actual[index])}, expected ` +
          `${
            JSON.stringify(expected[index])
          } (${actual.length} lines, expected ${expected.length})`,
      );
    }
  }
}

/** Wraps a test body so it prints the lab-style result line when it passes. */
function labTest(name: string, timeoutMs: number, body: (job: Job) => Promise<void>): LabTest {
  const test: LabTest = {
    name,
    part: "",
    async run(context) {
      const startMs = performance.now();
      await withJob(context, timeoutMs, body);
      const seconds = ((performance.now() - startMs) / 1000).toFixed(1);
      context.log(`${testLabel(test)} ... Passed -- ${seconds}`);
    },
  };
  return test;
}

/** Word count with three workers equals the sequential output. */
async function wordCount(job: Job): Promise<void> {
  const expected = await sequentialOutput(job, "wc");
  const coordinator = await startCoordinator(job);
  const workers = [1, 2, 3].map(() => startWorker(job, "wc"));
  await expectExitCode(coordinator, 0);
  // Workers exit only once the job is done, so the output must be final by now.
  expectSameOutput(await readJobOutput(job.runFolder), expected, "wc output");
  for (const worker of workers) await expectExitCode(worker, 0);
}

/** The indexer with two workers equals the sequential output. */
async function indexer(job: Job): Promise<void> {
  const expected = await sequentialOutput(job, "indexer");
  const coordinator = await startCoordinator(job);
  const workers = [startWorker(job, "indexer"), startWorker(job, "indexer")];
  await expectExitCode(workers[1], 0);
  expectSameOutput(await readJobOutput(job.runFolder), expected, "indexer output");
  await expectExitCode(workers[0], 0);
  await expectExitCode(coordinator, 0);
}

/** Both workers ran maps, and some map saw the other worker mapping at the same time. */
async function mapParallelism(job: Job): Promise<void> {
  const coordinator = await startCoordinator(job);
  const workers = [startWorker(job, "mtiming"), startWorker(job, "mtiming")];
  for (const worker of workers) await expectExitCode(worker, 0);
  const lines = await readJobOutput(job.runFolder);
  const mappers = lines.filter((line) => line.startsWith("times-")).length;
  assert.equal(mappers, 2, `saw ${mappers} workers run maps rather than 2`);
  const parallel = lines.some((line) =>
    line.startsWith("parallel-") && line.split(" ").slice(1).includes("2")
  );
  assert.ok(parallel, `map workers did not run in parallel:\n${lines.join("\n")}`);
  await expectExitCode(coordinator, 0);
}

/** At least two reduce calls saw the other worker reducing at the same time. */
async function reduceParallelism(job: Job): Promise<void> {
  const coordinator = await startCoordinator(job);
  const workers = [startWorker(job, "rtiming"), startWorker(job, "rtiming")];
  for (const worker of workers) await expectExitCode(worker, 0);
  const lines = await readJobOutput(job.runFolder);
  const parallel = lines.filter((line) => /^[a-z] 2$/.test(line)).length;
  assert.ok(parallel >= 2, `too few parallel reduces (${parallel}):\n${lines.join("\n")}`);
  await expectExitCode(coordinator, 0);
}

/** Four workers (two, then two more, as the lab starts them) run each map exactly once. */
async function jobCount(job: Job): Promise<void> {
  // The lab's coordinator has no backup tasks; a backup runs a map a second time on purpose.
  const coordinator = await startCoordinator(job, ["--no-backup-tasks"]);
  for (let pair = 0; pair < 2; pair++) {
    const background = startWorker(job, "jobcount");
    await expectExitCode(startWorker(job, "jobcount"), 0);
    await expectExitCode(background, 0);
  }
  await expectExitCode(coordinator, 0);
  const lines = await readJobOutput(job.runFolder);
  expectSameOutput(lines, [`a ${job.inputs.length}`], "map jobs ran an incorrect number of times");
}

/** No process exits before the output is final: the output when the first exits is the final one. */
async function earlyExit(job: Job): Promise<void> {
  const coordinator = await startCoordinator(job);
  const workers = [1, 2, 3].map(() => startWorker(job, "early_exit"));
  const processes = [coordinator, ...workers];
  await Promise.race(processes.map((child) => child.exited));
  const initial = await readJobOutput(job.runFolder);
  for (const child of processes) await expectExitCode(child, 0);
  const final = await readJobOutput(job.runFolder);
  expectSameOutput(initial, final, "output changed after the first process exited");
  const expected = job.inputs.map((input) => `${input} 1`).sort();
  expectSameOutput(final, expected, "early_exit output");
}

/** Workers that crash and restart still produce exactly nocrash's sequential output. */
async function crash(job: Job): Promise<void> {
  const expected = await sequentialOutput(job, "nocrash");
  const coordinator = await startCoordinator(job);
  let jobRunning = true;
  const coordinatorExit = coordinator.exited.finally(() => jobRunning = false);
  const restartLoop = async () => {
    for (let restart = 0; restart < MAX_RESTARTS_PER_LOOP && jobRunning; restart++) {
      await startWorker(job, "crash").exited;
      if (!jobRunning) return;
      await new Promise((resolve) => setTimeout(resolve, CRASH_RESTART_DELAY_MS));
    }
    assert.ok(!jobRunning, `a worker loop restarted ${MAX_RESTARTS_PER_LOOP} times`);
  };
  // As the lab: one worker on its own, and three loops that restart theirs after each death.
  const single = startWorker(job, "crash");
  const loops = [restartLoop(), restartLoop(), restartLoop()];
  const exit = await coordinatorExit;
  assert.equal(exit.code, 0, `the coordinator exited with ${exit.code}:\n${exit.output}`);
  await Promise.all([single.exited, ...loops]);
  expectSameOutput(await readJobOutput(job.runFolder), expected, "crash output");
}

/** The ported lab tests, in the lab's order. */
export const mrSuite: readonly LabTest[] = [
  labTest("wc", TEST_TIMEOUT_MS, wordCount),
  labTest("indexer", TEST_TIMEOUT_MS, indexer),
  labTest("map parallelism", TEST_TIMEOUT_MS, mapParallelism),
  labTest("reduce parallelism", TEST_TIMEOUT_MS, reduceParallelism),
  labTest("job count", TEST_TIMEOUT_MS, jobCount),
  labTest("early exit", TEST_TIMEOUT_MS, earlyExit),
  labTest("crash", CRASH_TEST_TIMEOUT_MS, crash),
];
