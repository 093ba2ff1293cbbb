import assert from "node:assert/strict";
import {
  DEFAULT_TASK_TIMEOUT_MS,
  readJobOutput,
  runSequential,
  runWorker,
  writeCorpus,
} from "../mr/mod.ts";
import { joinPath } from "../mr/job_files.ts";
import { withTempFolder } from "../mr/testing/temp_folder.ts";
import { POISON_MARKER } from "../mr/testing/poison_app.ts";
import { selfCommand } from "../util/self_command.ts";
import { coordinatorCommand } from "./coordinator.ts";

Deno.test("coordinator --help shows --task-timeout's default in seconds, as the option is read", () => {
  const command = coordinatorCommand();
  const help = command.helpInformation().replace(/\s+/g, " ");
  assert.match(
    help,
    /--task-timeout <seconds> re-issue a task not reported in time \(default: 10\)/,
  );
  const option = command.options.find((option) => option.long === "--task-timeout");
  assert.equal(option?.defaultValue, DEFAULT_TASK_TIMEOUT_MS, "the program gets milliseconds");
  assert.equal(DEFAULT_TASK_TIMEOUT_MS, 10_000);
});

/** A corpus of four files in `folder/corpus`, their paths, and sequential wc's output lines. */
async function corpusWithExpected(folder: string) {
  await Deno.mkdir(joinPath(folder, "corpus"));
  await Deno.mkdir(joinPath(folder, "sequential"));
  const names = await writeCorpus(joinPath(folder, "corpus"), {
    seed: 3,
    wordsPerFile: 2_000,
    fileCount: 4,
  });
  const inputs = names.map((name) => joinPath(folder, `corpus/${name}`));
  await runSequential({ app: "wc", inputFiles: inputs, outputDir: joinPath(folder, "sequential") });
  return { inputs, expected: await readJobOutput(joinPath(folder, "sequential")) };
}

/** Starts `dsys coordinator` in `folder` with `args`, standard error piped to the test. */
function spawnCoordinator(folder: string, args: readonly string[]) {
  const [program, ...programArgs] = selfCommand(["coordinator", ...args]);
  return new Deno.Command(program, {
    args: programArgs,
    cwd: folder,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/** Reads `stream` until its text so far matches `pattern`; returns the reader, still open. */
async function readUntil(stream: ReadableStream<Uint8Array>, pattern: RegExp) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // Bounded by the stream: it ends when the process exits.
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`standard error ended before ${pattern}: ${text}`);
    text += value;
    if (pattern.test(text)) return { reader, text };
  }
}

Deno.test("a coordinator whose standard error pipe closes keeps going: the output is complete and it exits 0", async () => {
  await withTempFolder("dsys-coordinator-", async (folder) => {
    const { inputs, expected } = await corpusWithExpected(folder);
    const address = `unix:${joinPath(folder, "mr.sock")}`;
    const child = spawnCoordinator(folder, ["--listen", address, "--nreduce", "3", ...inputs]);
    try {
      const { reader } = await readUntil(child.stderr, /Coordinator listening on/);
      // Nobody reads standard error from here on: the coordinator's next progress line, at the
      // latest the final "done:" one, meets a broken pipe.
      await reader.cancel();
      const workers = [1, 2].map(() =>
        runWorker({ coordinator: address, app: "wc", log: () => {} })
      );
      const status = await child.status;
      assert.equal(status.code, 0);
      assert.ok((await Promise.all(workers)).every((worker) => worker.reason === "done"));
      assert.deepEqual(await readJobOutput(folder), expected);
    } finally {
      killQuietly(child);
      await child.status;
    }
  });
});

Deno.test("a coordinator whose job fails exits 1 with one line naming the task, its input and the app's error", async () => {
  await withTempFolder("dsys-coordinator-", async (folder) => {
    const poisoned = joinPath(folder, "poisoned.txt");
    await Deno.writeTextFile(poisoned, `some words\n${POISON_MARKER}\nmore words\n`);
    const address = `unix:${joinPath(folder, "mr.sock")}`;
    const child = spawnCoordinator(folder, ["--listen", address, "--nreduce", "2", poisoned]);
    try {
      const { reader, text } = await readUntil(child.stderr, /Coordinator listening on/);
      const app = new URL("../mr/testing/poison_app.ts", import.meta.url).pathname;
      const worker = await runWorker({ coordinator: address, app, log: () => {} });
      assert.deepEqual(worker, { reason: "done", mapTasks: 0, reduceTasks: 0, failedTasks: 3 });
      let rest = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += chunk.value;
      }
      assert.equal((await child.status).code, 1, text + rest);
      const lastLine = rest.trimEnd().split("\n").at(-1);
      assert.match(
        lastLine ?? "",
        /^dsys: The job failed: Map task 0 \(input \/.*\/poisoned\.txt, bytes 0–\d+\) failed 3 times; the last: App \/.*poison_app\.ts: map of \/.*poisoned\.txt threw: poisoned record in \/.*poisoned\.txt$/,
      );
    } finally {
      killQuietly(child);
      await child.status;
    }
  });
});

/** Kills `child` unless it has exited already. */
function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // It exited already.
  }
}
