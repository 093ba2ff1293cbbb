/**
 * The MapReduce worker: asks the coordinator for a task, runs the application's map or reduce,
 * writes every file under a temporary name and renames it into place, reports, and asks again.
 * It exits when told the job is done, or when the coordinator has been unreachable for a while
 * (it crashed, or it left before telling this worker: the result says which it looks like).
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
  type TextSink,
} from "./job_files.ts";
import {
  encodeIntermediate,
  fileChunks,
  groupMapOutput,
  type IntermediateSource,
  type KeyRuns,
  readIntermediate,
  type Runs,
  RunsByKey,
} from "../mr_data/intermediate.ts";
import { LostOutputError, WorkerTransfer } from "./worker_transfer.ts";
import { readSplit } from "../mr_data/input_split.ts";
import { loadApp } from "../apps/load_app.ts";
import { PhaseTimes } from "./phase_times.ts";
import {
  errorLine,
  type FailureReport,
  type MapTaskReply,
  parseReportReply,
  parseTaskReply,
  type ReduceTaskReply,
  REPORT_FAILURE_METHOD,
  REPORT_TASK_METHOD,
  REQUEST_TASK_METHOD,
  type SkippedRecord,
  type TaskReply,
  type TaskReport,
} from "./protocol.ts";
import { AppError, guardApp } from "../apps/app_contract.ts";
import { mapSkippingBadRecords } from "../mr_failures/skip_records.ts";
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
  /**
   * With `rpc` transfer (no shared folder): where this worker serves the map outputs it holds
   * to reducers; default 127.0.0.1 on a free port. Give an address other machines can reach.
   */
  readonly listen?: Address | string;
}

/** Why a worker stopped, and what it did. */
export interface WorkerResult {
  /**
   * `done`: the coordinator said to exit (the job is over); `coordinator-gone`: the coordinator
   * answered once, then stopped answering before it said so; `no-coordinator`: nothing ever
   * answered at its address.
   */
  readonly reason: "done" | "coordinator-gone" | "no-coordinator";
  /** Map tasks this worker ran (counted or not). */
  readonly mapTasks: number;
  /** Reduce tasks this worker ran (counted or not). */
  readonly reduceTasks: number;
  /** Attempts whose map or reduce failed; each was reported to the coordinator. */
  readonly failedTasks: number;
  /** Unless `done`: how long the coordinator was unreachable (or silent) before the worker quit. */
  readonly lostForMs?: number;
}

/** What a call returns once the coordinator has been unreachable or silent for too long. */
class CoordinatorLost {
  constructor(readonly forMs: number) {}
}

/**
 * Runs tasks for the coordinator until the job is done or the coordinator is gone. When the
 * application fails a task (map or reduce throws, or breaks the app contract) the worker
 * reports the failure and goes on: the coordinator hands the task out again and gives up on it
 * after a few failures. Any other error — reading inputs, writing files — is reported too, then
 * rejects (the process should exit non-zero), as this worker's own environment is suspect.
 *
 * @example
 * ```ts
 * const result = await runWorker({ coordinator: "unix:/tmp/mr.sock", app: "wc" });
 * console.error(`worker ran ${result.mapTasks} maps and ${result.reduceTasks} reduces`);
 * ```
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerResult> {
  const loaded = typeof options.app === "string" ? await loadApp(options.app) : options.app;
  const app = guardApp(loaded);
  const workerId = `worker-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const log = options.log ?? ((line: string) => console.error(line));
  const client = connect(options.coordinator ?? DEFAULT_COORDINATOR_ADDRESS, {
    defaultTimeoutMs: CALL_TIMEOUT_MS,
    log,
  });
  const goneMs = options.coordinatorGoneMs ?? DEFAULT_COORDINATOR_GONE_MS;
  const call = (method: string, args: unknown) => callPatiently(client, method, args, goneMs);
  const times = options.times ?? new PhaseTimes();
  const transfer = new LazyTransfer(options, call, log);
  const tally = { mapTasks: 0, reduceTasks: 0, failedTasks: 0 };
  let answered = false;
  const lost = (gone: CoordinatorLost): WorkerResult => ({
    reason: answered ? "coordinator-gone" : "no-coordinator",
    ...tally,
    lostForMs: gone.forMs,
  });
  try {
    // Unbounded on purpose: the worker serves until the coordinator says exit or is gone.
    for (;;) {
      const answer = await call(REQUEST_TASK_METHOD, { workerId });
      if (answer instanceof CoordinatorLost) return lost(answer);
      answered = true;
      const task = localize(parseTaskReply(answer), options.workDir);
      if (task.kind === "exit") return { reason: "done", ...tally };
      if (task.kind === "wait") {
        await sleep(realClock, task.retryMs);
        continue;
      }
      const attempt = await attemptTask(app, task, workerId, times, transfer);
      if (attempt === LOST) continue;
      if (attempt.method === REPORT_FAILURE_METHOD) {
        tally.failedTasks++;
        const name = task.kind === "map" ? "Map" : "Reduce";
        log(`${name} task ${task.taskId} failed: ${attempt.report.error}`);
      } else if (task.kind === "map") tally.mapTasks++;
      else tally.reduceTasks++;
      const reply = await call(attempt.method, attempt.report);
      if (attempt.fatal !== null) throw attempt.fatal;
      if (reply instanceof CoordinatorLost) return lost(reply);
      parseReportReply(reply);
    }
  } catch (error) {
    if (error instanceof CoordinatorGoneError) return lost(error.lost);
    throw error;
  } finally {
    client.close();
    await transfer.close();
  }
}

/** Thrown out of a transfer when the coordinator stopped answering. */
class CoordinatorGoneError extends Error {
  constructor(readonly lost: CoordinatorLost) {
    super("The coordinator is gone");
  }
}

