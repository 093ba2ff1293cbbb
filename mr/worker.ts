/**
 * The MapReduce worker: asks the coordinator for a task, runs the application's map or reduce,
 * writes every file under a temporary name and renames it into place, reports, and asks again.
 * It exits when told the job is done, or when the coordinator has been unreachable for a while
 * (the job finished and the coordinator left, or it crashed).
 *
 * @module
 */
import { realClock, sleep } from "../util/clock.ts";
import { type Address, connect, type RpcClient, RpcError } from "../rpc/mod.ts";
import { errorText } from "../util/error_text.ts";
import type { MapReduceApp } from "../apps/app.ts";
import {
  AtomicFileWriter,
  intermediateName,
  joinPath,
  outputName,
  reduceKeys,
} from "./job_files.ts";
import {
  encodeIntermediate,
  groupMapOutput,
  type KeyRuns,
  readIntermediate,
  RunsByKey,
} from "./intermediate.ts";
import { readSplit } from "./input_split.ts";
import { loadApp } from "../apps/load_app.ts";
import { PhaseTimes } from "./phase_times.ts";
import {
  type MapTaskReply,
  parseReportReply,
  parseTaskReply,
  type ReduceTaskReply,
  REPORT_TASK_METHOD,
  REQUEST_TASK_METHOD,
  type TaskReply,
  type TaskReport,
} from "./protocol.ts";
import { DEFAULT_COORDINATOR_ADDRESS } from "./coordinator.ts";
import { CounterSet } from "../apps/counters.ts";

/** A worker that cannot reach the coordinator for this long concludes it is gone. */
export const DEFAULT_COORDINATOR_GONE_MS = 2_000;
/** Timeout of one call to the coordinator. */
const CALL_TIMEOUT_MS = 5_000;
/** A coordinator that accepts connections but answers nothing for this long is given up on. */
const MAX_SILENT_MS = 60_000;
/** Pause between attempts to reach a coordinator that did not answer. */
const RETRY_PAUSE_MS = 100;

/** Options of {@linkcode runWorker}. */
export interface WorkerOptions {
  /** The application, loaded or by name/path (see `loadApp`). */
  readonly app: MapReduceApp | string;
  /** The coordinator's address; default 127.0.0.1:7070. */
  readonly coordinator?: Address | string;
  /**
   * Folder for intermediate and output files, overriding the one the coordinator sends — for a
   * worker that sees the shared folder under another path. Relative input names are then read
   * from here too. Default: the coordinator's folder and input paths.
   */
  readonly workDir?: string;
  /** Exit after the coordinator has been unreachable this long; default 2000 ms. */
  readonly coordinatorGoneMs?: number;
  /** Receives one line per problem worth telling a person; default standard error. */
  readonly log?: (line: string) => void;
  /** Where each task's phases add their time; default a fresh one, returned in the result. */
  readonly times?: PhaseTimes;
}

/** Why a worker stopped, and what it did. */
export interface WorkerResult {
  /** `done`: the coordinator said the job is done; `coordinator-gone`: it stopped answering. */
  readonly reason: "done" | "coordinator-gone";
  /** Map tasks this worker ran (counted or not). */
  readonly mapTasks: number;
  /** Reduce tasks this worker ran (counted or not). */
  readonly reduceTasks: number;
}

/** Returned by a call when the coordinator has been unreachable for the whole window. */
const GONE = Symbol("coordinator gone");

/**
 * Runs tasks for the coordinator until the job is done or the coordinator is gone. An error in
 * the application or in the files rejects (the process should exit non-zero; the task's lease
 * runs out and another worker takes it).
 *
 * @example
 * ```ts
 * const result = await runWorker({ coordinator: "unix:/tmp/mr.sock", app: "wc" });
 * console.error(`worker ran ${result.mapTasks} maps and ${result.reduceTasks} reduces`);
 * ```
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerResult> {
  const app = typeof options.app === "string" ? await loadApp(options.app) : options.app;
  const workerId = `worker-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const log = options.log ?? ((line: string) => console.error(line));
  const client = connect(options.coordinator ?? DEFAULT_COORDINATOR_ADDRESS, {
    defaultTimeoutMs: CALL_TIMEOUT_MS,
    log,
  });
  const goneMs = options.coordinatorGoneMs ?? DEFAULT_COORDINATOR_GONE_MS;
  const call = (method: string, args: unknown) => callPatiently(client, method, args, goneMs);
  const times = options.times ?? new PhaseTimes();
  let mapTasks = 0;
  let reduceTasks = 0;
  try {
    // Unbounded on purpose: the worker serves until the coordinator says exit or is gone.
    for (;;) {
      const answer = await call(REQUEST_TASK_METHOD, { workerId });
      if (answer === GONE) return { reason: "coordinator-gone", mapTasks, reduceTasks };
      const task = localize(parseTaskReply(answer), options.workDir);
      if (task.kind === "exit") return { reason: "done", mapTasks, reduceTasks };
      if (task.kind === "wait") {
        await sleep(realClock, task.retryMs);
        continue;
      }
      // This attempt's own counts: the coordinator takes those of the attempt it accepts.
      const counters = new CounterSet();
      if (task.kind === "map") {
        await executeMapTask(app, task, times, counters);
        mapTasks++;
      } else {
        await executeReduceTask(app, task, times, counters);
        reduceTasks++;
      }
      const report: TaskReport = {
        workerId,
        kind: task.kind,
        taskId: task.taskId,
        attempt: task.attempt,
        counters: counters.counts(),
      };
      const reply = await call(REPORT_TASK_METHOD, report);
      if (reply === GONE) return { reason: "coordinator-gone", mapTasks, reduceTasks };
      parseReportReply(reply);
    }
  } finally {
    client.close();
  }
}

/** Points a task at `workDir` when the worker was given one. */
function localize(task: TaskReply, workDir: string | undefined): TaskReply {
  if (workDir === undefined || task.kind === "exit" || task.kind === "wait") return task;
  if (task.kind === "reduce") return { ...task, outputFolder: workDir };
  const isAbsolute = task.inputName.startsWith("/") || /^[A-Za-z]:[\\/]/.test(task.inputName);
  const inputPath = isAbsolute ? task.inputName : joinPath(workDir, task.inputName);
  return { ...task, inputPath, outputFolder: workDir };
}

