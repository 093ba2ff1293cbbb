import assert from "node:assert/strict";
import { assertPromtoolAccepts } from "../observe/testing/promtool.ts";
import { coordinatorMetrics } from "./coordinator_metrics.ts";
import type { CoordinatorStatus } from "./job_status.ts";

function statusOf(reissued: number): CoordinatorStatus {
  return {
    kind: "mr-coordinator",
    state: "running",
    failure: null,
    elapsedMs: 1500,
    maps: { idle: 1, leased: 2, done: 3 },
    reduces: { idle: 4, leased: 0, done: 0 },
    reissued,
    failedAttempts: 1,
    workersTotal: 2,
    workers: [],
    bytes: { inputRead: 100, intermediateWritten: 80, intermediateRead: 0, outputWritten: 0 },
    bytesPerS: { inputRead: 66, intermediateWritten: 53, intermediateRead: 0, outputWritten: 0 },
    counters: {},
  };
}

Deno.test("the coordinator's metrics read its status once per scrape and pass promtool", async () => {
  let scrapes = 0;
  const registry = coordinatorMetrics(() => statusOf(scrapes++));
  const text = registry.text();
  await assertPromtoolAccepts(text);
  const samples = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  assert.deepEqual(samples, [
    'dsys_mr_tasks{kind="map",state="idle"} 1',
    'dsys_mr_tasks{kind="map",state="leased"} 2',
    'dsys_mr_tasks{kind="map",state="done"} 3',
    'dsys_mr_tasks{kind="reduce",state="idle"} 4',
    'dsys_mr_tasks{kind="reduce",state="leased"} 0',
    'dsys_mr_tasks{kind="reduce",state="done"} 0',
    'dsys_mr_job_state{state="running"} 1',
    'dsys_mr_job_state{state="done"} 0',
    'dsys_mr_job_state{state="failed"} 0',
    "dsys_mr_tasks_reissued_total 1",
    "dsys_mr_failed_attempts_total 1",
    "dsys_mr_workers 2",
    'dsys_mr_bytes_total{stage="input_read"} 100',
    'dsys_mr_bytes_total{stage="intermediate_written"} 80',
    'dsys_mr_bytes_total{stage="intermediate_read"} 0',
    'dsys_mr_bytes_total{stage="output_written"} 0',
  ]);
  assert.equal(scrapes, 2, "one status when made, one per scrape");
});
