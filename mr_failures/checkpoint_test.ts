import assert from "node:assert/strict";
import { CorruptFileError } from "../storage/atomic_file.ts";
import { DiskFileSystem } from "../storage/file_system.ts";
import { CheckpointWriter, type JobIdentity, readCheckpoint } from "./checkpoint.ts";
import type { FinishedTasks } from "../mr/task_table.ts";
import { withTempFolder } from "../mr/testing/temp_folder.ts";

const job: JobIdentity = {
  inputs: [
    { name: "a.txt", path: "/data/a.txt", sizeBytes: 10 },
    { name: "b.txt", path: "/data/b.txt", sizeBytes: 20 },
  ],
  splitSizeBytes: 16,
  reduceCount: 3,
  transfer: "rpc",
};

const finished: FinishedTasks = {
  maps: [{ taskId: 0, detail: "worker-1 at unix:/tmp/w1.sock" }, { taskId: 2 }],
  reduces: [{ taskId: 1 }],
  reopenedMaps: [1],
  counters: { words: 12 },
};

/** Writes `state` of `job` to `path` with a fresh writer and waits until it is durable. */
async function writeCheckpoint(path: string, state: FinishedTasks): Promise<void> {
  const writer = new CheckpointWriter(path, job, () => state);
  try {
    writer.request();
    await writer.flush();
  } finally {
    writer.close();
  }
}

Deno.test("a checkpoint reads back as written; no file reads as null", async () => {
  await withTempFolder("dsys-mr-checkpoint-", async (folder) => {
    const path = `${folder}/job.state`;
    assert.equal(readCheckpoint(path, job), null);
    await writeCheckpoint(path, finished);
    assert.deepEqual(readCheckpoint(path, job), finished);
    assert.deepEqual([...Deno.readDirSync(folder)].map((entry) => entry.name), ["job.state"]);
  });
});

Deno.test("a damaged checkpoint is refused, naming the file", async () => {
  await withTempFolder("dsys-mr-checkpoint-", async (folder) => {
    const path = `${folder}/job.state`;
    await writeCheckpoint(path, finished);
    const bytes = Deno.readFileSync(path);
    const flipped = bytes.slice();
    flipped[40] ^= 0x01;
    Deno.writeFileSync(path, flipped);
    const corrupt = (reason: string) =>
      new RegExp(`^CorruptFileError: Cannot start the coordinator: ${path} is corrupt: ${reason}`);
    assert.throws(() => readCheckpoint(path, job), CorruptFileError);
    assert.throws(() => readCheckpoint(path, job), corrupt("CRC mismatch"));
    Deno.writeFileSync(path, bytes.subarray(0, bytes.length - 1));
    assert.throws(() => readCheckpoint(path, job), corrupt("its header claims"));
    Deno.writeFileSync(path, new TextEncoder().encode("{}"));
    assert.throws(() => readCheckpoint(path, job), corrupt("it has 2 bytes"));
  });
});

Deno.test("a checkpoint of another job is refused, naming the file and the difference", async () => {
  await withTempFolder("dsys-mr-checkpoint-", async (folder) => {
    const path = `${folder}/job.state`;
    await writeCheckpoint(path, finished);
    const refused = (other: JobIdentity, difference: string) =>
      assert.throws(
        () => readCheckpoint(path, other),
        (error: Error) =>
          !(error instanceof CorruptFileError) &&
          error.message ===
            `Cannot start the coordinator: ${path} records another job: ${difference}`,
      );
    const grown = { ...job.inputs[1], sizeBytes: 21 };
    refused(
      { ...job, inputs: [job.inputs[0], grown] },
      "input 2 is b.txt (/data/b.txt, 20 bytes) there, b.txt (/data/b.txt, 21 bytes) here",
    );
    refused({ ...job, inputs: [job.inputs[0]] }, "2 input files there, 1 here");
    refused({ ...job, splitSizeBytes: 17 }, "split size 16 bytes there, 17 here");
    refused({ ...job, reduceCount: 4 }, "3 reduce tasks there, 4 here");
    refused({ ...job, transfer: "shared" }, "transfer rpc there, shared here");
  });
});

/** The disk, with every file write held until the test lets it go. */
class HeldFileSystem extends DiskFileSystem {
  readonly #held: { path: string; go: () => void }[] = [];
  #waiter: (() => void) | null = null;
  writesStarted = 0;

  override async writeFile(path: string, bytes: Uint8Array): Promise<void> {
    this.writesStarted++;
    await new Promise<void>((go) => {
      this.#held.push({ path, go });
      this.#waiter?.();
    });
    await super.writeFile(path, bytes);
  }

  /** Waits until a write is held, then lets it go. */
  async releaseNext(): Promise<void> {
    if (this.#held.length === 0) await new Promise<void>((resolve) => this.#waiter = resolve);
    this.#waiter = null;
    this.#held.shift()!.go();
  }
}

Deno.test("checkpoint writes are coalesced: one in flight, then one with the latest state", async () => {
  await withTempFolder("dsys-mr-checkpoint-", async (folder) => {
    const path = `${folder}/job.state`;
    const files = new HeldFileSystem();
    let state: FinishedTasks = { ...finished, counters: { words: 0 } };
    const writer = new CheckpointWriter(path, job, () => state, files);
    try {
      writer.request();
      for (let words = 1; words <= 5; words++) {
        state = { ...finished, counters: { words } };
        writer.request();
      }
      const flushed = writer.flush();
      await files.releaseNext();
      await files.releaseNext();
      await flushed;
      assert.deepEqual([files.writesStarted, writer.writes], [2, 2]);
      assert.deepEqual(readCheckpoint(path, job)?.counters, { words: 5 });
    } finally {
      writer.close();
    }
  });
});

Deno.test("a checkpoint that cannot be written fails the flush with a sentence", async () => {
  await withTempFolder("dsys-mr-checkpoint-", async (folder) => {
    const path = `${folder}/missing/job.state`;
    const writer = new CheckpointWriter(path, job, () => finished);
    writer.request();
    await assert.rejects(
      () => writer.flush(),
      new RegExp(`^Error: Cannot write the checkpoint ${path}: `),
    );
    assert.match(writer.failure?.message ?? "", /No such file/);
    writer.close();
  });
});
