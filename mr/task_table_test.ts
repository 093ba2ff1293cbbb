import assert from "node:assert/strict";
import { ManualClock } from "../util/testing/manual_clock.ts";
import { type Assignment, TaskTable } from "./task_table.ts";

function table(mapCount: number, reduceCount: number, clock = new ManualClock()): TaskTable {
  return new TaskTable({ mapCount, reduceCount, taskTimeoutMs: 10_000, clock });
}

function leased(assignment: Assignment): { kind: string; taskId: number; attempt: number } {
  assert.ok(assignment.kind === "map" || assignment.kind === "reduce", `got ${assignment.kind}`);
  return assignment;
}

Deno.test("TaskTable hands out every map before any reduce, then says done", () => {
  const tasks = table(2, 3);
  const first = leased(tasks.assign("w1"));
  const second = leased(tasks.assign("w2"));
  assert.deepEqual([first.kind, first.taskId, second.kind, second.taskId], ["map", 0, "map", 1]);
  assert.equal(tasks.assign("w3").kind, "wait");
  assert.equal(tasks.complete("map", 0, first.attempt), true);
  assert.equal(tasks.assign("w3").kind, "wait", "reduces must wait for the last map");
  assert.equal(tasks.complete("map", 1, second.attempt), true);
  const reduces = [0, 1, 2].map(() => leased(tasks.assign("w1")));
  assert.deepEqual(reduces.map((task) => [task.kind, task.taskId]), [["reduce", 0], ["reduce", 1], [
    "reduce",
    2,
  ]]);
  for (const task of reduces) {
    assert.equal(tasks.complete("reduce", task.taskId, task.attempt), true);
  }
  assert.equal(tasks.done, true);
  assert.equal(tasks.assign("w1").kind, "done");
  assert.deepEqual(tasks.counts(), {
    mapCount: 2,
    mapsDone: 2,
    reduceCount: 3,
    reducesDone: 3,
    reissued: 0,
    staleReports: 0,
  });
});

Deno.test("TaskTable never re-issues a task while its lease runs", () => {
  const clock = new ManualClock();
  const tasks = table(1, 1, clock);
  leased(tasks.assign("w1"));
  clock.advance(9_999);
  assert.equal(tasks.assign("w2").kind, "wait");
  assert.equal(tasks.counts().reissued, 0);
});

Deno.test("TaskTable re-issues an expired task and ignores the superseded attempt's report", () => {
  const clock = new ManualClock();
  const tasks = table(1, 1, clock);
  const old = leased(tasks.assign("w1"));
  clock.advance(10_000);
  const fresh = leased(tasks.assign("w2"));
  assert.equal(fresh.taskId, old.taskId);
  assert.notEqual(fresh.attempt, old.attempt);
  assert.equal(tasks.counts().reissued, 1);
  assert.equal(tasks.complete("map", old.taskId, old.attempt), false, "late report must not count");
  assert.equal(tasks.counts().mapsDone, 0);
  assert.equal(tasks.complete("map", fresh.taskId, fresh.attempt), true);
  assert.equal(
    tasks.complete("map", fresh.taskId, fresh.attempt),
    false,
    "a repeat must not count",
  );
  assert.deepEqual([tasks.counts().mapsDone, tasks.counts().staleReports], [1, 2]);
});

Deno.test("TaskTable counts the latest attempt even after its lease ran out", () => {
  const clock = new ManualClock();
  const tasks = table(1, 1, clock);
  const slow = leased(tasks.assign("w1"));
  clock.advance(30_000);
  assert.equal(tasks.complete("map", slow.taskId, slow.attempt), true);
  assert.equal(leased(tasks.assign("w2")).kind, "reduce");
});

Deno.test("TaskTable prefers idle tasks to expired ones", () => {
  const clock = new ManualClock();
  const tasks = table(2, 1, clock);
  leased(tasks.assign("w1"));
  clock.advance(10_000);
  const next = leased(tasks.assign("w2"));
  assert.deepEqual([next.taskId, tasks.counts().reissued], [1, 0]);
  const retry = leased(tasks.assign("w3"));
  assert.deepEqual([retry.taskId, tasks.counts().reissued], [0, 1]);
});

Deno.test("TaskTable rejects reports for unknown or never-issued tasks", () => {
  const tasks = table(1, 2);
  assert.equal(tasks.complete("map", 5, 1), false);
  assert.equal(tasks.complete("reduce", 0, 1), false);
  assert.equal(tasks.complete("map", 0, 1), false);
  assert.equal(tasks.counts().staleReports, 3);
});

Deno.test("TaskTable lists the workers holding live leases", () => {
  const clock = new ManualClock();
  const tasks = table(2, 1, clock);
  tasks.assign("w1");
  clock.advance(5_000);
  tasks.assign("w2");
  assert.deepEqual([...tasks.leaseHolders()].sort(), ["w1", "w2"]);
  clock.advance(5_000);
  assert.deepEqual([...tasks.leaseHolders()], ["w2"]);
});

Deno.test("TaskTable refuses impossible sizes with a message", () => {
  assert.throws(() => table(0, 1), /Cannot plan 0 map tasks/);
  assert.throws(() => table(1, 0), /Cannot plan 0 reduce tasks/);
});