/** What to tell the coordinator after an attempt, and the error to throw after telling it. */
type Attempt =
  | { method: typeof REPORT_TASK_METHOD; report: TaskReport; fatal: null }
  | { method: typeof REPORT_FAILURE_METHOD; report: FailureReport; fatal: unknown | null };

/**
 * Runs `task` and says how to report it (an error that is not the app's is `fatal`), or
 * returns {@linkcode LOST} when a reduce gave its task back.
 */
async function attemptTask(
  app: MapReduceApp,
  task: MapTaskReply | ReduceTaskReply,
  workerId: string,
  times: PhaseTimes,
  transfer: LazyTransfer,
): Promise<Attempt | typeof LOST> {
  const { kind, taskId, attempt } = task;
  // This attempt's own counts: the coordinator takes those of the attempt it accepts.
  const counters = new CounterSet();
  try {
    const ran = task.kind === "map"
      ? await runMap(app, task, times, counters, transfer)
      : await runReduce(app, task, times, counters, transfer, workerId);
    if (ran === LOST) return LOST;
    const report: TaskReport = { workerId, kind, taskId, attempt, ...ran };
    report.counters = counters.counts();
    return { method: REPORT_TASK_METHOD, report, fatal: null };
  } catch (error) {
    if (error instanceof CoordinatorGoneError) throw error;
    const report: FailureReport = { workerId, kind, taskId, attempt, error: errorLine(error) };
    const fatal = error instanceof AppError ? null : error;
    return { method: REPORT_FAILURE_METHOD, report, fatal };
  }
}

/**
 * The line a worker that did not finish with its job says, naming the coordinator's
 * `address`; null for a worker told to exit.
 */
export function workerEndLine(result: WorkerResult, address: string): string | null {
  const seconds = ((result.lostForMs ?? 0) / 1000).toFixed(1);
  switch (result.reason) {
    case "done":
      return null;
    case "coordinator-gone":
      return `Lost the coordinator at ${address} before the job was done: no answer for ${seconds} s`;
    case "no-coordinator":
      return `No coordinator answered at ${address} for ${seconds} s: no job to work for`;
  }
}

/** Returned by {@linkcode runReduce} when the reduce gave its task back: a map output is lost. */
const LOST = Symbol("map output lost");

/**
 * The worker's {@linkcode WorkerTransfer}, started on its first `rpc` task in its own folder
 * (`workDir`, or a fresh temporary folder removed at exit).
 */
class LazyTransfer {
  readonly #options: WorkerOptions;
  readonly #call: (method: string, args: unknown) => Promise<unknown>;
  readonly #log: (line: string) => void;
  #transfer: WorkerTransfer | null = null;
  #temporaryFolder: string | null = null;

