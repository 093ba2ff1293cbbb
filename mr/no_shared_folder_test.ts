/**
 * Jobs without a shared folder, as real processes: workers that cannot see the coordinator's
 * folder or each other's, and a worker killed with -9 after its maps finished.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Child, ChildGroup, waitUntilListening } from "../util/child_process.ts";
import { writeCorpus } from "./corpus.ts";
import { joinPath, readJobOutput } from "./job_files.ts";
import { runSequential } from "./sequential.ts";
import { withTempFolder } from "./testing/temp_folder.ts";

const SLOW_REDUCE_APP = fileURLToPath(new URL("./testing/slow_reduce_wc.ts", import.meta.url));
const LISTEN_TIMEOUT_MS = 30_000;
const JOB_TIMEOUT_MS = 120_000;
const POLL_MS = 20;

/** Whether this process may make mount namespaces (root, with `unshare` installed). */
function canUnshare(): boolean {
  try {
    const probe = new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return probe.success;
  } catch {
    return false;
  }
}

/** A job's folders: `job` (the coordinator's inputs and outputs), `expected` (sequential's). */
async function prepare(root: string): Promise<{ inputs: string[]; expected: string[] }> {
  for (const name of ["job", "expected", "private"]) await Deno.mkdir(joinPath(root, name));
  const names = await writeCorpus(joinPath(root, "job"), {
    seed: 23,
    wordsPerFile: 4_000,
    fileCount: 4,
  });
  const inputs = names.map((name) => joinPath(root, `job/${name}`));
  await runSequential({ app: "wc", inputFiles: inputs, outputDir: joinPath(root, "expected") });
  return { inputs: names, expected: await readJobOutput(joinPath(root, "expected")) };
}

/** Waits for `child` to exit within `timeoutMs` and returns its exit code and output. */
async function exitOf(child: Child, timeoutMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${child.args[0]} ran over ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([child.exited, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the coordinator of an rpc-transfer job in `root/job`, listening in `root`. */
async function startCoordinator(
  group: ChildGroup,
  root: string,
  inputs: string[],
  flags: string[],
) {
  const address = `unix:${joinPath(root, "mr.sock")}`;
  const coordinator = group.spawn(
    [
      "coordinator",
      "--transfer",
      "rpc",
      "--listen",
      address,
      "--nreduce",
      "3",
      ...flags,
      ...inputs,
    ],
    { cwd: joinPath(root, "job") },
  );
  await waitUntilListening(coordinator, address, LISTEN_TIMEOUT_MS);
  return { coordinator, address };
}

Deno.test({
  name:
    "workers that see neither the coordinator's folder nor each other's give sequential's output",
  ignore: !canUnshare(),
  async fn() {
    await withTempFolder("dsys-mr-nofs-", async (root) => {
      const { inputs, expected } = await prepare(root);
      const group = new ChildGroup();
      try {
        const { coordinator, address } = await startCoordinator(group, root, inputs, [
          "--split-size",
          "8KiB",
        ]);
        // Each worker runs in its own mount namespace, with fresh empty file systems over the
        // job's folder and over `private`, its work folder: no worker sees the inputs, the
        // outputs, or another worker's map output.
        const hide = (argv: readonly string[]) => [
          "unshare",
          "-m",
          "--propagation",
          "private",
          "sh",
          "-c",
          'mount -t tmpfs tmpfs "$1" && mount -t tmpfs tmpfs "$2" && shift 2 && exec "$@"',
          "sh",
          joinPath(root, "job"),
          joinPath(root, "private"),
          ...argv,
        ];
        const workers = [1, 2].map(() =>
          group.spawn(
            ["worker", "--coordinator", address, "--work-dir", joinPath(root, "private"), "wc"],
            { cwd: root, wrap: hide },
          )
        );
        const exit = await exitOf(coordinator, JOB_TIMEOUT_MS);
        assert.equal(exit.code, 0, exit.output);
        for (const worker of workers) {
          const workerExit = await exitOf(worker, JOB_TIMEOUT_MS);
          assert.equal(workerExit.code, 0, workerExit.output);
        }
        assert.deepEqual(await readJobOutput(joinPath(root, "job")), expected);
        const jobFiles = [...Deno.readDirSync(joinPath(root, "job"))].map((entry) => entry.name);
        assert.ok(!jobFiles.some((name) => /^mr-\d+-\d+$/.test(name)), "no map output here");
        assert.deepEqual([...Deno.readDirSync(joinPath(root, "private"))], [], "all private");
      } finally {
        await group.killAll();
      }
    });
  },
});

Deno.test("a worker killed -9 after its maps finished: the maps run again and the output is whole", async () => {
  await withTempFolder("dsys-mr-lost-", async (root) => {
    const { inputs, expected } = await prepare(root);
    const group = new ChildGroup();
    try {
      const { coordinator, address } = await startCoordinator(group, root, inputs, [
        "--task-timeout",
        "2",
      ]);
      const marker = joinPath(root, "first-worker-reduces");
      // The first worker alone runs every map, then takes a reduce and is held inside it: every
      // map output lives only with it when it is killed.
      const first = group.spawn(
        [
          "worker",
          "--coordinator",
          address,
          "--work-dir",
          joinPath(root, "private"),
          SLOW_REDUCE_APP,
        ],
        { cwd: root, env: { DSYS_TEST_REDUCE_MARKER: marker } },
      );
      for (let poll = 0; !(await exists(marker)); poll++) {
        assert.ok(poll * POLL_MS < JOB_TIMEOUT_MS, "the first worker never reached a reduce");
        if (first.hasExited) assert.fail(`The first worker exited: ${(await first.exited).output}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      await first.kill("SIGKILL");
      const second = group.spawn(
        ["worker", "--coordinator", address, SLOW_REDUCE_APP],
        { cwd: root },
      );
      const exit = await exitOf(coordinator, JOB_TIMEOUT_MS);
      assert.equal(exit.code, 0, exit.output);
      assert.match(exit.output, /Map tasks 0, 1, 2, 3 run again: their output at .* is lost/);
      assert.equal((await exitOf(second, JOB_TIMEOUT_MS)).code, 0);
      assert.deepEqual(await readJobOutput(joinPath(root, "job")), expected);
    } finally {
      await group.killAll();
    }
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
