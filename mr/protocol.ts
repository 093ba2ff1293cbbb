/**
 * The messages between workers and the coordinator. A worker asks for a task, runs it and
 * reports it with the attempt id it was given; the coordinator accepts the first report of a
 * live attempt of a task not yet done, which is how a late report from a superseded attempt, or
 * from the loser of a task and its backup, is ignored.
 *
 * @module
 */
import { countsProblem } from "../apps/counters.ts";
import {
  objectOf as record,
  textField as text,
  wholeNumberField as count,
} from "../util/message_fields.ts";
import { parseTransfer, type Transfer } from "../mr_data/transfer_protocol.ts";
import { errorText } from "../util/error_text.ts";

/** RPC method: a worker asks for work; args {@linkcode TaskRequest}, result {@linkcode TaskReply}. */
export const REQUEST_TASK_METHOD = "Coordinator.RequestTask";
/** RPC method: a worker reports a finished task; args {@linkcode TaskReport}, result {@linkcode ReportReply}. */
export const REPORT_TASK_METHOD = "Coordinator.ReportTask";
/** RPC method: a worker reports a failed attempt; args {@linkcode FailureReport}, result {@linkcode ReportReply}. */
export const REPORT_FAILURE_METHOD = "Coordinator.ReportFailure";

/** Longest error text a failure report carries; longer ones are cut by the worker. */
export const ERROR_CHARS_MAX = 500;
/** Most skipped records one report lists; the `skipped records` counter counts them all. */
export const SKIPPED_LISTED_MAX = 10;

/** Whether a task maps an input file or reduces one partition. */
export type TaskKind = "map" | "reduce";

/** A worker's request for a task. */
export interface TaskRequest {
  /** Unique per worker process; counts workers for the progress line. */
  workerId: string;
}

/**
 * Map the lines of input file `inputName` that start in bytes `[offset, offset + length)` into
 * `reduceCount` intermediate files in `outputFolder`.
 */
export interface MapTaskReply {
  kind: "map";
  taskId: number;
  attempt: number;
  /** The file name as the user gave it; map receives this name. */
  inputName: string;
  /** The same file as an absolute path, so workers started from any folder can read it. */
  inputPath: string;
  /** First byte of the split. */
  offset: number;
  /** Bytes in the split. */
  length: number;
  reduceCount: number;
  /** Absolute folder for intermediate and output files (with `shared` transfer). */
  outputFolder: string;
  /** How the map's output reaches reducers. */
  transfer: Transfer;
  /** Size of the whole input file: a worker reads its own copy only if the size matches. */
  inputSizeBytes: number;
  /**
   * Map the split line range by line range and skip the lines map fails on (the MapReduce
   * paper, section 4.6): sent once the task failed repeatedly, when the job allows skipping.
   */
  skipBadRecords?: boolean;
}

/** Reduce partition `taskId` over the intermediate files of `mapCount` map tasks. */
export interface ReduceTaskReply {
  kind: "reduce";
  taskId: number;
  attempt: number;
  mapCount: number;
  outputFolder: string;
  /** How the maps' outputs arrive and the output leaves. */
  transfer: Transfer;
  /** With `rpc` transfer, where each map task's output is (a worker's address); else empty. */
  mapLocations: string[];
}

/** Nothing to hand out yet (every task is leased); ask again after `retryMs`. */
export interface WaitReply {
  kind: "wait";
  retryMs: number;
}

/** The job is done: the worker exits. */
export interface ExitReply {
  kind: "exit";
}

/** The coordinator's answer to a {@linkcode TaskRequest}. */
export type TaskReply = MapTaskReply | ReduceTaskReply | WaitReply | ExitReply;

