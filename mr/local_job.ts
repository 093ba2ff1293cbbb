/**
 * A whole MapReduce job on this machine as real processes: one coordinator and N workers of
 * this program, talking over a Unix socket in the job's folder. The demo and the benchmark use
 * it; a user can read it as the recipe for running a job by hand.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { realClock } from "../util/clock.ts";
import {
  type Child,
  ChildGroup,
  type ChildOutput,
  waitUntilListening,
} from "../util/child_process.ts";
import { joinPath, readJobOutput } from "./job_files.ts";
import type { Transfer } from "../mr_data/transfer_protocol.ts";

/** Longest a Unix socket path may be on every platform we run on. */
const MAX_SOCKET_PATH_CHARS = 100;
/** How long a coordinator may take to start listening. */
const LISTEN_TIMEOUT_MS = 30_000;
/** How long workers may take to exit after the coordinator did. */
const WORKER_EXIT_TIMEOUT_MS = 30_000;

/** Options of {@linkcode runLocalJob}. */
export interface LocalJobOptions {
  /** Built-in application name or module path, as `dsys worker` takes it. */
  readonly app: string;
  /** Input files, absolute or relative to `workDir`. */
  readonly inputFiles: readonly string[];
  /** Folder every process runs in; intermediate and output files land here. */
  readonly workDir: string;
  /** Number of worker processes. */
  readonly workers: number;
  /** Number of reduce tasks; default 10. */
  readonly nReduce?: number;
  /** Task timeout; default 10 000 ms. */
  readonly taskTimeoutMs?: number;
  /** Let the coordinator draw its progress on this process's terminal; default false. */
  readonly showProgress?: boolean;
  /** Give up (and kill everything) after this long; default 10 minutes. */
  readonly timeoutMs?: number;
  /** Options added to every `dsys worker` command line, such as `--timings`. */
  readonly workerFlags?: readonly string[];
  /** How map output travels (`dsys coordinator --transfer`); default `shared`. */
  readonly transfer?: Transfer;
}

/** The outcome of {@linkcode runLocalJob}. */
export interface LocalJobResult {
  /** Every `mr-out-*` line, blank lines dropped, sorted. */
  readonly output: string[];
  /** Wall time from starting the coordinator to its exit (process start-up included). */
  readonly elapsedMs: number;
  /** The tail of each worker's standard output and error, in start order. */
  readonly workerOutputs: string[];
}

/**
 * Starts a coordinator and `workers` workers as child processes, waits for the job, checks that
 * every process exited cleanly, and returns the output lines.
 *
 * @example
 * ```ts
 * const { output } = await runLocalJob({ app: "wc", inputFiles: ["a.txt"], workDir: "/tmp/job", workers: 3 });
 * ```
 */
export async function runLocalJob(options: LocalJobOptions): Promise<LocalJobResult> {
  assert(options.workers >= 1, `Cannot run a job with ${options.workers} workers`);
  const socketPath = joinPath(options.workDir, "mr-coordinator.sock");
  assert(
    socketPath.length <= MAX_SOCKET_PATH_CHARS,
    `Cannot place the coordinator's socket at ${socketPath}: paths over ${MAX_SOCKET_PATH_CHARS} characters fail`,
  );
  const address = `unix:${socketPath}`;
  const group = new ChildGroup();
  const deadline = timeout(options.timeoutMs ?? 600_000);
  try {
    const startMs = realClock.now();
    const coordinatorOutput: ChildOutput = options.showProgress ? "inherit" : "piped";
    const coordinator = group.spawn([
      "coordinator",
      "--listen",
      address,
      "--nreduce",
      String(options.nReduce ?? 10),
      "--task-timeout",
      String((options.taskTimeoutMs ?? 10_000) / 1000),
      "--transfer",
      options.transfer ?? "shared",
      ...options.inputFiles,
    ], { cwd: options.workDir, output: coordinatorOutput });
    await waitUntilListening(coordinator, address, LISTEN_TIMEOUT_MS);
    const workers: Child[] = [];
    for (let index = 0; index < options.workers; index++) {
      const flags = options.workerFlags ?? [];
      workers.push(
        group.spawn(["worker", "--coordinator", address, ...flags, options.app], {
          cwd: options.workDir,
        }),
      );
    }
    const coordinatorExit = await Promise.race([coordinator.exited, deadline.expired]);
    const elapsedMs = realClock.now() - startMs;
    if (coordinatorExit.code !== 0) {
      throw new Error(
        `The coordinator exited with code ${coordinatorExit.code}: ${coordinatorExit.output}`,
      );
    }
    const workerOutputs = await expectCleanExits(workers);
    return { output: await readJobOutput(options.workDir), elapsedMs, workerOutputs };
  } finally {
    deadline.cancel();
    await group.killAll();
  }
}

/**
 * Waits (bounded) for `workers` to exit, throws unless every one exited with code 0, and
 * returns their outputs.
 */
async function expectCleanExits(workers: readonly Child[]): Promise<string[]> {
  const deadline = timeout(WORKER_EXIT_TIMEOUT_MS);
  try {
    const outputs: string[] = [];
    for (const worker of workers) {
      const exit = await Promise.race([worker.exited, deadline.expired]);
      if (exit.code !== 0) {
        throw new Error(`Worker ${worker.pid} exited with code ${exit.code}: ${exit.output}`);
      }
      outputs.push(exit.output);
    }
    return outputs;
  } finally {
    deadline.cancel();
  }
}

/** A promise that rejects after `delayMs`, and a way to cancel it. */
function timeout(delayMs: number): { expired: Promise<never>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Gave up after ${delayMs} ms`)), delayMs);
  });
  // A deadline nobody raced against must not become an unhandled rejection.
  expired.catch(() => {});
  return { expired, cancel: () => clearTimeout(timer) };
}
