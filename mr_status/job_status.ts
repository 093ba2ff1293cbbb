/**
 * A running job as `dsys mr status` shows it (the MapReduce paper's status page, section 4.8):
 * the coordinator serves {@linkcode STATUS_METHOD} with its tasks by state, its workers, the
 * bytes read and written by the attempts it accepted, rates over the job so far, and the
 * application's counters; the client checks the answer and prints it as a table or JSON.
 *
 * @module
 */
import { connect } from "../rpc/tcp_client.ts";
import { RpcError } from "../rpc/types.ts";
import { errorText } from "../util/error_text.ts";
import { countsProblem } from "../apps/counters.ts";
import type { TaskKind } from "../mr/protocol.ts";
import {
  objectOf as record,
  textField as text,
  wholeNumberField as count,
} from "../util/message_fields.ts";
import type { TaskStates } from "../mr/task_table.ts";
import type { WorkerRow } from "../mr/worker_registry.ts";
import { formatByteSize } from "../mr/byte_size.ts";

/** RPC method: anyone asks the coordinator how the job goes; no args, result {@linkcode CoordinatorStatus}. */
export const STATUS_METHOD = "Coordinator.Status";
/** Most workers a status lists, the most recently heard from first; the rest are only counted. */
export const STATUS_WORKERS_MAX = 100;
/** How long `dsys mr status` waits for an answer unless told otherwise. */
export const DEFAULT_MR_STATUS_TIMEOUT_MS = 2_000;

/** Bytes moved by the accepted attempts, or those bytes per second. */
export interface JobBytes {
  /** Input read by maps: the sum of their splits' ranges. */
  inputRead: number;
  /** Intermediate files written by maps. */
  intermediateWritten: number;
  /** Intermediate files read by reduces. */
  intermediateRead: number;
  /** Output files written by reduces. */
  outputWritten: number;
}

/** The answer of {@linkcode STATUS_METHOD}. */
export interface CoordinatorStatus {
  /** Says the answer comes from a MapReduce coordinator. */
  kind: "mr-coordinator";
  /** `running`, `done` (every output in place) or `failed` (see `failure`). */
  state: "running" | "done" | "failed";
  /** Why the job failed, on one line; null unless `state` is `failed`. */
  failure: string | null;
  /** Milliseconds since the coordinator started, up to the job's end once it ended. */
  elapsedMs: number;
  /** Map tasks by state. */
  maps: TaskStates;
  /** Reduce tasks by state. */
  reduces: TaskStates;
  /** Tasks handed out again after their lease ran out. */
  reissued: number;
  /** Attempts that failed (map or reduce threw, or their files could not be made). */
  failedAttempts: number;
  /** Workers remembered, of which `workers` lists at most {@linkcode STATUS_WORKERS_MAX}. */
  workersTotal: number;
  /** The workers heard from most recently first. */
  workers: WorkerRow[];
  /** Bytes of the accepted attempts; a superseded attempt's are not counted, as its output is not used. */
  bytes: JobBytes;
  /** `bytes` over `elapsedMs`, per second. */
  bytesPerS: JobBytes;
  /** The application's counters, each task's accepted attempt once. */
  counters: Record<string, number>;
}

const BYTE_FIELDS = [
  "inputRead",
  "intermediateWritten",
  "intermediateRead",
  "outputWritten",
] as const;

/** Empty byte counts. */
export function noBytes(): JobBytes {
  return { inputRead: 0, intermediateWritten: 0, intermediateRead: 0, outputWritten: 0 };
}

/** Adds what an accepted attempt of `kind` read and wrote to `totals`. */
export function addTaskBytes(totals: JobBytes, kind: TaskKind, read = 0, written = 0): void {
  if (kind === "map") {
    totals.inputRead += read;
    totals.intermediateWritten += written;
  } else {
    totals.intermediateRead += read;
    totals.outputWritten += written;
  }
}

/** `totals` per second over `elapsedMs`, rounded to whole bytes; zero before any time passed. */
export function bytesPerSecond(totals: JobBytes, elapsedMs: number): JobBytes {
  const rates = noBytes();
  if (elapsedMs <= 0) return rates;
  for (const field of BYTE_FIELDS) rates[field] = Math.round(totals[field] * 1000 / elapsedMs);
  return rates;
}

/** Checks an answer of {@linkcode STATUS_METHOD}; throws naming the first bad field. */
export function parseCoordinatorStatus(value: unknown): CoordinatorStatus {
  const what = "coordinator status";
  const fields = record(value, what);
  if (fields.kind !== "mr-coordinator") throw new Error(`Bad ${what}: kind is not mr-coordinator`);
  const state = fields.state;
  if (state !== "running" && state !== "done" && state !== "failed") {
    throw new Error(`Bad ${what}: state must be running, done or failed`);
  }
  const failure = state === "failed" ? text(fields, "failure", what) : null;
  if (state !== "failed" && fields.failure !== null) {
    throw new Error(`Bad ${what}: a ${state} job has no failure`);
  }
  const problem = countsProblem(fields.counters);
  if (problem !== null) throw new Error(`Bad ${what}: ${problem}`);
  return {
    kind: "mr-coordinator",
    state,
    failure,
    elapsedMs: count(fields, "elapsedMs", what),
    maps: taskStates(fields.maps, `${what}'s maps`),
    reduces: taskStates(fields.reduces, `${what}'s reduces`),
    reissued: count(fields, "reissued", what),
    failedAttempts: count(fields, "failedAttempts", what),
    workersTotal: count(fields, "workersTotal", what),
    workers: workerRows(fields.workers, what),
    bytes: jobBytes(fields.bytes, `${what}'s bytes`),
    bytesPerS: jobBytes(fields.bytesPerS, `${what}'s bytesPerS`),
    counters: fields.counters as Record<string, number>,
  };
}

