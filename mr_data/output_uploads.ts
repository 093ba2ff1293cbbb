/**
 * Reduce outputs sent to the coordinator when the job shares no folder. Each attempt's chunks
 * go, in order, into a temporary file of its own in the output folder; the attempt the
 * coordinator accepts is checked (size and CRC-32 of the whole), fsynced and renamed to
 * `mr-out-Y`, and every other attempt's file is removed. So the output folder only ever holds
 * whole outputs of accepted attempts under final names, as with a shared folder.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { checksumOf } from "./chunks.ts";
import { joinPath, outputName, syncFolder, TEMPORARY_PREFIX } from "../mr/job_files.ts";

/** Attempts that may be uploading at once; more are refused (each holds an open file). */
export const MAX_OPEN_UPLOADS = 256;

interface Upload {
  readonly file: Deno.FsFile;
  readonly path: string;
  writtenBytes: number;
  checksum: number;
}

/** What a reducer says it sent: checked against what arrived before the output is kept. */
export interface UploadedOutput {
  readonly sizeBytes: number;
  readonly crc32: number;
}

/** The uploads in progress, by reduce task and attempt. */
export class OutputUploads {
  readonly #folder: string;
  readonly #uploads = new Map<string, Upload>();
  /** Appends in flight, so an append and a commit of one attempt never interleave. */
  readonly #busy = new Map<string, Promise<void>>();

  /** Uploads land in `folder`, the job's output folder. */
  constructor(folder: string) {
    this.#folder = folder;
  }

  /**
   * Appends `bytes` at `position` to the output of `attempt` of reduce task `taskId`; the first
   * chunk (position 0) starts the upload. Chunks must come in order.
   */
  append(taskId: number, attempt: number, position: number, bytes: Uint8Array): Promise<void> {
    return this.#serially(taskId, attempt, async (key) => {
      let upload = this.#uploads.get(key);
      if (upload === undefined && position === 0) upload = await this.#start(key, taskId);
      const writtenBytes = upload?.writtenBytes ?? 0;
      if (upload === undefined || position !== writtenBytes) {
        throw new Error(
          `Cannot take output of reduce task ${taskId} attempt ${attempt} at byte ${position}: ` +
            `${writtenBytes} bytes arrived so far`,
        );
      }
      let written = 0;
      // Bounded by the chunk's length: every pass writes at least one byte.
      while (written < bytes.length) {
        const count = await upload.file.write(bytes.subarray(written));
        assert(count > 0, `Cannot write ${upload.path}: the file accepted no bytes`);
        written += count;
      }
      upload.writtenBytes += bytes.length;
      upload.checksum = checksumOf(bytes, upload.checksum);
    });
  }

  /**
   * Makes the output of `attempt` of reduce task `taskId` the task's `mr-out-Y`, durably, after
   * checking it is what the reducer sent; throws (and drops the upload) when it is not.
   */
  commit(taskId: number, attempt: number, sent: UploadedOutput): Promise<void> {
    return this.#serially(taskId, attempt, async (key) => {
      const upload = this.#uploads.get(key) ?? await this.#start(key, taskId);
      this.#uploads.delete(key);
      try {
        if (upload.writtenBytes !== sent.sizeBytes || upload.checksum !== sent.crc32) {
          throw new Error(
            `Cannot keep output of reduce task ${taskId} attempt ${attempt}: ` +
              `${upload.writtenBytes} bytes arrived, the reducer sent ${sent.sizeBytes}` +
              (upload.checksum !== sent.crc32 ? " and their checksums differ" : ""),
          );
        }
        await upload.file.sync();
        upload.file.close();
      } catch (error) {
        await discardUpload(upload);
        throw error;
      }
      await Deno.rename(upload.path, joinPath(this.#folder, outputName(taskId)));
      await syncFolder(this.#folder);
    });
  }

  /** Drops the upload of `attempt` of reduce task `taskId`, if any: a superseded attempt. */
  discard(taskId: number, attempt: number): Promise<void> {
    return this.#serially(taskId, attempt, async (key) => {
      const upload = this.#uploads.get(key);
      this.#uploads.delete(key);
      if (upload !== undefined) await discardUpload(upload);
    });
  }

  /** Drops every upload still open: those of attempts that never reported. */
  async discardAll(): Promise<void> {
    await Promise.allSettled(this.#busy.values());
    const uploads = [...this.#uploads.values()];
    this.#uploads.clear();
    await Promise.all(uploads.map(discardUpload));
  }

  async #start(key: string, taskId: number): Promise<Upload> {
    if (this.#uploads.size >= MAX_OPEN_UPLOADS) {
      throw new Error(
        `Cannot take output of reduce task ${taskId}: ${MAX_OPEN_UPLOADS} uploads are open`,
      );
    }
    const path = joinPath(
      this.#folder,
      `${TEMPORARY_PREFIX}${outputName(taskId)}-${crypto.randomUUID()}`,
    );
    const file = await Deno.open(path, { write: true, createNew: true });
    const upload: Upload = { file, path, writtenBytes: 0, checksum: 0 };
    this.#uploads.set(key, upload);
    return upload;
  }

  /** Runs `body` after every earlier operation on the same attempt. */
  #serially(
    taskId: number,
    attempt: number,
    body: (key: string) => Promise<void>,
  ): Promise<void> {
    const key = `${taskId}/${attempt}`;
    const previous = this.#busy.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => body(key));
    const settled = next.catch(() => {});
    this.#busy.set(key, settled);
    settled.then(() => {
      if (this.#busy.get(key) === settled) this.#busy.delete(key);
    });
    return next;
  }
}

async function discardUpload(upload: Upload): Promise<void> {
  try {
    upload.file.close();
  } catch {
    // Already closed by a commit that failed after closing it.
  }
  await Deno.remove(upload.path).catch(() => {});
}
