import assert from "node:assert/strict";
import {
  addTaskBytes,
  bytesPerSecond,
  type CoordinatorStatus,
  formatCoordinatorStatus,
  noBytes,
  parseCoordinatorStatus,
  STATUS_WORKERS_MAX,
} from "./job_status.ts";

const failed: CoordinatorStatus = {
  kind: "mr-coordinator",
  state: "failed",
  failure: "Map task 0 (input a.txt, bytes 0–9) failed 3 times; the last: boom",
  elapsedMs: 1_500,
  maps: { idle: 1, leased: 0, done: 0 },
  reduces: { idle: 2, leased: 0, done: 0 },
  reissued: 0,
  failedAttempts: 3,
  workersTotal: 1,
  workers: [{ id: "w1", lastHeardMsAgo: 20, tasksRun: 0, tasksFailed: 3 }],
  bytes: noBytes(),
  bytesPerS: noBytes(),
  counters: {},
};

Deno.test("a coordinator status survives the check unchanged, and a bad one is refused naming the field", () => {
  assert.deepEqual(parseCoordinatorStatus(structuredClone(failed)), failed);
  const bad = (change: Record<string, unknown>) => ({ ...structuredClone(failed), ...change });
  assert.throws(
    () => parseCoordinatorStatus(bad({ failure: null })),
    /Bad coordinator status: failure must be a non-empty string/,
  );
  assert.throws(
    () => parseCoordinatorStatus(bad({ state: "done" })),
    /Bad coordinator status: a done job has no failure/,
  );
  assert.throws(
    () => parseCoordinatorStatus(bad({ maps: { idle: 1, leased: -1, done: 0 } })),
    /Bad coordinator status's maps: leased must be a whole number ≥ 0/,
  );
  const many = Array.from({ length: STATUS_WORKERS_MAX + 1 }, () => failed.workers[0]);
  assert.throws(
    () => parseCoordinatorStatus(bad({ workers: many })),
    /workers must list at most 100 workers/,
  );
});

Deno.test("a map's bytes count as input read and intermediate written, a reduce's as intermediate read and output written; rates are per second", () => {
  const totals = noBytes();
  addTaskBytes(totals, "map", 3_000, 1_000);
  addTaskBytes(totals, "reduce", 1_000, 500);
  assert.deepEqual(totals, {
    inputRead: 3_000,
    intermediateWritten: 1_000,
    intermediateRead: 1_000,
    outputWritten: 500,
  });
  assert.deepEqual(bytesPerSecond(totals, 2_000), {
    inputRead: 1_500,
    intermediateWritten: 500,
    intermediateRead: 500,
    outputWritten: 250,
  });
  assert.deepEqual(bytesPerSecond(totals, 0), noBytes());
});

Deno.test("a failed job's status table says why on its first line", () => {
  const table = formatCoordinatorStatus("unix:/tmp/mr.sock", failed).split("\n");
  assert.equal(
    table[0],
    "coordinator unix:/tmp/mr.sock: failed after 1.5 s: Map task 0 (input a.txt, bytes 0–9) failed 3 times; the last: boom",
  );
  assert.ok(table.includes("re-issued 0 · failed attempts 3"), table.join("\n"));
  assert.ok(!table.includes("counter  value"), "no counters, no counter table");
});