function taskStates(value: unknown, what: string): TaskStates {
  const fields = record(value, what);
  return {
    idle: count(fields, "idle", what),
    leased: count(fields, "leased", what),
    done: count(fields, "done", what),
  };
}

function jobBytes(value: unknown, what: string): JobBytes {
  const fields = record(value, what);
  const bytes = noBytes();
  for (const field of BYTE_FIELDS) bytes[field] = count(fields, field, what);
  return bytes;
}

function workerRows(value: unknown, what: string): WorkerRow[] {
  if (!Array.isArray(value) || value.length > STATUS_WORKERS_MAX) {
    throw new Error(`Bad ${what}: workers must list at most ${STATUS_WORKERS_MAX} workers`);
  }
  return value.map((entry) => {
    const fields = record(entry, `${what}'s worker`);
    return {
      id: text(fields, "id", `${what}'s worker`),
      lastHeardMsAgo: count(fields, "lastHeardMsAgo", `${what}'s worker`),
      tasksRun: count(fields, "tasksRun", `${what}'s worker`),
      tasksFailed: count(fields, "tasksFailed", `${what}'s worker`),
    };
  });
}

/**
 * Asks the coordinator at `address` for its status. Throws one line naming the address when
 * nothing answers there, or when what answers is not a MapReduce coordinator.
 */
export async function fetchCoordinatorStatus(
  address: string,
  timeoutMs = DEFAULT_MR_STATUS_TIMEOUT_MS,
): Promise<CoordinatorStatus> {
  const client = connect(address, {
    defaultTimeoutMs: timeoutMs,
    connectTimeoutMs: timeoutMs,
    log: () => {},
  });
  let answer: unknown;
  try {
    answer = await client.call(STATUS_METHOD, null, { timeoutMs });
  } catch (error) {
    if (error instanceof RpcError && error.kind === "remote") {
      throw new Error(`${address} is not a MapReduce coordinator: ${errorText(error)}`);
    }
    throw new Error(`No MapReduce coordinator answers at ${address}: ${errorText(error)}`);
  } finally {
    client.close();
  }
  try {
    return parseCoordinatorStatus(answer);
  } catch (error) {
    throw new Error(`${address} is not a MapReduce coordinator: ${errorText(error)}`);
  }
}

/** `status` of the coordinator at `address` as aligned text, for a person. */
export function formatCoordinatorStatus(address: string, status: CoordinatorStatus): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const head = `coordinator ${address}: ${status.state} after ${seconds(status.elapsedMs)}`;
  const lines = [status.failure === null ? head : `${head}: ${status.failure}`, ""];
  const states = (
    name: string,
    tasks: TaskStates,
  ) => [name, String(tasks.idle), String(tasks.leased), String(tasks.done)];
  lines.push(
    ...alignColumns([
      ["tasks", "idle", "leased", "done"],
      states("map", status.maps),
      states("reduce", status.reduces),
    ]),
    `re-issued ${status.reissued} · failed attempts ${status.failedAttempts}`,
    "",
  );
  const labels: Record<keyof JobBytes, string> = {
    inputRead: "input read",
    intermediateWritten: "intermediate written",
    intermediateRead: "intermediate read",
    outputWritten: "output written",
  };
  lines.push(...alignColumns([
    ["bytes", "total", "rate"],
    ...BYTE_FIELDS.map((field) => [
      labels[field],
      formatByteSize(status.bytes[field]),
      `${formatByteSize(status.bytesPerS[field])}/s`,
    ]),
  ]));
  lines.push(
    "",
    ...alignColumns([
      [`workers (${status.workersTotal})`, "last heard", "tasks run", "failed"],
      ...status.workers.map((worker) => [
        worker.id,
        `${seconds(worker.lastHeardMsAgo)} ago`,
        String(worker.tasksRun),
        String(worker.tasksFailed),
      ]),
    ]),
  );
  const counters = Object.entries(status.counters);
  if (counters.length > 0) {
    lines.push(
      "",
      ...alignColumns([
        ["counter", "value"],
        ...counters.map(([name, value]) => [name, String(value)]),
      ]),
    );
  }
  return lines.join("\n");
}

/** `rows` with every column but the last padded to its widest cell, two spaces apart. */
function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, column) => widths[column] = Math.max(widths[column] ?? 0, cell.length));
  }
  return rows.map((row) =>
    row.map((cell, column) => column === row.length - 1 ? cell : cell.padEnd(widths[column]))
      .join("  ")
  );
}
