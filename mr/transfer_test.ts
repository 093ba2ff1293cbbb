import assert from "node:assert/strict";
import { CoordinatorService } from "./coordinator.ts";
import { writeCorpus } from "./corpus.ts";
import { joinPath, readJobOutput } from "./job_files.ts";
import { runSequential } from "./sequential.ts";
import { withTempFolder } from "./testing/temp_folder.ts";
import { startTwoWorkerJob } from "./testing/two_worker_job.ts";
import { planSplits, readSplit } from "../mr_data/input_split.ts";
import { WorkerTransfer } from "./worker_transfer.ts";
import type { MapTaskReply } from "./protocol.ts";
import { ManualClock } from "../util/testing/manual_clock.ts";
import { checksumOf, CHUNK_BYTES, fetchChunks } from "../mr_data/chunks.ts";
import { OutputUploads } from "../mr_data/output_uploads.ts";
import { OutputSender } from "../mr_data/output_sender.ts";

function namesIn(folder: string): string[] {
  return [...Deno.readDirSync(folder)].map((entry) => entry.name).sort();
}

Deno.test("an rpc-transfer job keeps map output on the workers and its output equals sequential", async () => {
  await withTempFolder("dsys-mr-transfer-", async (folder) => {
    for (const name of ["corpus", "sequential", "job", "worker-1", "worker-2"]) {
      await Deno.mkdir(joinPath(folder, name));
    }
    const names = await writeCorpus(joinPath(folder, "corpus"), {
      seed: 11,
      wordsPerFile: 3_000,
      fileCount: 3,
    });
    const inputs = names.map((name) => joinPath(folder, `corpus/${name}`));
    await runSequential({
      app: "wc",
      inputFiles: inputs,
      outputDir: joinPath(folder, "sequential"),
    });
    const job = await startTwoWorkerJob(folder, inputs, {
      app: "wc",
      splitSizeBytes: 4_000,
      transfer: "rpc",
      workDirOf: (index) => joinPath(folder, `worker-${index}`),
    });
    const result = await job.coordinator;
    const outcomes = await job.workers;
    assert.equal(result.status.done, true);
    assert.deepEqual(
      await readJobOutput(joinPath(folder, "job")),
      await readJobOutput(joinPath(folder, "sequential")),
    );
    assert.deepEqual(namesIn(joinPath(folder, "job")), ["mr-out-0", "mr-out-1", "mr-out-2"]);
    const held = [1, 2].flatMap((index) => namesIn(joinPath(folder, `worker-${index}`)));
    const mapCount = outcomes.reduce((sum, outcome) => sum + outcome.mapTasks, 0);
    assert.equal(held.filter((name) => /^mr-\d+-\d+$/.test(name)).length, mapCount * 3);
    assert.ok(!held.some((name) => name.startsWith("mr-out-")), "outputs went to the coordinator");
  });
});

/** Texts whose splits end inside lines, on CRLF, after a byte order mark, in multi-byte runs. */
const TEXTS = [
  "",
  "\ufeffbom first\nsecond line\r\nthird",
  "naïve café\nслово 日本語 😀\n\n\nend\n",
  "a".repeat(100) + "\nshort\n",
];

Deno.test("a worker without the input file gets each split's lines from the coordinator", async () => {
  await withTempFolder("dsys-mr-input-", async (folder) => {
    const path = joinPath(folder, "input.txt");
    for (const text of TEXTS) {
      const bytes = new TextEncoder().encode(text);
      await Deno.writeFile(path, bytes);
      for (const splitBytes of [1, 3, 7, 64, 1000]) {
        const splits = planSplits(
          [{ name: "input.txt", path, sizeBytes: bytes.length }],
          splitBytes,
        );
        const service = new CoordinatorService({
          splits,
          outputFolder: folder,
          reduceCount: 1,
          taskTimeoutMs: 10_000,
          clock: new ManualClock(),
          log: () => {},
          transfer: "rpc",
        });
        const handlers = service.handlers;
        const transfer = await WorkerTransfer.start({
          folder,
          listen: "127.0.0.1:0",
          call: async (method, args) => await handlers[method](args),
          log: () => {},
        });
        try {
          for (const [taskId, split] of splits.entries()) {
            const task: MapTaskReply = {
              kind: "map",
              taskId,
              attempt: 1,
              inputName: split.name,
              inputPath: joinPath(folder, "elsewhere/input.txt"),
              offset: split.offset,
              length: split.length,
              reduceCount: 1,
              outputFolder: folder,
              transfer: "rpc",
              inputSizeBytes: bytes.length,
            };
            const streamed = await transfer.mapInput(task, () => {
              throw new Error("the worker has no such file");
            });
            const what = `${JSON.stringify(text)} split ${taskId} of ${splitBytes} bytes`;
            assert.equal(streamed, await readSplit(split), what);
          }
        } finally {
          await transfer.close();
        }
      }
    }
  });
});

