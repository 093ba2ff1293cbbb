/**
 * Backup tasks and coordinator restart with real `dsys coordinator` and `dsys worker` processes:
 * a straggler slowed on purpose, and a coordinator killed with SIGKILL mid-job and restarted
 * from its checkpoint. Both tests are in one file so that they do not run at the same time, as
 * the straggler test measures wall time.
 */
import assert from "node:assert/strict";
import { type Child, ChildGroup, waitUntilListening } from "../util/child_process.ts";
import { writeCorpus } from "./corpus.ts";
import { joinPath, readJobOutput } from "./job_files.ts";
import { runSequential } from "./sequential.ts";
import { readCheckpoint } from "../mr_failures/checkpoint.ts";
import { DEFAULT_SPLIT_BYTES } from "../mr_data/input_split.ts";
import { withTempFolder } from "./testing/temp_folder.ts";
import type { FinishedTasks } from "./task_table.ts";

/** The steerable word count, by absolute path, as `dsys worker` loads it. */
const APP = decodeURIComponent(new URL("./testing/steered_app.ts", import.meta.url).pathname);
/** How long a Deno process may take to start listening on a loaded machine. */
const LISTEN_TIMEOUT_MS = 30_000;
/** How often a test looks for a file a process writes. */
const POLL_MS = 20;
/** Longest a test waits for such a file. */
const WAIT_MAX_MS = 30_000;
/**
 * The straggler's delay per map: large against a job of a few hundred milliseconds and against
 * process start-up on a loaded machine, so that the speed-up is far from the 0.6 limit.
 */
const STRAGGLER_DELAY_MS = 4_000;

/** Polls `condition` every {@linkcode POLL_MS} until it holds; fails after {@linkcode WAIT_MAX_MS}. */
async function waitFor(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  for (let waitedMs = 0; waitedMs < WAIT_MAX_MS; waitedMs += POLL_MS) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  assert.fail(`Gave up after ${WAIT_MAX_MS} ms waiting for ${what}`);
}

function names(folder: string): string[] {
  return [...Deno.readDirSync(folder)].map((entry) => entry.name).sort();
}

/** Writes `count` corpus files into `folder/corpus` and returns their absolute paths. */
async function corpus(folder: string, count: number): Promise<string[]> {
  await Deno.mkdir(joinPath(folder, "corpus"));
  const files = await writeCorpus(joinPath(folder, "corpus"), {
    seed: 11,
    wordsPerFile: 3_000,
    fileCount: count,
  });
  return files.map((name) => joinPath(folder, `corpus/${name}`));
}

/** The sorted output lines of `dsys sequential` of the app on `inputs`, run in this process. */
async function sequentialOutput(folder: string, inputs: readonly string[]): Promise<string[]> {
  const outputDir = joinPath(folder, "sequential");
  await Deno.mkdir(outputDir);
  await runSequential({ app: APP, inputFiles: inputs, outputDir });
  return await readJobOutput(outputDir);
}

/** Starts `dsys coordinator` in `runFolder` listening on its socket, and waits until it listens. */
async function startCoordinator(
  group: ChildGroup,
  runFolder: string,
  flags: readonly string[],
  inputs: readonly string[],
): Promise<{ coordinator: Child; address: string }> {
  const address = `unix:${joinPath(runFolder, "mr.sock")}`;
  const args = ["coordinator", "--listen", address, "--nreduce", "2", ...flags, ...inputs];
  const coordinator = group.spawn(args, { cwd: runFolder });
  await waitUntilListening(coordinator, address, LISTEN_TIMEOUT_MS);
  return { coordinator, address };
}

function startWorker(
  group: ChildGroup,
  runFolder: string,
  address: string,
  env: Record<string, string>,
): Child {
  return group.spawn(["worker", "--coordinator", address, APP], { cwd: runFolder, env });
}

async function expectCleanExit(child: Child): Promise<string> {
  const exit = await child.exited;
  assert.equal(exit.code, 0, `${child.args.join(" ")} exited with ${exit.code}:\n${exit.output}`);
  return exit.output;
}

/**
 * Runs a job of `inputs` in a fresh folder: the coordinator, then a worker slowed by
 * {@linkcode STRAGGLER_DELAY_MS} per map, then — once the straggler holds a map — a normal
 * worker. Returns the output, the coordinator's log, the job's time as the coordinator reports
 * it (start to the last output in place), and the wall time from listening to its exit.
 */
async function stragglerJob(folder: string, inputs: readonly string[], backups: boolean) {
  const runFolder = joinPath(folder, backups ? "with-backups" : "without-backups");
  const markers = joinPath(runFolder, "markers");
  await Deno.mkdir(markers, { recursive: true });
  const group = new ChildGroup();
  try {
    const flags = backups ? [] : ["--no-backup-tasks"];
    const { coordinator, address } = await startCoordinator(group, runFolder, flags, inputs);
    const startMs = performance.now();
    const straggler = startWorker(group, runFolder, address, {
      DSYS_TEST_MAP_DELAY_MS: String(STRAGGLER_DELAY_MS),
      DSYS_TEST_MAP_MARKERS: markers,
    });
    await waitFor("the straggler's first map", () => names(markers).length > 0);
    const normal = startWorker(group, runFolder, address, {});
    const log = await expectCleanExit(coordinator);
    const wallMs = performance.now() - startMs;
    // Both are told to exit: the coordinator waits for the straggler's losing attempt to report.
    await expectCleanExit(normal);
    await expectCleanExit(straggler);
    // The final progress line gives the time from the coordinator's start to the job's end.
    const done = log.match(/progress: done: .* · (\d+\.\d) s · /);
    assert.ok(done !== null, `the coordinator did not say when the job was done:\n${log}`);
    return { output: await readJobOutput(runFolder), log, doneMs: Number(done[1]) * 1000, wallMs };
  } finally {
    await group.killAll();
  }
}