  constructor(
    options: WorkerOptions,
    call: (method: string, args: unknown) => Promise<unknown>,
    log: (line: string) => void,
  ) {
    this.#options = options;
    this.#call = async (method, args) => {
      const reply = await call(method, args);
      if (reply instanceof CoordinatorLost) throw new CoordinatorGoneError(reply);
      return reply;
    };
    this.#log = log;
  }

  async get(): Promise<WorkerTransfer> {
    if (this.#transfer !== null) return this.#transfer;
    let folder = this.#options.workDir;
    if (folder === undefined) {
      folder = this.#temporaryFolder = await Deno.makeTempDir({ prefix: "dsys-mr-worker-" });
    }
    this.#transfer = await WorkerTransfer.start({
      folder,
      listen: this.#options.listen ?? "127.0.0.1:0",
      call: this.#call,
      log: this.#log,
    });
    return this.#transfer;
  }

  async close(): Promise<void> {
    await this.#transfer?.close();
    if (this.#temporaryFolder !== null) {
      await Deno.remove(this.#temporaryFolder, { recursive: true }).catch(() => {});
    }
  }
}

/** What a finished attempt's report carries besides its task and counts. */
type Ran = Pick<TaskReport, "location" | "output" | "bytesRead" | "bytesWritten" | "skipped">;

/** Runs map `task`; with `rpc` transfer, its report says where its output is served. */
async function runMap(
  app: MapReduceApp,
  task: MapTaskReply,
  times: PhaseTimes,
  counters: CounterSet,
  lazy: LazyTransfer,
): Promise<Ran> {
  if (task.transfer === "shared") return await executeMapTask(app, task, times, counters);
  const transfer = await lazy.get();
  const local = { ...task, outputFolder: transfer.folder };
  const readInput = () => transfer.mapInput(task, () => readSplit(splitOf(task)));
  const outcome = await executeMapTask(app, local, times, counters, readInput);
  return { ...outcome, location: transfer.location };
}

/**
 * Runs reduce `task`; with `rpc` transfer, its report says what it sent, or it returns
 * {@linkcode LOST} after giving the task back because a map output could not be fetched.
 */
async function runReduce(
  app: MapReduceApp,
  task: ReduceTaskReply,
  times: PhaseTimes,
  counters: CounterSet,
  lazy: LazyTransfer,
  workerId: string,
): Promise<Ran | typeof LOST> {
  if (task.transfer === "shared") return await executeReduceTask(app, task, times, counters);
  const transfer = await lazy.get();
  const sender = transfer.outputSender(task);
  let outcome: TaskOutcome;
  try {
    outcome = await executeReduceTask(app, task, times, counters, {
      source: (mapTask) => transfer.partition(task, mapTask),
      sink: sender,
    });
  } catch (error) {
    if (!(error instanceof LostOutputError)) throw error;
    await transfer.reportLost(workerId, task, error);
    return LOST;
  }
  const output = await sender.finish();
  return { bytesRead: outcome.bytesRead, bytesWritten: output.sizeBytes, output };
}

function splitOf(task: MapTaskReply) {
  return { name: task.inputName, path: task.inputPath, offset: task.offset, length: task.length };
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
 * Calls the coordinator and returns its answer, or a {@linkcode CoordinatorLost} once it has
 * been unreachable (nothing listening) for `goneMs`, or silent (calls timing out) for
 * {@linkcode MAX_SILENT_MS}. A slow coordinator is waited for longer than a missing one, so a
 * busy machine cannot make a worker quit a job that is still running. A remote error (a bug or
 * a version mismatch) is thrown.
 */
async function callPatiently(
  client: RpcClient,
  method: string,
  args: unknown,
  goneMs: number,
): Promise<unknown> {
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
    if (unreachableSinceMs !== null && now - unreachableSinceMs >= goneMs) {
      return new CoordinatorLost(now - unreachableSinceMs);
    }
    if (now - firstTryMs >= MAX_SILENT_MS) return new CoordinatorLost(now - firstTryMs);
    await sleep(realClock, RETRY_PAUSE_MS);
  }
  return new CoordinatorLost(realClock.now() - firstTryMs);
}

/**
 * Runs map task `task`: reads the lines of its split, calls the application's map, groups the
 * pairs by key and writes one intermediate file per reduce task (empty ones too, so a reduce
 * can tell a missing file from an empty partition). A split that owns no line (inside one long
 * line) is not mapped. Each phase's time is added to `times`. With `task.skipBadRecords` the
 * split is mapped in skip mode (mr_failures/skip_records.ts).
 */
