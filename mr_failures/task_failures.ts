/**
 * What the coordinator does about failed attempts. A map or reduce that throws (or breaks the
 * app contract) fails its attempt; the worker reports it and the coordinator hands the task out
 * again at once. After {@linkcode TASK_FAILURES_MAX} failed attempts of one task the job fails
 * rather than retry forever (before, such a job hung). With bad-record skipping on (the
 * MapReduce paper, section 4.6), a map task that failed {@linkcode SKIP_MODE_AFTER_FAILURES}
 * times runs its next attempt in skip mode (skip_records.ts), and the records it skipped are
 * logged when its report is accepted.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { FailureReport, TaskKind, TaskReport } from "../mr/protocol.ts";
import type { InputSplit } from "../mr_data/input_split.ts";
import { SKIPPED_RECORDS_COUNTER, SkippedRecordLog } from "./skip_records.ts";

/** Failed attempts of one task that fail the job. */
export const TASK_FAILURES_MAX = 3;
/** Failed attempts of one map task after which, when allowed, it runs in skip mode. */
export const SKIP_MODE_AFTER_FAILURES = 2;

/** What {@linkcode TaskFailures} needs to know of the job. */
export interface TaskFailuresOptions {
  /** The map tasks' inputs, to name them in messages. */
  readonly splits: readonly InputSplit[];
  /** Whether a map task that failed twice runs in skip mode. */
  readonly skipBadRecords: boolean;
  /** Receives one line per failed attempt and per skipped record (bounded). */
  readonly log: (line: string) => void;
}

/** The failed attempts of a job's tasks, and whether they failed the job. */
export class TaskFailures {
  readonly #options: TaskFailuresOptions;
  /** The distinct attempts that failed, at most {@linkcode TASK_FAILURES_MAX}, by task. */
  readonly #byTask = new Map<string, number[]>();
  readonly #skipLog: SkippedRecordLog;
  #total = 0;
  #jobFailure: string | null = null;

  /** Creates the record of a job with no failure yet. */
  constructor(options: TaskFailuresOptions) {
    this.#options = options;
    this.#skipLog = new SkippedRecordLog(options.log);
  }

  /** Failed attempts recorded so far, of every task. */
  get total(): number {
    return this.#total;
  }

  /** Why the job failed, on one line naming the task, its input and the error; null if it has not. */
  get jobFailure(): string | null {
    return this.#jobFailure;
  }

  /** Whether the next attempt of map task `taskId` runs in skip mode. */
  skipMode(taskId: number): boolean {
    return this.#options.skipBadRecords && this.count("map", taskId) >= SKIP_MODE_AFTER_FAILURES;
  }

  /** How many distinct attempts of task `taskId` failed. */
  count(kind: TaskKind, taskId: number): number {
    return this.#byTask.get(`${kind} ${taskId}`)?.length ?? 0;
  }

  /**
   * Records the failure of `report`'s attempt, which the caller found still live, and logs it;
   * the failure that reaches {@linkcode TASK_FAILURES_MAX} for its task fails the job. A
   * repeated report of the same attempt counts once.
   */
  failed(report: FailureReport): void {
    assert(this.#jobFailure === null, "Cannot record a failure: the job failed already");
    const key = `${report.kind} ${report.taskId}`;
    const attempts = this.#byTask.get(key) ?? [];
    this.#byTask.set(key, attempts);
    if (attempts.includes(report.attempt)) return;
    attempts.push(report.attempt);
    this.#total++;
    assert(attempts.length <= TASK_FAILURES_MAX, `Recorded ${attempts.length} failures of ${key}`);
    const task = this.#describe(report.kind, report.taskId);
    if (attempts.length === TASK_FAILURES_MAX) {
      this.#jobFailure = `${task} failed ${attempts.length} times; the last: ${report.error}`;
    }
    const next = this.#jobFailure !== null
      ? "the job fails"
      : `handing it out again${this.skipMode(report.taskId) ? ", skipping bad records" : ""}`;
    this.#options.log(
      `${task} failed on ${report.workerId} (failure ${attempts.length} of ` +
        `${TASK_FAILURES_MAX}): ${report.error}; ${next}`,
    );
  }

  /**
   * Logs the records that accepted map attempt `report` skipped, if it skipped any;
   * `firstLine` is the number of its split's first line in the file (null: unknown).
   */
  noteSkipped(report: TaskReport, firstLine: number | null): void {
    if (report.skipped === undefined || report.kind !== "map") return;
    const split = this.#options.splits[report.taskId];
    const skippedCount = report.counters?.[SKIPPED_RECORDS_COUNTER] ?? report.skipped.length;
    this.#skipLog.note(report.taskId, split.name, firstLine, report.skipped, skippedCount);
  }

  /** "Map task 3 (input a.txt, bytes 0–99)" or "Reduce task 2 (partition 2 of every map)". */
  #describe(kind: TaskKind, taskId: number): string {
    if (kind === "reduce") return `Reduce task ${taskId} (partition ${taskId} of every map)`;
    const split = this.#options.splits[taskId];
    const end = split.offset + Math.max(0, split.length - 1);
    return `Map task ${taskId} (input ${split.name}, bytes ${split.offset}–${end})`;
  }
}