Deno.test("a straggler: the job with backup tasks takes at most 0.6 of the time without", async () => {
  await withTempFolder("dsys-mr-straggler-", async (folder) => {
    const inputs = await corpus(folder, 6);
    const expected = await sequentialOutput(folder, inputs);
    const without = await stragglerJob(folder, inputs, false);
    const withBackups = await stragglerJob(folder, inputs, true);
    assert.deepEqual(without.output, expected);
    assert.deepEqual(withBackups.output, expected);
    assert.doesNotMatch(without.log, /Backup of/);
    assert.match(withBackups.log, /Backup of map task 0 to worker-\d+-\w+: it runs long/);
    // The job's time ends with its last output; the coordinator process then waits for the
    // straggler's lost attempt to report, so that it can tell it to exit.
    const ratio = withBackups.doneMs / without.doneMs;
    const figures = `with backups ${withBackups.doneMs} ms, without ${without.doneMs} ms ` +
      `(coordinator exits after ${Math.round(withBackups.wallMs)} and ${
        Math.round(without.wallMs)
      } ms)`;
    console.error(`straggler: ${figures} (${ratio.toFixed(2)})`);
    assert.ok(ratio <= 0.6, `${figures}: ${ratio.toFixed(2)} of the time, not at most 0.6`);
  });
});

/** The map task ids a checkpoint lists as done. */
function doneMaps(finished: FinishedTasks | null): number[] {
  return (finished?.maps ?? []).map((task) => task.taskId);
}

Deno.test("a coordinator killed with SIGKILL resumes from --state without redoing finished maps", async () => {
  await withTempFolder("dsys-mr-restart-", async (folder) => {
    const files = await corpus(folder, 6);
    // The last two inputs are gated: their maps wait until the test opens the gate, so the
    // job is certainly unfinished when the coordinator is killed.
    const gated = [0, 1].map((index) => joinPath(folder, `corpus/gated-${index}.txt`));
    for (const [index, path] of gated.entries()) await Deno.rename(files[4 + index], path);
    const inputs = [...files.slice(0, 4), ...gated];
    const expected = await sequentialOutput(folder, inputs);
    const runFolder = joinPath(folder, "run");
    const [before, after] = [joinPath(folder, "before"), joinPath(folder, "after")];
    for (const path of [runFolder, before, after]) await Deno.mkdir(path);
    const gate = joinPath(folder, "gate");
    const statePath = joinPath(runFolder, "job.state");
    const job = {
      inputs: await Promise.all(
        inputs.map(async (name) => ({
          name,
          path: await Deno.realPath(name),
          sizeBytes: (await Deno.stat(name)).size,
        })),
      ),
      splitSizeBytes: DEFAULT_SPLIT_BYTES,
      reduceCount: 2,
      transfer: "shared" as const,
    };
    const group = new ChildGroup();
    try {
      const flags = ["--state", "job.state"];
      const first = await startCoordinator(group, runFolder, flags, inputs);
      const env = { DSYS_TEST_MAP_MARKERS: before, DSYS_TEST_MAP_GATE: gate };
      const oldWorkers = [1, 2].map(() => startWorker(group, runFolder, first.address, env));
      await waitFor("four maps done in the checkpoint", () => {
        return doneMaps(readCheckpoint(statePath, job)).length === 4;
      });
      await first.coordinator.kill("SIGKILL");
      for (const worker of oldWorkers) await worker.kill("SIGKILL");
      const finishedBefore = readCheckpoint(statePath, job);
      assert.deepEqual(doneMaps(finishedBefore), [0, 1, 2, 3]);
      assert.deepEqual(finishedBefore?.reduces, []);

      await Deno.writeTextFile(gate, "");
      const second = await startCoordinator(group, runFolder, flags, inputs);
      const freshEnv = { DSYS_TEST_MAP_MARKERS: after, DSYS_TEST_MAP_GATE: gate };
      const workers = [1, 2].map(() => startWorker(group, runFolder, second.address, freshEnv));
      const log = await expectCleanExit(second.coordinator);
      for (const worker of workers) await expectCleanExit(worker);
      assert.match(log, /Resumed from job\.state: 4\/6 maps and 0\/2 reduces done/);
      assert.deepEqual(await readJobOutput(runFolder), expected);
      // Only the two maps not done before the kill ran after it.
      const mappedAfter = new Set(
        names(after).map((name) => decodeURIComponent(name.split(" ")[1])),
      );
      assert.deepEqual([...mappedAfter].sort(), gated);
      const finishedAfter = readCheckpoint(statePath, job);
      assert.deepEqual(doneMaps(finishedAfter), [0, 1, 2, 3, 4, 5]);
      assert.equal(finishedAfter?.reduces.length, 2, "the state file stays as the job's record");

      // The same state with another job's settings is refused in one line.
      const foreign = group.spawn([
        "coordinator",
        "--listen",
        second.address,
        "--nreduce",
        "3",
        "--state",
        "job.state",
        ...inputs,
      ], { cwd: runFolder });
      const refusal = await foreign.exited;
      assert.notEqual(refusal.code, 0);
      assert.match(refusal.output, /job\.state records another job: 2 reduce tasks there, 3 here/);
    } finally {
      await group.killAll();
    }
  });
});