/** A worker's report that it finished an attempt and renamed all its output into place. */
export interface TaskReport {
  workerId: string;
  kind: TaskKind;
  taskId: number;
  attempt: number;
  /** What the attempt's map or reduce counted (apps/counters.ts); absent: nothing. */
  counters?: Record<string, number>;
  /** A map's with `rpc` transfer: the address where the worker serves the map's output. */
  location?: string;
  /** A reduce's with `rpc` transfer: the size and CRC-32 of the output it sent. */
  output?: { sizeBytes: number; crc32: number };
  /** Bytes the attempt read: a map its split's range, a reduce its intermediate files. */
  bytesRead?: number;
  /** Bytes the attempt wrote: a map its intermediate files, a reduce its output. */
  bytesWritten?: number;
  /** The first {@linkcode SKIPPED_LISTED_MAX} records a map in skip mode skipped, in order. */
  skipped?: SkippedRecord[];
}

/** One input line a map in skip mode left out because map failed on it alone. */
export interface SkippedRecord {
  /** The line's number in its split, from 1 (the coordinator knows where the split starts). */
  splitLine: number;
  /** What map threw on it, on one line. */
  error: string;
}

/** A worker's report that an attempt failed: map or reduce threw, or its files could not be made. */
export interface FailureReport {
  workerId: string;
  kind: TaskKind;
  taskId: number;
  attempt: number;
  /** Why, on one line of at most {@linkcode ERROR_CHARS_MAX} characters. */
  error: string;
}

/** Whether the coordinator counted the report (false for a superseded, losing or repeated attempt). */
export interface ReportReply {
  accepted: boolean;
}

function kind(fields: Record<string, unknown>, what: string): TaskKind {
  const value = fields.kind;
  if (value !== "map" && value !== "reduce") {
    throw new Error(`Bad ${what}: kind must be "map" or "reduce"`);
  }
  return value;
}

/**
 * The message of `error` as reports carry it: on one line, cut to {@linkcode ERROR_CHARS_MAX}
 * characters.
 */
export function errorLine(error: unknown): string {
  const line = errorText(error).replace(/\s*\n\s*/g, " ").trim() || "an error without a message";
  return line.length <= ERROR_CHARS_MAX ? line : `${line.slice(0, ERROR_CHARS_MAX - 1)}…`;
}

/** Checks the arguments of {@linkcode REQUEST_TASK_METHOD}; throws naming the bad field. */
export function parseTaskRequest(value: unknown): TaskRequest {
  const fields = record(value, "task request");
  return { workerId: text(fields, "workerId", "task request") };
}

/** Checks the arguments of {@linkcode REPORT_TASK_METHOD}; throws naming the bad field. */
export function parseTaskReport(value: unknown): TaskReport {
  const what = "task report";
  const fields = record(value, what);
  return {
    ...attemptOf(fields, what),
    ...countersOf(fields, what),
    ...transferOf(fields, what),
    ...(fields.bytesRead === undefined ? {} : { bytesRead: count(fields, "bytesRead", what) }),
    ...(fields.bytesWritten === undefined
      ? {}
      : { bytesWritten: count(fields, "bytesWritten", what) }),
    ...skippedOf(fields, what),
  };
}

/** Checks the arguments of {@linkcode REPORT_FAILURE_METHOD}; throws naming the bad field. */
export function parseFailureReport(value: unknown): FailureReport {
  const what = "failure report";
  const fields = record(value, what);
  return { ...attemptOf(fields, what), error: errorField(fields, what) };
}

/** The fields every report of an attempt has: who ran which attempt of which task. */
function attemptOf(fields: Record<string, unknown>, what: string) {
  return {
    workerId: text(fields, "workerId", what),
    kind: kind(fields, what),
    taskId: count(fields, "taskId", what),
    attempt: count(fields, "attempt", what),
  };
}

function errorField(fields: Record<string, unknown>, what: string): string {
  const error = text(fields, "error", what, ERROR_CHARS_MAX);
  if (error.includes("\n")) throw new Error(`Bad ${what}: error must be one line`);
  return error;
}

