/**
 * The MapReduce coordinator: one map task per input split (a file, or a piece of a file larger
 * than the split size), `nReduce` reduce tasks, handed to
 * workers over RPC. It re-issues a task when its lease runs out or its attempt failed, hands
 * out backup attempts of stragglers near the end of each phase (task_table.ts), counts the
 * first report of a live attempt, can checkpoint its table to a file and resume from it
 * (mr_failures/checkpoint.ts), and finishes once every output file is in place and the workers that were
 * still asking have been told to exit (or a short grace period ran out). A task whose attempts
 * failed three times fails the job (mr_failures/task_failures.ts).
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Clock, realClock } from "../util/clock.ts";
import { type Address, formatAddress, type RpcHandlers, serve } from "../rpc/mod.ts";
import {
  type FailureReport,
  parseFailureReport,
  parseTaskReport,
  parseTaskRequest,
  REPORT_FAILURE_METHOD,
  REPORT_TASK_METHOD,
  type ReportReply,
  REQUEST_TASK_METHOD,
  type TaskReply,
  type TaskReport,
  type TaskRequest,
} from "./protocol.ts";
import { createProgressDisplay, type JobStatus, type ProgressMode } from "./progress.ts";
import { type FinishedTasks, TaskTable } from "./task_table.ts";
import { CheckpointWriter, type JobIdentity, readCheckpoint } from "../mr_failures/checkpoint.ts";
import { joinPath } from "./job_files.ts";
import {
  type ByteRange,
  DEFAULT_SPLIT_BYTES,
  type InputSplit,
  ownedRange,
  planSplits,
} from "../mr_data/input_split.ts";
import { type Chunk, CHUNK_BYTES, readFileChunk } from "../mr_data/chunks.ts";
import { OutputUploads } from "../mr_data/output_uploads.ts";
import {
  type InputRequest,
  type LostOutputReport,
  type OutputChunk,
  parseInputRequest,
  parseLostOutputReport,
  parseOutputChunk,
  READ_INPUT_METHOD,
  REPORT_LOST_OUTPUT_METHOD,
  type Transfer,
  WRITE_OUTPUT_METHOD,
} from "../mr_data/transfer_protocol.ts";
import { WorkerRegistry } from "./worker_registry.ts";
import { TaskFailures } from "../mr_failures/task_failures.ts";
import { firstLineOf } from "../mr_failures/skip_records.ts";
import {
  addTaskBytes,
  bytesPerSecond,
  type CoordinatorStatus,
  noBytes,
  STATUS_METHOD,
  STATUS_WORKERS_MAX,
} from "../mr_status/job_status.ts";
import { formatByteSize } from "./byte_size.ts";
import { formatCounts } from "../apps/counters.ts";

/** Where the coordinator listens unless told otherwise. */
export const DEFAULT_COORDINATOR_ADDRESS = "127.0.0.1:7070";
/** Reduce tasks unless told otherwise, as in the lab. */
export const DEFAULT_REDUCE_COUNT = 10;
/** Lease of a task unless told otherwise, as in the lab. */
export const DEFAULT_TASK_TIMEOUT_MS = 10_000;
/** Longest the coordinator keeps answering "exit" after the job is done or failed. */
export const DEFAULT_EXIT_GRACE_MS = 2_000;
/** How soon an idle worker asks again; short, as workers wait at the map/reduce barrier. */
const WAIT_RETRY_MS = 50;
/** A worker heard from within this window counts as present. */
const WORKER_PRESENCE_MS = 3_000;

/** What the task-handing logic needs; everything else (sockets, timers) stays outside. */
export interface CoordinatorServiceOptions {
  /** The map tasks' inputs, in task order. */
  readonly splits: readonly InputSplit[];
  /** Absolute folder for intermediate and output files. */
  readonly outputFolder: string;
  /** Number of reduce tasks. */
  readonly reduceCount: number;
  /** Lease of one task attempt. */
  readonly taskTimeoutMs: number;
  /** Run a map task that failed twice in skip mode (the paper's section 4.6); default false. */
  readonly skipBadRecords?: boolean;
  /** Time source. */
  readonly clock: Clock;
  /** Receives one line per noteworthy event (a re-issued task, a backup attempt). */
  readonly log: (line: string) => void;
  /** How map output reaches reducers; default `shared`. */
  readonly transfer?: Transfer;
  /** Hand out backup attempts near the end of each phase; default true. */
  readonly backupTasks?: boolean;
  /** What a previous coordinator of this job finished, from its checkpoint. */
  readonly finished?: FinishedTasks;
  /** Called whenever the table's durable part changes: an accepted report, a reopened map. */
  readonly onFinishedChange?: () => void;
}