/**
 * Calls the coordinator and returns its answer, or {@linkcode GONE} once it has been
 * unreachable (nothing listening) for `goneMs`, or silent (calls timing out) for
 * {@linkcode MAX_SILENT_MS}. A slow coordinator is waited for longer than a missing one, so a
 * busy machine cannot make a worker quit a job that is still running. A remote error (a bug or
 * a version mismatch) is thrown.
 */
async function callPatiently(
  client: RpcClient,
  method: string,
  args: unknown,
  goneMs: number,
): Promise<unknown | typeof GONE> {
  const firstTryMs = realClock.now();
  let unreachableSinceMs: number | null = null;
  const maxAttempts = Math.ceil(Math.max(goneMs, MAX_SILENT_MS) / RETRY_PAUSE_MS) + 2;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    try {
      return await client.call(method, args);
    } catch (error) {
      if (
        !(error instanceof RpcError) || (error.kind !== "unreachable" && error.kind !== "timeout")
      ) {
        throw new Error(`The coordinator refused ${method}: ${errorText(error)}`);
      }
      if (error.kind === "timeout") unreachableSinceMs = null;
      else unreachableSinceMs ??= realClock.now();
    }
    const now = realClock.now();
    if (unreachableSinceMs !== null && now - unreachableSinceMs >= goneMs) return GONE;
    if (now - firstTryMs >= MAX_SILENT_MS) return GONE;
    await sleep(realClock, RETRY_PAUSE_MS);
  }
  return GONE;
}

/**
 * Runs map task `task`: reads the lines of its split, calls the application's map, groups the
 * pairs by key and writes one intermediate file per reduce task (empty ones too, so a reduce
 * can tell a missing file from an empty partition). A split that owns no line (inside one long
 * line) is not mapped. Each phase's time is added to `times`.
 */
export async function executeMapTask(
  app: MapReduceApp,
  task: MapTaskReply,
  times: PhaseTimes = new PhaseTimes(),
  counters: CounterSet = new CounterSet(),
): Promise<void> {
  const split = {
    name: task.inputName,
    path: task.inputPath,
    offset: task.offset,
    length: task.length,
  };
  const contents = await times.time("read input", () => readSplit(split));
  const partitions = contents === null
    ? Array.from({ length: task.reduceCount }, () => [])
    : await mapAndGroup(app, task, contents, times, counters);
  for (let reduceTask = 0; reduceTask < partitions.length; reduceTask++) {
    const lines = await times.time("encode", () => encodeIntermediate(partitions[reduceTask]));
    const name = intermediateName(task.taskId, reduceTask);
    const writer = await AtomicFileWriter.create(task.outputFolder, name, {
      times,
      phase: "write intermediates",
    });
    try {
      for (const line of lines) await writer.write(line);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    // Not fsynced: an intermediate file matters only while its job runs, and the rename makes
    // it appear whole to every process on this machine, even when the writer is killed -9 right
    // after. Only a machine crash can lose it or cut it short; the reader then finds it missing
    // or without its end line and fails the reduce, and the map must run again. Syncing would
    // cost every job the disk's latency to protect against what costs a rare job one map.
    await writer.commit(false);
  }
}

async function mapAndGroup(
  app: MapReduceApp,
  task: MapTaskReply,
  contents: string,
  times: PhaseTimes,
  counters: CounterSet,
): Promise<KeyRuns[][]> {
  const result = await times.time("map", () => app.map(task.inputName, contents, counters));
  return await times.time(
    "partition",
    () => groupMapOutput(app, task.inputName, result, task.reduceCount),
  );
}

/**
 * Runs reduce task `task`: reads partition `taskId` of every map in map order, merges each
 * key's values, reduces the keys in sorted order and writes `mr-out-Y` durably.
 */
export async function executeReduceTask(
  app: MapReduceApp,
  task: ReduceTaskReply,
  times: PhaseTimes = new PhaseTimes(),
  counters: CounterSet = new CounterSet(),
): Promise<void> {
  const groups = new RunsByKey();
  for (let mapTask = 0; mapTask < task.mapCount; mapTask++) {
    const path = joinPath(task.outputFolder, intermediateName(mapTask, task.taskId));
    await readIntermediate(path, (key, runs) => groups.add(key, runs), times);
  }
  const writer = await AtomicFileWriter.create(task.outputFolder, outputName(task.taskId), {
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
}
