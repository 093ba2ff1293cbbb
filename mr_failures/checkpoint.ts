/**
 * The coordinator's checkpoint (`dsys coordinator --state FILE`): the task table's durable part
 * — done tasks with their details, the counters taken, maps reopened after their output was
 * lost — and the identity of the job it belongs to, in one checked block (storage/atomic_file.ts:
 * magic `DSYSMRCP`, version, length, a JSON body, CRC-32), replaced atomically (temporary file,
 * fsync, rename, fsync of the folder). A restarted coordinator given the file keeps those tasks
 * done and redoes only the rest; a file of another job, or a damaged one, is refused with a
 * sentence naming the file, never loaded.
 *
 * Writes are coalesced: at most one is in flight, and a write takes the table's state when it
 * starts, so a burst of reports costs one or two writes. A report's reply does not wait for its
 * write: a done mark lost in a crash only makes the restarted coordinator run that task again,
 * and a task's output is the same whichever attempt writes it (an atomic rename of the same
 * bytes), while its counts leave with its done mark, as both are in the same snapshot.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import {
  CorruptFileError,
  encodeBlock,
  readBlockFile,
  replaceFile,
} from "../storage/atomic_file.ts";
import { DiskFileSystem, type FileSystem } from "../storage/file_system.ts";
import { countsProblem } from "../apps/counters.ts";
import { DETAIL_CHARS_MAX, type FinishedTask, type FinishedTasks } from "../mr/task_table.ts";
import { errorText } from "../util/error_text.ts";
import type { Transfer } from "../mr_data/transfer_protocol.ts";

/** The checked block's kind. */
const CHECKPOINT_MAGIC = "DSYSMRCP";

/**
 * What makes two runs the same job: the map and reduce tasks mean the same work, and a done
 * task's output is where the other run expects it.
 */
export interface JobIdentity {
  /** The input files in order: the name map receives, the absolute path, the size. */
  readonly inputs: readonly { name: string; path: string; sizeBytes: number }[];
  readonly splitSizeBytes: number;
  readonly reduceCount: number;
  /** Where map output lives: the shared folder, or the workers (whose places are the details). */
  readonly transfer: Transfer;
}

