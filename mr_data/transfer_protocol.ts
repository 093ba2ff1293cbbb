/**
 * The messages a job without a shared folder adds to the worker–coordinator protocol: a worker
 * fetches an input split it cannot read, sends a reduce output chunk by chunk, and reports a map
 * output it could not fetch (so the coordinator has the map run again, §3.3 of the paper).
 *
 * @module
 */
import { checksumOf, type ChunkRange, parseChunkRange } from "./chunks.ts";
import { objectOf, textField, wholeNumberField } from "../util/message_fields.ts";

/**
 * How map output reaches reducers and outputs reach the output folder: `shared`, one folder
 * every process sees (the lab's way); `rpc`, each worker keeps its map output in its own folder
 * and serves it, inputs a worker cannot read and all outputs travel over RPC.
 */
export type Transfer = "shared" | "rpc";
/** Every {@linkcode Transfer}, the default first. */
export const TRANSFERS: readonly Transfer[] = ["shared", "rpc"];

/** RPC method: a chunk of a map task's split; args {@linkcode InputRequest}, result a chunk. */
export const READ_INPUT_METHOD = "Coordinator.ReadInput";
/** RPC method: a chunk of a reduce attempt's output; args {@linkcode OutputChunk}. */
export const WRITE_OUTPUT_METHOD = "Coordinator.WriteOutput";
/** RPC method: a reducer could not fetch a map's output; args {@linkcode LostOutputReport}. */
export const REPORT_LOST_OUTPUT_METHOD = "Coordinator.ReportLostOutput";

/** Which chunk of map task `taskId`'s split (the lines it owns) a worker wants. */
export interface InputRequest extends ChunkRange {
  readonly taskId: number;
}

/**
 * Bytes `[position, position + bytes.length)` of reduce task `taskId`'s output, from `attempt`
 * (sent with `crc32`, their checksum).
 */
export interface OutputChunk {
  readonly taskId: number;
  readonly attempt: number;
  readonly position: number;
  readonly bytes: Uint8Array;
}

/** A reducer's report that map task `mapTask`'s output at `location` could not be fetched. */
export interface LostOutputReport {
  readonly workerId: string;
  /** The reduce task and attempt that gave up. */
  readonly reduceTask: number;
  readonly attempt: number;
  readonly mapTask: number;
  /** Where the coordinator said the output was. */
  readonly location: string;
  /** Why the fetch failed, one line. */
  readonly error: string;
}

/** Checks the arguments of {@linkcode READ_INPUT_METHOD}. */
export function parseInputRequest(value: unknown): InputRequest {
  const what = "input request";
  const fields = objectOf(value, what);
  return { taskId: wholeNumberField(fields, "taskId", what), ...parseChunkRange(fields, what) };
}

/** Checks the arguments of {@linkcode WRITE_OUTPUT_METHOD}, the chunk's checksum included. */
export function parseOutputChunk(value: unknown, maxBytes: number): OutputChunk {
  const what = "output chunk";
  const fields = objectOf(value, what);
  const bytes = fields.bytes;
  if (!(bytes instanceof Uint8Array) || bytes.length > maxBytes) {
    throw new Error(`Bad ${what}: bytes must be at most ${maxBytes} bytes`);
  }
  if (fields.crc32 !== checksumOf(bytes)) {
    throw new Error(`Bad ${what}: its ${bytes.length} bytes do not match their checksum`);
  }
  return {
    taskId: wholeNumberField(fields, "taskId", what),
    attempt: wholeNumberField(fields, "attempt", what),
    position: wholeNumberField(fields, "position", what),
    bytes,
  };
}

/** Checks the arguments of {@linkcode REPORT_LOST_OUTPUT_METHOD}. */
export function parseLostOutputReport(value: unknown): LostOutputReport {
  const what = "lost output report";
  const fields = objectOf(value, what);
  return {
    workerId: textField(fields, "workerId", what, 4096),
    reduceTask: wholeNumberField(fields, "reduceTask", what),
    attempt: wholeNumberField(fields, "attempt", what),
    mapTask: wholeNumberField(fields, "mapTask", what),
    location: textField(fields, "location", what, 4096),
    error: textField(fields, "error", what, 4096),
  };
}

/** Checks a transfer mode named on a command line or in a reply. */
export function parseTransfer(value: unknown, what: string): Transfer {
  if (value === "shared" || value === "rpc") return value;
  throw new Error(`Bad ${what}: transfer must be "shared" or "rpc", not ${JSON.stringify(value)}`);
}
