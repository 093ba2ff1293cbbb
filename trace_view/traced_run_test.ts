import assert from "node:assert/strict";
import { join } from "node:path";
import { type RunnerOptions, type RunnerSummary, runTests } from "../labs/runner.ts";
import { raftSuite } from "../labs/raft_suite.ts";
import type { LabTest } from "../labs/suite.ts";
import { TraceRecorder } from "./trace_recorder.ts";

const election = raftSuite.filter((test) => test.name === "initial election");
const failing: LabTest = {
  name: "fails outside any simulation",
  part: "trace",
  run: () => Promise.reject(new Error("planted failure")),
};

/** Runs `tests` once at `seed` with the trace options given; returns the counts and lines. */
async function runOnce(
  tests: readonly LabTest[],
  seed: number,
  trace: Pick<RunnerOptions, "tracePath" | "traceFailures">,
): Promise<{ summary: RunnerSummary; lines: string[] }> {
  const lines: string[] = [];
  const print = (line: string) => lines.push(line);
  const summary = await runTests("raft", tests, { count: 1, seed, parallel: 1, print, ...trace });
  return { summary, lines };
}

Deno.test("--trace writes one run's page, with the replay command on it", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "election.html");
  const { summary, lines } = await runOnce(election, 1, { tracePath: path });
  assert.deepEqual(summary, { passed: 1, failed: 0 });
  assert.ok(lines.includes(`    trace: ${path}`), lines.join("\n"));
  const page = await Deno.readTextFile(path);
  assert.match(page, /dsys test raft --run 'Test \\\\\(2A\\\\\): initial election' --seed 1/);
  assert.match(page, /"lanes":\["server-0","server-1","server-2"\]/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--trace refuses more than one run, naming how many", async () => {
  await assert.rejects(
    runTests("raft", election, { count: 2, seed: 1, parallel: 1, tracePath: "x.html" }),
    /Cannot trace 2 runs into x\.html: --trace takes one test and one seed/,
  );
});

Deno.test("a failing run's page is written to a temporary file named beside the replay", async () => {
  const { summary, lines } = await runOnce([failing], 5, { traceFailures: true });
  assert.deepEqual(summary, { passed: 0, failed: 1 });
  const replayAt = lines.findIndex((line) => line.startsWith("    replay: dsys test raft"));
  assert.ok(replayAt >= 0, lines.join("\n"));
  const trace = /^ {4}trace: (.*dsys-trace-raft-5-.*\.html)$/.exec(lines[replayAt + 1]);
  assert.ok(trace !== null, lines.join("\n"));
  const page = await Deno.readTextFile(trace[1]);
  assert.match(page, /"failure":\{"atMs":0,"message":"planted failure"\}/);
  await Deno.remove(trace[1]);
});

Deno.test("without traceFailures a failing run writes no page", async () => {
  const { lines } = await runOnce([failing], 5, {});
  assert.equal(lines.filter((line) => line.includes("trace:")).length, 0, lines.join("\n"));
});

Deno.test("the recorder keeps a log's new tail and its truncation, not the whole log", () => {
  const recorder = new TraceRecorder();
  const log = [0, 1, 1, 2];
  const state = {
    role: "follower",
    term: 2,
    commitIndex: 1,
    appliedIndex: 1,
    snapshotIndex: 0,
    get lastIndex() {
      return log.length - 1;
    },
    termAt: (index: number) => log[index],
  };
  recorder.peer("server-0", state);
  recorder.settled(0);
  log.splice(2, 2, 3);
  recorder.settled(5);
  const rows = recorder.data({ title: "", seed: 0, replay: "" }).rows;
  assert.deepEqual(rows.filter((row) => row[0] === "l"), [
    ["l", 0, 0, 1, [1, 1, 2], 3],
    ["l", 5, 0, 2, [3], 2],
  ]);
});