interface CheckpointBody {
  readonly job: JobIdentity;
  readonly finished: FinishedTasks;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The file's bytes for `job` with `finished`. */
export function encodeCheckpoint(job: JobIdentity, finished: FinishedTasks): Uint8Array {
  const body: CheckpointBody = { job, finished };
  return encodeBlock(CHECKPOINT_MAGIC, encoder.encode(JSON.stringify(body)));
}

/**
 * What the checkpoint at `path` says `job` finished, or null when there is no file. Throws a
 * {@linkcode CorruptFileError} for a damaged file and an Error naming the difference for a file
 * of another job.
 */
export function readCheckpoint(
  path: string,
  job: JobIdentity,
  files: FileSystem = new DiskFileSystem(),
): FinishedTasks | null {
  const purpose = "Cannot start the coordinator";
  const bytes = readBlockFile(files, path, CHECKPOINT_MAGIC, purpose);
  if (bytes === null) return null;
  let body: CheckpointBody;
  try {
    body = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new CorruptFileError(`${purpose}: ${path} is corrupt: ${errorText(error)}`, path);
  }
  const problem = shapeProblem(body);
  if (problem !== null) {
    throw new CorruptFileError(`${purpose}: ${path} is corrupt: ${problem}`, path);
  }
  const difference = jobDifference(body.job, job);
  if (difference !== null) {
    throw new Error(`${purpose}: ${path} records another job: ${difference}`);
  }
  return body.finished;
}

/** How job `there` (the file's) differs from job `here`, in words, or null when they match. */
export function jobDifference(there: JobIdentity, here: JobIdentity): string | null {
  if (there.inputs.length !== here.inputs.length) {
    return `${there.inputs.length} input files there, ${here.inputs.length} here`;
  }
  const describe = (input: JobIdentity["inputs"][number]) =>
    `${input.name} (${input.path}, ${input.sizeBytes} bytes)`;
  for (let index = 0; index < here.inputs.length; index++) {
    const [old, now] = [there.inputs[index], here.inputs[index]];
    if (old.name !== now.name || old.path !== now.path || old.sizeBytes !== now.sizeBytes) {
      return `input ${index + 1} is ${describe(old)} there, ${describe(now)} here`;
    }
  }
  if (there.splitSizeBytes !== here.splitSizeBytes) {
    return `split size ${there.splitSizeBytes} bytes there, ${here.splitSizeBytes} here`;
  }
  if (there.reduceCount !== here.reduceCount) {
    return `${there.reduceCount} reduce tasks there, ${here.reduceCount} here`;
  }
  if (there.transfer !== here.transfer) {
    return `transfer ${there.transfer} there, ${here.transfer} here`;
  }
  return null;
}

/** Why `value` is not a checkpoint body, or null. The CRC passed, so this catches only bugs. */
function shapeProblem(value: unknown): string | null {
  const body = value as Partial<CheckpointBody> | null;
  const job = body?.job;
  const finished = body?.finished;
  if (typeof job !== "object" || job === null || typeof finished !== "object" || !finished) {
    return "it lacks the job or the finished tasks";
  }
  const inputsOk = Array.isArray(job.inputs) &&
    job.inputs.every((input) =>
      typeof input?.name === "string" && typeof input.path === "string" &&
      Number.isSafeInteger(input.sizeBytes)
    );
  if (!inputsOk || !Number.isSafeInteger(job.splitSizeBytes)) return "its job is malformed";
  if (!Number.isSafeInteger(job.reduceCount) || typeof job.transfer !== "string") {
    return "its job is malformed";
  }
  const tasksOk = (tasks: unknown) =>
    Array.isArray(tasks) &&
    tasks.every((task: Partial<FinishedTask>) =>
      Number.isSafeInteger(task?.taskId) &&
      (task.detail === undefined ||
        (typeof task.detail === "string" && task.detail.length <= DETAIL_CHARS_MAX))
    );
  if (!tasksOk(finished.maps) || !tasksOk(finished.reduces)) return "its task list is malformed";
  const reopened = finished.reopenedMaps;
  if (!Array.isArray(reopened) || !reopened.every((id) => Number.isSafeInteger(id))) {
    return "its reopened maps are malformed";
  }
  return countsProblem(finished.counters);
}

/**
 * Keeps the checkpoint file up to date with a table's state, one write at a time, the latest
 * state winning.
 */
export class CheckpointWriter {
  readonly #path: string;
  readonly #job: JobIdentity;
  readonly #snapshot: () => FinishedTasks;
  readonly #files: FileSystem;
  #writing: Promise<void> | null = null;
  #stale = false;
  #failure: Error | null = null;
  #writes = 0;

  /** Writes `snapshot()` of `job` to the absolute `path` when asked. */
  constructor(
    path: string,
    job: JobIdentity,
    snapshot: () => FinishedTasks,
    files: FileSystem = new DiskFileSystem(),
  ) {
    assert(path.startsWith("/"), `Checkpoint path ${path} is not absolute`);
    this.#path = path;
    this.#job = job;
    this.#snapshot = snapshot;
    this.#files = files;
  }

  /** Why the last write failed, or null; no write is tried after a failure. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Writes completed so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Asks for the current state to be written; returns at once. */
  request(): void {
    this.#stale = true;
    this.#writing ??= this.#drain();
  }

  /** Waits until every state asked for is durable; throws if a write failed. */
  async flush(): Promise<void> {
    if (this.#writing !== null) await this.#writing;
    if (this.#failure !== null) throw this.#failure;
  }

  /** Releases the file handles. */
  close(): void {
    this.#files.close();
  }

  async #drain(): Promise<void> {
    try {
      // Bounded: a round runs only after a request() during the previous one, and requests
      // come from accepted reports, a few per task of the job.
      while (this.#stale) {
        this.#stale = false;
        await replaceFile(this.#files, this.#path, encodeCheckpoint(this.#job, this.#snapshot()));
        this.#writes++;
      }
    } catch (error) {
      this.#failure = new Error(`Cannot write the checkpoint ${this.#path}: ${errorText(error)}`);
    } finally {
      this.#writing = null;
    }
  }
}