/** The coordinator's RPC handlers and state, without a socket; tested on a manual clock. */
export class CoordinatorService {
  readonly #options: CoordinatorServiceOptions;
  readonly #table: TaskTable;
  readonly #workers = new WorkerRegistry();
  readonly #failures: TaskFailures;
  readonly #startMs: number;
  /** When every output was in place or the job failed; null while it runs. */
  #endMs: number | null = null;
  readonly #transfer: Transfer;
  /** The lines each split owns, found on the first request for them. */
  readonly #inputRanges = new Map<number, ByteRange | null>();
  /** Reduce outputs arriving over RPC (`rpc` transfer only). */
  readonly #uploads: OutputUploads | null;
  /** Reduce reports being committed, by task: a second report waits for the first. */
  readonly #committing = new Map<number, Promise<unknown>>();
  /** The bytes of every accepted attempt. */
  readonly #bytes = noBytes();

  /** Creates the service with every task idle. */
  constructor(options: CoordinatorServiceOptions) {
    this.#options = options;
    this.#transfer = options.transfer ?? "shared";
    this.#uploads = this.#transfer === "rpc" ? new OutputUploads(options.outputFolder) : null;
    this.#table = new TaskTable({
      mapCount: options.splits.length,
      reduceCount: options.reduceCount,
      taskTimeoutMs: options.taskTimeoutMs,
      clock: options.clock,
      backupTasks: options.backupTasks,
      finished: options.finished,
    });
    this.#startMs = options.clock.now();
    if (this.#table.done) this.#endMs = this.#startMs;
    this.#failures = new TaskFailures({
      splits: options.splits,
      skipBadRecords: options.skipBadRecords ?? false,
      log: options.log,
    });
  }

  /** The RPC handlers to serve. */
  get handlers(): RpcHandlers {
    const handlers: RpcHandlers = {
      [REQUEST_TASK_METHOD]: (args) => this.requestTask(parseTaskRequest(args)),
      [REPORT_TASK_METHOD]: (args) => this.reportTask(parseTaskReport(args)),
      [REPORT_FAILURE_METHOD]: (args) => this.reportFailure(parseFailureReport(args)),
      [STATUS_METHOD]: () => this.coordinatorStatus(),
    };
    if (this.#transfer === "shared") return handlers;
    return {
      ...handlers,
      [READ_INPUT_METHOD]: (args) => this.readInput(parseInputRequest(args)),
      [WRITE_OUTPUT_METHOD]: (args) => this.writeOutput(parseOutputChunk(args, CHUNK_BYTES)),
      [REPORT_LOST_OUTPUT_METHOD]: (args) => this.lostOutput(parseLostOutputReport(args)),
    };
  }

  /** The counts of the accepted attempts so far, by name. */
  counters(): Record<string, number> {
    return this.#table.counters();
  }

  /** The durable part of the task table, for the checkpoint. */
  finished(): FinishedTasks {
    return this.#table.finished();
  }

  /** Whether every output file is in place. */
  get done(): boolean {
    return this.#table.done;
  }

  /** Why the job failed, on one line, or null while it has not. */
  get failure(): string | null {
    return this.#failures.jobFailure;
  }

  /** Answers a worker asking for work; once the job has ended, with "exit". */
  requestTask(request: TaskRequest): TaskReply {
    this.#workers.heardFrom(request.workerId, this.#options.clock.now());
    const assignment = this.#failures.jobFailure === null
      ? this.#table.assign(request.workerId)
      : { kind: "done" as const };
    const { outputFolder } = this.#options;
    switch (assignment.kind) {
      case "done":
        this.#workers.toldToExit(request.workerId);
        return { kind: "exit" };
      case "wait":
        return { kind: "wait", retryMs: WAIT_RETRY_MS };
      case "map": {
        this.#logIssue(assignment, request.workerId);
        this.#workers.attemptHanded(request.workerId);
        const split = this.#options.splits[assignment.taskId];
        return {
          kind: "map",
          taskId: assignment.taskId,
          attempt: assignment.attempt,
          inputName: split.name,
          inputPath: split.path,
          offset: split.offset,
          length: split.length,
          reduceCount: this.#options.reduceCount,
          outputFolder,
          transfer: this.#transfer,
          inputSizeBytes: split.fileSizeBytes ?? 0,
          ...(this.#failures.skipMode(assignment.taskId) ? { skipBadRecords: true } : {}),
        };
      }
      case "reduce": {
        this.#logIssue(assignment, request.workerId);
        this.#workers.attemptHanded(request.workerId);
        const mapCount = this.#options.splits.length;
        return {
          kind: "reduce",
          taskId: assignment.taskId,
          attempt: assignment.attempt,
          mapCount,
          outputFolder,
          transfer: this.#transfer,
          mapLocations: this.#transfer === "rpc" ? this.#doneMapLocations() : [],
        };
      }
    }
  }

  /**
   * Records a worker's report of a finished attempt. With `rpc` transfer a map's report must say
   * where its output is, and a reduce's output is checked and put in place before it counts.
   */
  reportTask(report: TaskReport): ReportReply | Promise<ReportReply> {
    this.#workers.heardFrom(report.workerId, this.#options.clock.now());
    this.#workers.attemptReported(report.workerId, "finished");
    if (this.#transfer === "rpc") {
      if (report.kind === "map" && report.location === undefined) {
        throw new Error(`Cannot accept map task ${report.taskId}: the report names no location`);
      }
      if (report.kind === "reduce") return this.#commitReduce(report);
    }
    if (report.skipped !== undefined) return this.#completeSkipping(report);
    return this.#complete(report);
  }

  /**
   * A map report listing skipped records: their numbers in the split become numbers in the
   * file, which the coordinator can read (the worker may have had only the split's lines).
   */
  async #completeSkipping(report: TaskReport): Promise<ReportReply> {
    const split = this.#options.splits[report.taskId];
    const firstLine = split === undefined ? null : await firstLineOf(split).catch(() => null);
    return this.#complete(report, firstLine);
  }

  #complete(report: TaskReport, firstLine: number | null = null): ReportReply {
    // A map's location (rpc transfer) is its detail in the table, so the checkpoint keeps it. A
    // superseded, losing or repeated attempt's location, counts, bytes and skipped records go
    // with its report.
    const { kind, taskId, attempt, counters } = report;
    const location = kind === "map" ? report.location : undefined;
    const accepted = this.#table.complete(kind, taskId, attempt, location, counters);
    if (!accepted) return { accepted };
    addTaskBytes(this.#bytes, report.kind, report.bytesRead, report.bytesWritten);
    this.#failures.noteSkipped(report, firstLine);
    if (this.#table.done && this.#endMs === null) this.#endMs = this.#options.clock.now();
    this.#options.onFinishedChange?.();
    return { accepted };
  }

  /**
   * Records a worker's report of a failed attempt: the task goes out again at once, and the
   * job fails once three attempts of it failed (mr_failures/task_failures.ts). Only the task's
   * latest attempt counts: a superseded one's replacement is already out.
   */
  reportFailure(report: FailureReport): ReportReply | Promise<ReportReply> {
    const nowMs = this.#options.clock.now();
    this.#workers.heardFrom(report.workerId, nowMs);
    this.#workers.attemptReported(report.workerId, "failed");
    if (this.#endMs !== null) return { accepted: false };
    if (!this.#table.release(report.kind, report.taskId, report.attempt)) {
      return { accepted: false };
    }
    this.#failures.failed(report);
    if (this.#failures.jobFailure !== null) this.#endMs = nowMs;
    // A failed reduce may have sent part of its output (`rpc` transfer): it is not wanted.
    if (report.kind === "reduce" && this.#uploads !== null) {
      return this.#uploads.discard(report.taskId, report.attempt).then(() => ({ accepted: true }));
    }
    return { accepted: true };
  }

  /**
   * A reduce report with `rpc` transfer: the attempt's uploaded output becomes `mr-out-Y` if the
   * attempt still counts, then the report is recorded; a late or losing attempt's upload is
   * dropped. Reports of one task are handled one at a time.
   */
  async #commitReduce(report: TaskReport): Promise<ReportReply> {
    const uploads = this.#uploads!;
    const { taskId, attempt } = report;
    const earlier = this.#committing.get(taskId);
    if (earlier !== undefined) await earlier.catch(() => {});
    if (!this.#table.isLive("reduce", taskId, attempt) || report.output === undefined) {
      await uploads.discard(taskId, attempt);
      return this.#complete(report);
    }
    const committed = uploads.commit(taskId, attempt, report.output);
    this.#committing.set(taskId, committed);
    try {
      await committed;
    } finally {
      if (this.#committing.get(taskId) === committed) this.#committing.delete(taskId);
    }
    return this.#complete(report);
  }

  /** A chunk of the lines map task `request.taskId` owns, for a worker without the file. */
  async readInput(request: InputRequest): Promise<Chunk> {
    const split = this.#options.splits[request.taskId];
    if (split === undefined) throw new Error(`There is no map task ${request.taskId}`);
    let range = this.#inputRanges.get(request.taskId);
    if (range === undefined) {
      range = await ownedRange(split);
      this.#inputRanges.set(request.taskId, range);
    }
    const { begin, end } = range ?? { begin: 0, end: 0 };
    return await readFileChunk(split.path, begin, end, request);
  }

  /** Takes a chunk of a reduce attempt's output (only while the attempt may still count). */
  async writeOutput(chunk: OutputChunk): Promise<Record<string, never>> {
    if (!this.#table.isLive("reduce", chunk.taskId, chunk.attempt)) {
      throw new Error(
        `Reduce task ${chunk.taskId} attempt ${chunk.attempt} no longer counts: its output is not wanted`,
      );
    }
    await this.#uploads!.append(chunk.taskId, chunk.attempt, chunk.position, chunk.bytes);
    return {};
  }

  /**
   * A reducer could not fetch a map's output: every map whose output is at that place runs
   * again (its worker is most likely gone, as in §3.3 of the paper: a failed worker's finished
   * maps are redone), unless it already moved; and the reducer's attempt ends, so its task goes
   * out again once the maps are back. Reduces that already read those maps are not disturbed.
   */
  async lostOutput(report: LostOutputReport): Promise<Record<string, never>> {
    this.#workers.heardFrom(report.workerId, this.#options.clock.now());
    this.#workers.attemptReported(report.workerId, "given back");
    const reopened: number[] = [];
    // Bounded by the number of map tasks. Reopening forgets the map's location.
    for (let mapTask = 0; mapTask < this.#options.splits.length; mapTask++) {
      const location = this.#table.detailOf("map", mapTask);
      if (location !== report.location || !this.#table.reopenMap(mapTask)) continue;
      reopened.push(mapTask);
    }
    if (reopened.length > 0) this.#options.onFinishedChange?.();
    if (reopened.length > 0) {
      this.#options.log(
        `Map tasks ${reopened.join(", ")} run again: their output at ${report.location} is lost ` +
          `(reduce task ${report.reduceTask}: ${report.error})`,
      );
    }
    if (this.#table.release("reduce", report.reduceTask, report.attempt)) {
      await this.#uploads!.discard(report.reduceTask, report.attempt);
    }
    return {};
  }

  /** Removes what attempts that never reported left behind. */
  async close(): Promise<void> {
    await this.#uploads?.discardAll();
  }

  #doneMapLocations(): string[] {
    return this.#options.splits.map((_, mapTask) => {
      const location = this.#table.detailOf("map", mapTask);
      assert(
        location !== undefined,
        `Cannot hand out a reduce: map task ${mapTask} has no location`,
      );
      return location;
    });
  }

  /** The counts for the progress line. */
  status(): JobStatus {
    const nowMs = this.#options.clock.now();
    const present = this.#table.leaseHolders();
    for (const workerId of this.#workers.present(nowMs, WORKER_PRESENCE_MS)) present.add(workerId);
    return {
      ...this.#table.counts(),
      workers: present.size,
      done: this.#table.done,
      elapsedMs: this.#elapsedMs(),
      inputBytes: this.#bytes.inputRead,
      failures: this.#failures.total,
    };
  }

  /** The answer of {@linkcode STATUS_METHOD}: the job as `dsys mr status` shows it. */
  coordinatorStatus(): CoordinatorStatus {
    const elapsedMs = this.#elapsedMs();
    const failure = this.#failures.jobFailure;
    const state = failure !== null ? "failed" : this.#table.done ? "done" : "running";
    return {
      kind: "mr-coordinator",
      state,
      failure,
      elapsedMs,
      maps: this.#table.states("map"),
      reduces: this.#table.states("reduce"),
      reissued: this.#table.counts().reissued,
      failedAttempts: this.#failures.total,
      workersTotal: this.#workers.size,
      workers: this.#workers.rows(this.#options.clock.now(), STATUS_WORKERS_MAX),
      bytes: { ...this.#bytes },
      bytesPerS: bytesPerSecond(this.#bytes, elapsedMs),
      counters: this.#table.counters(),
    };
  }

  #elapsedMs(): number {
    return Math.round((this.#endMs ?? this.#options.clock.now()) - this.#startMs);
  }

  /**
   * Whether the coordinator may stop: the job ended (done or failed) and every worker it may
   * still hear from — heard from lately, or holding an attempt it has not reported — has been
   * told to exit, or `exitGraceMs` passed since the job ended and no attempt that lost to
   * another of its task (a straggler and its backup) still holds a lease. A loser's worker
   * reports when its attempt ends, which may be long after the job did; waited for, it hears
   * "exit" instead of finding the coordinator gone, which a worker takes for a failed job.
   */
  mayStop(exitGraceMs: number): boolean {
    if (this.#endMs === null) return false;
    const nowMs = this.#options.clock.now();
    if (!this.#workers.anyAwaited(nowMs, WORKER_PRESENCE_MS)) return true;
    return nowMs - this.#endMs >= exitGraceMs && nowMs >= this.#table.losersLeaseEndMs;
  }

  #logIssue(
    assignment: { kind: string; taskId: number; reissued: boolean; backup: boolean },
    workerId: string,
  ): void {
    const { kind, taskId } = assignment;
    if (assignment.reissued) {
      const seconds = this.#options.taskTimeoutMs / 1000;
      this.#options.log(
        `Re-issued ${kind} task ${taskId} to ${workerId}: no report within ${seconds} s`,
      );
    } else if (assignment.backup) {
      this.#options.log(
        `Backup of ${kind} task ${taskId} to ${workerId}: it runs long near the end of its phase`,
      );
    }
  }
}

/** Options of {@linkcode runCoordinator}; only `inputFiles` is required. */
export interface CoordinatorOptions {
  /** Input files, one map task per split; map receives the names as given here. */
  readonly inputFiles: readonly string[];
  /** A file larger than this becomes several map tasks, cut at lines; default 16 MiB. */
  readonly splitSizeBytes?: number;
  /** `host:port`, `:port` or `unix:/path`; port 0 picks a free port. Default 127.0.0.1:7070. */
  readonly listen?: Address | string;
  /** Number of reduce tasks; default 10. */
  readonly nReduce?: number;
  /** Re-issue a task not reported within this long; default 10 000 ms. */
  readonly taskTimeoutMs?: number;
  /** Folder for intermediate and output files, sent to workers; default the current folder. */
  readonly outputDir?: string;
  /** How progress is shown (see {@linkcode ProgressMode}); default `auto`. */
  readonly progress?: ProgressMode;
  /** Longest to keep telling workers to exit after the job is done; default 2000 ms. */
  readonly exitGraceMs?: number;
  /** Run a map task that failed twice in skip mode (see skip_records.ts); default false. */
  readonly skipBadRecords?: boolean;
  /** Hand out backup attempts of stragglers near the end of each phase; default true. */
  readonly backupTasks?: boolean;
  /**
   * Checkpoint the task table to this file after accepted reports, and resume from it when it
   * exists (it must be this job's); kept after the job as its record. Default: no checkpoint.
   */
  readonly stateFile?: string;
  /** Receives event lines (listening, re-issued tasks); default standard error, above the progress line. */
  readonly log?: (line: string) => void;
  /** Called once the server listens, with the real address (useful with port 0). */
  readonly onListening?: (address: Address) => void;
  /** Called with the job's status source once it listens, before any work: for its metrics. */
  readonly onStatus?: (status: () => CoordinatorStatus) => Promise<void>;
  /** Turns an event line into the line written (time, level, node); default as it is. */
  readonly stamp?: (line: string) => string;
  /**
   * `shared` (default): every process sees the output folder and the inputs. `rpc`: workers keep
   * map output in their own folders and serve it, fetch inputs they cannot read from here, and
   * send outputs here.
   */
  readonly transfer?: Transfer;
}

/** What a finished coordinator reports. */
export interface CoordinatorResult {
  /** The final counts. */
  readonly status: JobStatus;
  /** Wall time from listening to the last output being in place and workers told to exit. */
  readonly elapsedMs: number;
  /** What the application counted, each task's accepted attempt once. */
  readonly counters: Readonly<Record<string, number>>;
  /** Where it listened. */
  readonly address: Address;
}

/**
 * How often the coordinator refreshes progress and checks whether it may stop; every job waits
 * half of it on average after its last report, so it is short.
 */
const TICK_MS = 50;

/**
 * Runs a MapReduce job's coordinator until the job is done: serves tasks, re-issues those whose
 * worker fell silent or failed, shows progress, and resolves once every `mr-out-*` file is in
 * place and the workers have been told to exit. Throws before listening if an input file is
 * missing, and once the workers were told to exit if the job failed: a task failed three times
 * (the one-line error names the task, its input and the application's error).
 *
 * @example
 * ```ts
 * await runCoordinator({ listen: "unix:/tmp/mr.sock", inputFiles: ["pg-grimm.txt"], nReduce: 10 });
 * ```
 */
export async function runCoordinator(options: CoordinatorOptions): Promise<CoordinatorResult> {
  const reduceCount = options.nReduce ?? DEFAULT_REDUCE_COUNT;
  const taskTimeoutMs = options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  const exitGraceMs = options.exitGraceMs ?? DEFAULT_EXIT_GRACE_MS;
  assert(options.inputFiles.length > 0, "Cannot start the coordinator: no input files");
  const outputFolder = await existingFolder(options.outputDir ?? ".");
  const inputs = await Promise.all(options.inputFiles.map(existingInputFile));
  const splitSizeBytes = options.splitSizeBytes ?? DEFAULT_SPLIT_BYTES;
  const splits = planSplits(inputs, splitSizeBytes);
  const display = createProgressDisplay(options.progress ?? "auto");
  const stamp = options.stamp ?? ((line: string) => line);
  const log = options.log ?? ((line: string) => display.log(stamp(line)));
  const transfer = options.transfer ?? "shared";
  const { service, checkpoint } = await createService(
    {
      splits,
      outputFolder,
      reduceCount,
      taskTimeoutMs,
      skipBadRecords: options.skipBadRecords,
      clock: realClock,
      log,
      transfer,
      backupTasks: options.backupTasks,
    },
    { inputs, splitSizeBytes, reduceCount, transfer },
    options.stateFile,
  );
  const handlers = service.handlers;
  const watched: RpcHandlers = Object.fromEntries(
    Object.entries(handlers).map(([method, handler]) => [method, async (args: unknown) => {
      const reply = await handler(args);
      display.update(service.status());
      return reply;
    }]),
  );
  const server = await serve(options.listen ?? DEFAULT_COORDINATOR_ADDRESS, watched, { log });
  const startMs = realClock.now();
  log(
    `Coordinator listening on ${formatAddress(server.address)}: ${splits.length} map tasks ` +
      `(${inputs.length} files, split size ${formatByteSize(splitSizeBytes)}), ` +
      `${reduceCount} reduce tasks, task timeout ${
        taskTimeoutMs / 1000
      } s, output in ${outputFolder}` +
      (options.transfer === "rpc" ? ", map output on the workers (rpc transfer)" : ""),
  );
  try {
    await options.onStatus?.(() => service.coordinatorStatus());
    options.onListening?.(server.address);
    display.update(service.status());
    await tickUntil(() => {
      display.update(service.status());
      if (checkpoint?.failure) throw checkpoint.failure;
      return service.mayStop(exitGraceMs);
    });
    // The job's record: every done mark durable before the coordinator says it is done.
    await checkpoint?.flush();
  } finally {
    checkpoint?.close();
    await server.close();
    await service.close();
  }
  display.finish(service.status());
  const counters = service.counters();
  if (Object.keys(counters).length > 0) log(`Counters: ${formatCounts(counters)}`);
  if (service.failure !== null) throw new Error(`The job failed: ${service.failure}`);
  return {
    status: service.status(),
    elapsedMs: realClock.now() - startMs,
    address: server.address,
    counters,
  };
}

/**
 * The job's service; with `stateFile`, resumed from that checkpoint when it exists, and with
 * the writer that keeps the file current — written once before any worker is served, so that a
 * bad path fails at once.
 */
async function createService(
  serviceOptions: CoordinatorServiceOptions,
  job: JobIdentity,
  stateFile: string | undefined,
): Promise<{ service: CoordinatorService; checkpoint: CheckpointWriter | null }> {
  if (stateFile === undefined) {
    return { service: new CoordinatorService(serviceOptions), checkpoint: null };
  }
  const path = stateFile.startsWith("/") ? stateFile : joinPath(Deno.cwd(), stateFile);
  const finished = readCheckpoint(path, job);
  let checkpoint: CheckpointWriter | null = null;
  const service = new CoordinatorService({
    ...serviceOptions,
    finished: finished ?? undefined,
    onFinishedChange: () => checkpoint?.request(),
  });
  checkpoint = new CheckpointWriter(path, job, () => service.finished());
  checkpoint.request();
  try {
    await checkpoint.flush();
  } catch (error) {
    checkpoint.close();
    throw error;
  }
  if (finished !== null) {
    const status = service.status();
    serviceOptions.log(
      `Resumed from ${stateFile}: ${status.mapsDone}/${status.mapCount} maps and ` +
        `${status.reducesDone}/${status.reduceCount} reduces done`,
    );
  }
  return { service, checkpoint };
}

/** Calls `check` every {@linkcode TICK_MS} until it returns true. */
function tickUntil(check: () => boolean): Promise<void> {
  // Unbounded on purpose: a job runs as long as its workers take; the check ends it.
  return new Promise((resolve, reject) => {
    const tick = () => {
      let stop: boolean;
      try {
        stop = check();
      } catch (error) {
        reject(error);
        return;
      }
      if (stop) resolve();
      else realClock.setTimeout(tick, TICK_MS);
    };
    realClock.setTimeout(tick, TICK_MS);
  });
}

/** The absolute path of folder `path`, which must exist. */
async function existingFolder(path: string): Promise<string> {
  try {
    const absolute = await Deno.realPath(path);
    if ((await Deno.stat(absolute)).isDirectory) return absolute;
  } catch {
    // Reported below with the same message as a path that is not a folder.
  }
  throw new Error(`Cannot start the coordinator: output folder ${path} does not exist`);
}

/** Input file `name` with its absolute path and size; it must be a readable file. */
async function existingInputFile(
  name: string,
): Promise<{ name: string; path: string; sizeBytes: number }> {
  try {
    const path = await Deno.realPath(name);
    const info = await Deno.stat(path);
    if (info.isFile) return { name, path, sizeBytes: info.size };
  } catch {
    // Reported below.
  }
  throw new Error(`Cannot start the coordinator: input file ${name} does not exist`);
}