function skippedOf(fields: Record<string, unknown>, what: string): { skipped?: SkippedRecord[] } {
  const skipped = fields.skipped;
  if (skipped === undefined) return {};
  if (!Array.isArray(skipped) || skipped.length > SKIPPED_LISTED_MAX) {
    throw new Error(`Bad ${what}: skipped must list at most ${SKIPPED_LISTED_MAX} records`);
  }
  return {
    skipped: skipped.map((entry) => {
      const entryWhat = `${what}'s skipped record`;
      const entryFields = record(entry, entryWhat);
      const splitLine = count(entryFields, "splitLine", entryWhat);
      if (splitLine < 1) throw new Error(`Bad ${entryWhat}: splitLine must be ≥ 1`);
      return { splitLine, error: errorField(entryFields, entryWhat) };
    }),
  };
}

function transferOf(
  fields: Record<string, unknown>,
  what: string,
): { location?: string; output?: { sizeBytes: number; crc32: number } } {
  const result: { location?: string; output?: { sizeBytes: number; crc32: number } } = {};
  if (fields.location !== undefined) result.location = text(fields, "location", what);
  if (fields.output !== undefined) {
    const output = record(fields.output, `${what}'s output`);
    result.output = {
      sizeBytes: count(output, "sizeBytes", `${what}'s output`),
      crc32: count(output, "crc32", `${what}'s output`),
    };
  }
  return result;
}

function countersOf(
  fields: Record<string, unknown>,
  what: string,
): { counters?: Record<string, number> } {
  if (fields.counters === undefined) return {};
  const problem = countsProblem(fields.counters);
  if (problem !== null) throw new Error(`Bad ${what}: ${problem}`);
  return { counters: fields.counters as Record<string, number> };
}

/** Checks the coordinator's answer to a task request; throws naming the bad field. */
export function parseTaskReply(value: unknown): TaskReply {
  const what = "task reply";
  const fields = record(value, what);
  switch (fields.kind) {
    case "exit":
      return { kind: "exit" };
    case "wait":
      return { kind: "wait", retryMs: count(fields, "retryMs", what) };
    case "map":
      return {
        kind: "map",
        taskId: count(fields, "taskId", what),
        attempt: count(fields, "attempt", what),
        inputName: text(fields, "inputName", what),
        inputPath: text(fields, "inputPath", what),
        offset: count(fields, "offset", what),
        length: count(fields, "length", what),
        reduceCount: count(fields, "reduceCount", what),
        outputFolder: text(fields, "outputFolder", what),
        transfer: parseTransfer(fields.transfer, what),
        inputSizeBytes: count(fields, "inputSizeBytes", what),
        ...skipModeOf(fields, what),
      };
    case "reduce":
      return {
        kind: "reduce",
        taskId: count(fields, "taskId", what),
        attempt: count(fields, "attempt", what),
        mapCount: count(fields, "mapCount", what),
        outputFolder: text(fields, "outputFolder", what),
        transfer: parseTransfer(fields.transfer, what),
        mapLocations: locations(fields, what),
      };
    default:
      throw new Error(`Bad ${what}: unknown kind ${JSON.stringify(fields.kind)}`);
  }
}

function locations(fields: Record<string, unknown>, what: string): string[] {
  const value = fields.mapLocations;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || item === "")) {
    throw new Error(`Bad ${what}: mapLocations must be a list of addresses`);
  }
  return value;
}

function skipModeOf(fields: Record<string, unknown>, what: string): { skipBadRecords?: boolean } {
  const skip = fields.skipBadRecords;
  if (skip === undefined) return {};
  if (typeof skip !== "boolean") {
    throw new Error(`Bad ${what}: skipBadRecords must be true or false`);
  }
  return { skipBadRecords: skip };
}

/** Checks the coordinator's answer to a report. */
export function parseReportReply(value: unknown): ReportReply {
  const fields = record(value, "report reply");
  if (typeof fields.accepted !== "boolean") {
    throw new Error("Bad report reply: accepted must be true or false");
  }
  return { accepted: fields.accepted };
}
