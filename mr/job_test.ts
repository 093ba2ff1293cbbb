import assert from "node:assert/strict";
import { runCoordinator } from "./coordinator.ts";
import { writeCorpus } from "./corpus.ts";
import { joinPath, readJobOutput } from "./job_files.ts";
import type { JobStatus } from "./progress.ts";
import type { MapTaskReply } from "./protocol.ts";
import { runSequential } from "./sequential.ts";
import { executeMapTask, executeReduceTask, runWorker, workerEndLine } from "./worker.ts";
import { withTempFolder } from "./testing/temp_folder.ts";
import { serveVanishingCoordinator } from "./testing/vanishing_coordinator.ts";
import { partitionOf } from "../mr_data/partition.ts";
import type { KeyValue, MapReduceApp } from "../apps/app.ts";
import { CounterSet } from "../apps/counters.ts";
import { POISON_MARKER } from "./testing/poison_app.ts";
import { type JobRun, startTwoWorkerJob } from "./testing/two_worker_job.ts";
import { TRANSFERS } from "../mr_data/transfer_protocol.ts";

/** Runs `body` with a fresh temporary folder holding a small corpus, and removes it after. */
async function withCorpus(body: (folder: string, inputs: string[]) => Promise<void>) {
  const folder = await Deno.makeTempDir({ prefix: "dsys-mr-job-" });
  try {
    await Deno.mkdir(joinPath(folder, "corpus"));
    const names = await writeCorpus(joinPath(folder, "corpus"), {
      seed: 7,
      wordsPerFile: 2_000,
      fileCount: 4,
    });
    await body(folder, names.map((name) => joinPath(folder, `corpus/${name}`)));
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/**
 * Runs a job of `run.app` on `inputs` with a coordinator and two workers in this process,
 * output in `folder/job`; resolves with the coordinator's result and the workers' outcomes.
 */
async function runTwoWorkerJob(folder: string, inputs: string[], run: JobRun) {
  const job = await startTwoWorkerJob(folder, inputs, run);
  const result = await job.coordinator;
  return { result, outcomes: await job.workers };
}

/** Map task 0 over the first `length` bytes of `inputPath` (named "in.txt"), shared transfer. */
function firstMapTask(
  inputPath: string,
  length: number,
  reduceCount: number,
  outputFolder: string,
): MapTaskReply {
  return {
    kind: "map",
    taskId: 0,
    attempt: 1,
    inputName: "in.txt",
    inputPath,
    offset: 0,
    length,
    reduceCount,
    outputFolder,
    transfer: "shared",
    inputSizeBytes: 0,
  };
}

const cases = [
  { app: "wc", splitSizeBytes: undefined },
  { app: "indexer", splitSizeBytes: undefined },
  { app: "wc", splitSizeBytes: 1000 },
  { app: "indexer", splitSizeBytes: 777 },
];
for (const { app, splitSizeBytes } of cases) {
  const splitting = splitSizeBytes === undefined
    ? ""
    : `, files cut in ${splitSizeBytes}-byte splits,`;
  Deno.test(`an in-process ${app} job${splitting} with two workers equals the sequential output`, async () => {
    await withCorpus(async (folder, inputs) => {
      await Deno.mkdir(joinPath(folder, "sequential"));
      await Deno.mkdir(joinPath(folder, "job"));
      await runSequential({ app, inputFiles: inputs, outputDir: joinPath(folder, "sequential") });
      const expected = await readJobOutput(joinPath(folder, "sequential"));
      const statuses: JobStatus[] = [];
      const { result, outcomes } = await runTwoWorkerJob(folder, inputs, {
        app,
        nReduce: 3,
        splitSizeBytes,
        progress: (status) => statuses.push(status),
      });
      assert.deepEqual(await readJobOutput(joinPath(folder, "job")), expected);
      assert.equal(result.status.done, true);
      assert.equal(result.status.reissued, 0);
      const sizes = await Promise.all(inputs.map(async (path) => (await Deno.stat(path)).size));
      const mapCount = sizes.reduce(
        (sum, size) => sum + Math.max(1, Math.ceil(size / (splitSizeBytes ?? Infinity))),
        0,
      );
      assert.ok(splitSizeBytes === undefined || mapCount > 10 * inputs.length, `${mapCount} maps`);
      const mapsRun = outcomes.reduce((sum, outcome) => sum + outcome.mapTasks, 0);
      const reducesRun = outcomes.reduce((sum, outcome) => sum + outcome.reduceTasks, 0);
      assert.ok(mapsRun >= mapCount && reducesRun >= 3, `${mapsRun} maps, ${reducesRun} reduces`);
      assert.equal(
        mapsRun + reducesRun,
        mapCount + 3 + result.status.backups,
        "each task ran once, and once more per backup attempt",
      );
      assert.ok(outcomes.every((outcome) => outcome.reason === "done"));
      assert.ok(statuses.some((status) => status.workers === 2), "progress counted both workers");
      const names = [...Deno.readDirSync(joinPath(folder, "job"))].map((entry) => entry.name)
        .sort();
      const intermediates = names.filter((name) => /^mr-\d+-\d+$/.test(name));
      assert.equal(intermediates.length, mapCount * 3);
      assert.deepEqual(names.filter((name) => name.startsWith("mr-out-")), [
        "mr-out-0",
        "mr-out-1",
        "mr-out-2",
      ]);
      assert.ok(!names.some((name) => name.startsWith("tmp-")), "no temporary file is left");
    });
  });
}

Deno.test("a worker that never reaches a coordinator says so, and one that loses its coordinator says for how long", async () => {
  await withTempFolder("dsys-mr-job-", async (folder) => {
    const address = `unix:${joinPath(folder, "coordinator.sock")}`;
    const never = await runWorker({
      coordinator: address,
      app: "wc",
      coordinatorGoneMs: 300,
      log: () => {},
    });
    assert.equal(never.reason, "no-coordinator");
    assert.ok((never.lostForMs ?? 0) >= 300, `${never.lostForMs} ms`);
    assert.match(
      workerEndLine(never, address) ?? "",
      /^No coordinator answered at unix:.*coordinator\.sock for 0\.\d s: no job to work for$/,
    );
    // A coordinator that answers once (wait) and then goes away before saying exit.
    const { server, firstAsk } = await serveVanishingCoordinator(address);
    const worker = runWorker({
      coordinator: address,
      app: "wc",
      coordinatorGoneMs: 300,
      log: () => {},
    });
    await firstAsk;
    await server.close();
    const lost = await worker;
    assert.deepEqual({ ...lost, lostForMs: 0 }, {
      reason: "coordinator-gone",
      mapTasks: 0,
      reduceTasks: 0,
      failedTasks: 0,
      lostForMs: 0,
    });
    assert.ok((lost.lostForMs ?? 0) >= 300, `${lost.lostForMs} ms`);
    assert.match(
      workerEndLine(lost, address) ?? "",
      /^Lost the coordinator at unix:.*coordinator\.sock before the job was done: no answer for 0\.\d s$/,
    );
    const done = { reason: "done", mapTasks: 1, reduceTasks: 0, failedTasks: 0 } as const;
    assert.equal(workerEndLine(done, address), null);
  });
});

Deno.test("the coordinator refuses a missing input file by name", async () => {
  await assert.rejects(
    () =>
      runCoordinator({ listen: "127.0.0.1:0", inputFiles: ["/no/such/file.txt"], progress: "off" }),
    /Cannot start the coordinator: input file \/no\/such\/file.txt does not exist/,
  );
});

Deno.test("a map or reduce that breaks the app contract fails its task, naming app and value", async () => {
  await withCorpus(async (folder, inputs) => {
    const badMap: MapReduceApp = {
      name: "./bad_map.ts",
      map: () => [{ key: "a", value: "1" }, { key: "b", count: 1 }] as unknown as KeyValue[],
      reduce: (_key, values) => String(values.length),
    };
    const badReduce: MapReduceApp = {
      name: "./bad_reduce.ts",
      map: () => [{ key: "a", value: "1" }],
      reduce: (_key, values) => values.length as unknown as string,
    };
    const mapError =
      /^Error: App \.\/bad_map\.ts: map of in\.txt returned \{"key":"b","count":1\} at index 1, not a \{key, value\} pair of strings$/;
    const reduceError =
      /^Error: App \.\/bad_reduce\.ts: reduce of key "a" returned 1, not a string$/;
    const mapTask = firstMapTask(inputs[0], 100, 2, folder);
    await assert.rejects(() => executeMapTask(badMap, mapTask), mapError);
    await executeMapTask(badReduce, mapTask);
    const reduceTask = {
      kind: "reduce" as const,
      taskId: partitionOf("a", 2),
      attempt: 1,
      mapCount: 1,
      outputFolder: folder,
      transfer: "shared" as const,
      mapLocations: [],
    };
    await assert.rejects(() => executeReduceTask(badReduce, reduceTask), reduceError);
    const sequential = { inputFiles: [inputs[0]], outputDir: folder };
    await assert.rejects(
      () => runSequential({ ...sequential, app: badMap }),
      /App \.\/bad_map\.ts: map of .*pg-being_ernest\.txt returned \{"key":"b","count":1\} at index 1/,
    );
    await assert.rejects(() => runSequential({ ...sequential, app: badReduce }), reduceError);
    const names = [...Deno.readDirSync(folder)].map((entry) => entry.name);
    assert.ok(
      !names.some((name) => name.startsWith("mr-out-") || name.startsWith("tmp-")),
      names.join(),
    );
  });
});

/** The sum of `values`, as a string: both the reduce and the combine of {@linkcode letterSums}. */
function sumOf(_key: string, values: string[]): string {
  return String(values.reduce((sum, value) => sum + Number(value), 0));
}

/** Word lengths summed per first letter: reduce and combine both sum, so combining is right. */
const letterSums: MapReduceApp = {
  name: "letter-sums",
  map: (_name, contents) =>
    (contents.match(/\p{L}+/gu) ?? []).map((word) => ({
      key: word[0].toLowerCase(),
      value: String(word.length),
    })),
  reduce: sumOf,
};

Deno.test("a combiner folds each map task's values per key before reduce; the output equals the sequential one", async () => {
  await withCorpus(async (folder, inputs) => {
    await Deno.mkdir(joinPath(folder, "sequential"));
    await Deno.mkdir(joinPath(folder, "job"));
    await runSequential({
      app: letterSums,
      inputFiles: inputs,
      outputDir: joinPath(folder, "sequential"),
    });
    const combined: MapReduceApp = { ...letterSums, combine: sumOf };
    const size = (await Deno.stat(inputs[0])).size;
    const mapTask = firstMapTask(inputs[0], size, 1, joinPath(folder, "job"));
    await executeMapTask(combined, mapTask);
    // One line per key: the map task's values were folded into one.
    const lines = (await Deno.readTextFile(joinPath(folder, "job/mr-0-0"))).split("\n");
    const batches = lines.slice(0, -2).map((line) => JSON.parse(line) as unknown[]);
    let keys = 0;
    for (const batch of batches) {
      for (let at = 1; at < batch.length; at += 2) {
        assert.deepEqual((batch[at] as unknown[]).length, 2, `key ${batch[at - 1]}`);
        keys++;
      }
    }
    // The file's end line counts the pairs it stands for: one per key, not one per word.
    assert.ok(keys > 10, `${keys} keys`);
    assert.equal(Number(lines.at(-2)), keys);
    await runTwoWorkerJob(folder, inputs, { app: combined, nReduce: 2, splitSizeBytes: 1000 });
    assert.deepEqual(
      await readJobOutput(joinPath(folder, "job")),
      await readJobOutput(joinPath(folder, "sequential")),
    );
    const badCombine: MapReduceApp = { ...letterSums, combine: () => 7 as unknown as string };
    await assert.rejects(
      () => executeMapTask(badCombine, mapTask),
      /^Error: App letter-sums: combine of key "\p{L}" returned 7, not a string$/u,
    );
  });
});

Deno.test("counters: each task's counts are taken once, and a job's totals equal the sequential run's", async () => {
  await withCorpus(async (folder, inputs) => {
    const counting: MapReduceApp = {
      name: "counting",
      map: (_name, contents, counters) => {
        const words = contents.match(/\p{L}+/gu) ?? [];
        counters.add("words", words.length);
        counters.add("long words", words.filter((word) => word.length > 7).length);
        return words.map((word) => ({ key: word[0].toLowerCase(), value: "1" }));
      },
      reduce: (_key, values, counters) => {
        counters.add("keys");
        return String(values.length);
      },
    };
    await Deno.mkdir(joinPath(folder, "sequential"));
    await Deno.mkdir(joinPath(folder, "job"));
    const sequential = new CounterSet();
    await runSequential({
      app: counting,
      inputFiles: inputs,
      outputDir: joinPath(folder, "sequential"),
      counters: sequential,
    });
    const { result } = await runTwoWorkerJob(folder, inputs, {
      app: counting,
      nReduce: 3,
      splitSizeBytes: 2000,
    });
    assert.ok(sequential.counts().words > 1000, JSON.stringify(sequential.counts()));
    assert.deepEqual(result.counters, sequential.counts());
  });
});

/** The test app whose map throws on a poisoned line, by path as a worker loads it. */
const POISON_APP_PATH = new URL("./testing/poison_app.ts", import.meta.url).pathname;

/**
 * Writes a copy of `input` with a poisoned line put in at a line boundary past its middle, as
 * `poisoned.txt` in `folder`; returns its path and the poisoned line's number.
 */
async function poisonedCopy(folder: string, input: string) {
  const text = await Deno.readTextFile(input);
  const cut = text.indexOf("\n", text.length / 2) + 1;
  assert.ok(cut > 0, `${input} has a line break past its middle`);
  const path = joinPath(folder, "poisoned.txt");
  await Deno.writeTextFile(path, `${text.slice(0, cut)}${POISON_MARKER}\n${text.slice(cut)}`);
  return { path, line: text.slice(0, cut).split("\n").length };
}

for (const transfer of TRANSFERS) {
  Deno.test(`a job whose map throws on a record fails after three attempts, with one line naming the task, its input and the app's error (${transfer} transfer)`, async () => {
    await withCorpus(async (folder, inputs) => {
      await Deno.mkdir(joinPath(folder, "job"));
      const poisoned = await poisonedCopy(folder, inputs[0]);
      const job = await startTwoWorkerJob(folder, [poisoned.path, ...inputs.slice(1)], {
        app: POISON_APP_PATH,
        skipBadRecords: false,
        splitSizeBytes: 3000,
        transfer,
      });
      await assert.rejects(
        () => job.coordinator,
        /^Error: The job failed: Map task \d+ \(input \/.*\/poisoned\.txt, bytes \d+–\d+\) failed 3 times; the last: App \/.*\/poison_app\.ts: map of \/.*\/poisoned\.txt threw: poisoned record in \/.*\/poisoned\.txt$/,
      );
      const outcomes = await job.workers;
      assert.ok(outcomes.every((outcome) => outcome.reason === "done"), "workers told to exit");
      assert.equal(outcomes.reduce((sum, outcome) => sum + outcome.failedTasks, 0), 3);
      const failures = job.log.filter((line) => / failed on worker-/.test(line));
      assert.equal(failures.length, 3, job.log.join("\n"));
      assert.match(failures[2], /\(failure 3 of 3\): .*; the job fails$/);
    });
  });

  Deno.test(`with bad-record skipping, a map task that failed twice skips the poisoned line: the output is sequential's without it (${transfer} transfer)`, async () => {
    await withCorpus(async (folder, inputs) => {
      await Deno.mkdir(joinPath(folder, "job"));
      await Deno.mkdir(joinPath(folder, "sequential"));
      const sequential = { app: "wc", inputFiles: inputs };
      await runSequential({ ...sequential, outputDir: joinPath(folder, "sequential") });
      const poisoned = await poisonedCopy(folder, inputs[0]);
      const job = await startTwoWorkerJob(folder, [poisoned.path, ...inputs.slice(1)], {
        app: POISON_APP_PATH,
        skipBadRecords: true,
        splitSizeBytes: 3000,
        transfer,
      });
      const result = await job.coordinator;
      assert.deepEqual(
        await readJobOutput(joinPath(folder, "job")),
        await readJobOutput(joinPath(folder, "sequential")),
      );
      assert.deepEqual(result.counters, { "skipped records": 1 });
      const skipped = job.log.filter((line) => line.startsWith("Skipped"));
      assert.equal(skipped.length, 1, job.log.join("\n"));
      assert.match(
        skipped[0],
        new RegExp(
          `^Skipped a bad record of map task \\d+: .*/poisoned\\.txt line ${poisoned.line}: ` +
            "App .*poison_app\\.ts: map of .*poisoned\\.txt threw: poisoned record",
        ),
      );
      assert.ok(poisoned.line > 1 && result.status.mapCount > inputs.length, "a later split");
      assert.match(
        job.log.find((line) => line.includes("failure 2 of 3")) ?? "",
        /skipping bad records$/,
      );
      const outcomes = await job.workers;
      assert.equal(outcomes.reduce((sum, outcome) => sum + outcome.failedTasks, 0), 2);
    });
  });

  Deno.test(`a job whose reduce throws fails after three attempts, naming the reduce task and the app's error (${transfer} transfer)`, async () => {
    await withCorpus(async (folder, inputs) => {
      await Deno.mkdir(joinPath(folder, "job"));
      const failingReduce: MapReduceApp = {
        name: "failing-reduce",
        map: (_name, contents) => [{ key: "lines", value: String(contents.length) }],
        reduce: () => {
          throw new Error("cannot sum");
        },
      };
      const job = await startTwoWorkerJob(folder, inputs, {
        app: failingReduce,
        skipBadRecords: true,
        transfer,
      });
      const partition = partitionOf("lines", 3);
      await assert.rejects(
        () => job.coordinator,
        new RegExp(
          `^Error: The job failed: Reduce task ${partition} \\(partition ${partition} of every ` +
            'map\\) failed 3 times; the last: App failing-reduce: reduce of key "lines" threw: ' +
            "cannot sum$",
        ),
      );
      assert.equal((await job.workers).reduce((sum, outcome) => sum + outcome.failedTasks, 0), 3);
      const names = [...Deno.readDirSync(joinPath(folder, "job"))].map((entry) => entry.name);
      assert.ok(!names.some((name) => name === `mr-out-${partition}`), names.join());
    });
  });
}
