import assert from "node:assert/strict";
import { runCoordinator } from "./coordinator.ts";
import { writeCorpus } from "./corpus.ts";
import { joinPath, readJobOutput } from "./job_files.ts";
import type { JobStatus } from "./progress.ts";
import { runSequential } from "./sequential.ts";
import { runWorker } from "./worker.ts";

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

for (const app of ["wc", "indexer"]) {
  Deno.test(`an in-process ${app} job with two workers equals the sequential output`, async () => {
    await withCorpus(async (folder, inputs) => {
      await Deno.mkdir(joinPath(folder, "sequential"));
      await Deno.mkdir(joinPath(folder, "job"));
      await runSequential({ app, inputFiles: inputs, outputDir: joinPath(folder, "sequential") });
      const expected = await readJobOutput(joinPath(folder, "sequential"));
      const address = `unix:${joinPath(folder, "mr.sock")}`;
      const statuses: JobStatus[] = [];
      let listening!: () => void;
      const started = new Promise<void>((resolve) => listening = resolve);
      const coordinator = runCoordinator({
        listen: address,
        inputFiles: inputs,
        nReduce: 3,
        outputDir: joinPath(folder, "job"),
        progress: (status) => statuses.push(status),
        log: () => {},
        onListening: () => listening(),
      });
      await started;
      const workers = [1, 2].map(() => runWorker({ coordinator: address, app, log: () => {} }));
      const result = await coordinator;
      const outcomes = await Promise.all(workers);
      assert.deepEqual(await readJobOutput(joinPath(folder, "job")), expected);
      assert.equal(result.status.done, true);
      assert.equal(result.status.reissued, 0);
      assert.deepEqual(
        outcomes.reduce((sum, outcome) => sum + outcome.mapTasks, 0),
        inputs.length,
        "each map ran exactly once",
      );
      assert.equal(outcomes.reduce((sum, outcome) => sum + outcome.reduceTasks, 0), 3);
      assert.ok(outcomes.every((outcome) => outcome.reason === "done"));
      assert.ok(statuses.some((status) => status.workers === 2), "progress counted both workers");
      const names = [...Deno.readDirSync(joinPath(folder, "job"))].map((entry) => entry.name)
        .sort();
      const intermediates = names.filter((name) => /^mr-\d+-\d+$/.test(name));
      assert.equal(intermediates.length, inputs.length * 3);
      assert.deepEqual(names.filter((name) => name.startsWith("mr-out-")), [
        "mr-out-0",
        "mr-out-1",
        "mr-out-2",
      ]);
      assert.ok(!names.some((name) => name.startsWith("tmp-")), "no temporary file is left");
    });
  });
}

Deno.test("a worker whose coordinator is unreachable exits, saying so", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-mr-job-" });
  try {
    const result = await runWorker({
      coordinator: `unix:${joinPath(folder, "nobody.sock")}`,
      app: "wc",
      coordinatorGoneMs: 300,
      log: () => {},
    });
    assert.deepEqual(result, { reason: "coordinator-gone", mapTasks: 0, reduceTasks: 0 });
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("the coordinator refuses a missing input file by name", async () => {
  await assert.rejects(
    () =>
      runCoordinator({ listen: "127.0.0.1:0", inputFiles: ["/no/such/file.txt"], progress: "off" }),
    /Cannot start the coordinator: input file \/no\/such\/file.txt does not exist/,
  );
});