export async function executeMapTask(
  app: MapReduceApp,
  task: MapTaskReply,
  times: PhaseTimes = new PhaseTimes(),
  counters: CounterSet = new CounterSet(),
  readInput: () => Promise<string | null> = () => readSplit(splitOf(task)),
): Promise<TaskOutcome> {
  const contents = await times.time("read input", readInput);
  const { partitions, skipped } = contents === null
    ? { partitions: Array.from({ length: task.reduceCount }, () => []), skipped: undefined }
    : await mapAndGroup(app, task, contents, times, counters);
  let bytesWritten = 0;
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
    bytesWritten += writer.bytesWritten;
  }
  // The split's range, not the bytes of the lines it owns: the ranges of a file add up to it.
  return { bytesRead: task.length, bytesWritten, ...(skipped === undefined ? {} : { skipped }) };
}

async function mapAndGroup(
  app: MapReduceApp,
  task: MapTaskReply,
  contents: string,
  times: PhaseTimes,
  counters: CounterSet,
): Promise<{ partitions: KeyRuns[][]; skipped?: SkippedRecord[] }> {
  let skipped: SkippedRecord[] | undefined;
  const result = await times.time("map", async () => {
    if (task.skipBadRecords !== true) return await app.map(task.inputName, contents, counters);
    const skipping = await mapSkippingBadRecords(app, task.inputName, contents, counters);
    skipped = skipping.skipped;
    return skipping.pairs;
  });
  const partitions = await times.time(
    "partition",
    () => groupMapOutput(app, task.inputName, result, task.reduceCount),
  );
  return { partitions, skipped };
}

/** What an attempt read and wrote, and the records a map in skip mode left out. */
export interface TaskOutcome {
  /** A map: its split's range; a reduce: its intermediate files. */
  readonly bytesRead: number;
  /** A map: its intermediate files; a reduce: its output file (0 when it went to a sink). */
  readonly bytesWritten: number;
  /** A map in skip mode: the first records it skipped. */
  readonly skipped?: SkippedRecord[];
}

/**
 * Where a reduce task's inputs come from and its output goes when the job shares no folder:
 * `source(mapTask)` gives a map's partition, `sink` takes the output (the caller finishes it).
 */
export interface ReduceIo {
  readonly source: (mapTask: number) => IntermediateSource;
  readonly sink: TextSink;
}

/**
 * Runs reduce task `task`: reads partition `taskId` of every map in map order, merges each
 * key's values, reduces the keys in sorted order and writes `mr-out-Y` durably — or, given
 * `io`, reads the partitions from `io.source` (a failure there is a {@linkcode LostOutputError})
 * and writes to `io.sink`.
 */
export async function executeReduceTask(
  app: MapReduceApp,
  task: ReduceTaskReply,
  times: PhaseTimes = new PhaseTimes(),
  counters: CounterSet = new CounterSet(),
  io?: ReduceIo,
): Promise<TaskOutcome> {
  const groups = new RunsByKey();
  const read = { bytes: 0 };
  for (let mapTask = 0; mapTask < task.mapCount; mapTask++) {
    const onGroup = (key: string, runs: Runs) => groups.add(key, runs);
    if (io === undefined) {
      const path = joinPath(task.outputFolder, intermediateName(mapTask, task.taskId));
      await readIntermediate(
        counted({ name: path, chunks: fileChunks(path) }, read),
        onGroup,
        times,
      );
      continue;
    }
    try {
      await readIntermediate(counted(io.source(mapTask), read), onGroup, times);
    } catch (error) {
      // Whether unreachable, gone or cut short, the map's output must be made again.
      throw new LostOutputError(mapTask, task.mapLocations[mapTask], errorText(error));
    }
  }
  const valuesOf = (key: string) => groups.values(key);
  if (io !== undefined) {
    await reduceKeys(app, [...groups.keys()], valuesOf, io.sink, times, counters);
    return { bytesRead: read.bytes, bytesWritten: 0 };
  }
  const writer = await AtomicFileWriter.create(task.outputFolder, outputName(task.taskId), {
    times,
    phase: "write output",
  });
  try {
    await reduceKeys(app, [...groups.keys()], valuesOf, writer, times, counters);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.commit(true);
  return { bytesRead: read.bytes, bytesWritten: writer.bytesWritten };
}

/** `source`, adding the bytes read from it to `read.bytes`. */
function counted(source: IntermediateSource, read: { bytes: number }): IntermediateSource {
  async function* chunks() {
    for await (const chunk of source.chunks) {
      read.bytes += chunk.length;
      yield chunk;
    }
  }
  return { name: source.name, chunks: chunks() };
}