Deno.test("fetchChunks refuses a damaged chunk, a changing size and an empty chunk", async () => {
  const good = new TextEncoder().encode("hello");
  const collect = async (replies: unknown[]) => {
    const chunks: Uint8Array[] = [];
    let call = 0;
    for await (const chunk of fetchChunks(() => Promise.resolve(replies[call++]), "mr-0-0")) {
      chunks.push(chunk);
    }
    return chunks;
  };
  assert.deepEqual(await collect([{ bytes: good, totalBytes: 5, crc32: checksumOf(good) }]), [
    good,
  ]);
  assert.deepEqual(
    await collect([{
      bytes: new Uint8Array(),
      totalBytes: 0,
      crc32: checksumOf(new Uint8Array()),
    }]),
    [],
  );
  await assert.rejects(
    () => collect([{ bytes: good, totalBytes: 5, crc32: checksumOf(good) + 1 }]),
    /Bad mr-0-0: its 5 bytes do not match their checksum/,
  );
  const half = good.subarray(0, 2);
  await assert.rejects(
    () =>
      collect([
        { bytes: half, totalBytes: 5, crc32: checksumOf(half) },
        { bytes: half, totalBytes: 6, crc32: checksumOf(half) },
      ]),
    /Cannot fetch mr-0-0: its size changed from 5 bytes/,
  );
  await assert.rejects(
    () => collect([{ bytes: new Uint8Array(), totalBytes: 5, crc32: 0 }]),
    /Cannot fetch mr-0-0: an empty chunk came at byte 0/,
  );
});

Deno.test("OutputUploads keeps only a whole, checked output of the attempt that commits", async () => {
  await withTempFolder("dsys-mr-upload-", async (folder) => {
    const uploads = new OutputUploads(folder);
    const text = "key 1\n".repeat(Math.ceil(CHUNK_BYTES / 5));
    let sent = new Uint8Array();
    const sender = new OutputSender(async (position, bytes, crc32) => {
      assert.equal(crc32, checksumOf(bytes));
      assert.ok(bytes.length <= CHUNK_BYTES);
      await uploads.append(0, 7, position, bytes);
      sent = new Uint8Array([...sent, ...bytes]);
    });
    await sender.write(text);
    const output = await sender.finish();
    assert.equal(output.sizeBytes, text.length);
    await assert.rejects(
      () => uploads.append(0, 7, 3, new Uint8Array([1])),
      /Cannot take output of reduce task 0 attempt 7 at byte 3: \d+ bytes arrived so far/,
    );
    await uploads.append(0, 8, 0, new Uint8Array([1, 2]));
    await assert.rejects(
      () => uploads.commit(0, 8, { sizeBytes: 3, crc32: 0 }),
      /Cannot keep output of reduce task 0 attempt 8: 2 bytes arrived, the reducer sent 3/,
    );
    await uploads.commit(0, 7, output);
    assert.equal(await Deno.readTextFile(joinPath(folder, "mr-out-0")), text);
    await uploads.append(1, 9, 0, new Uint8Array([1]));
    await uploads.commit(2, 10, { sizeBytes: 0, crc32: 0 });
    await uploads.discardAll();
    assert.deepEqual(namesIn(folder), ["mr-out-0", "mr-out-2"]);
    assert.equal((await Deno.stat(joinPath(folder, "mr-out-2"))).size, 0);
  });
});
