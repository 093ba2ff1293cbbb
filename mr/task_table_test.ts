import assert from "node:assert/strict";
import { ManualClock } from "../util/testing/manual_clock.ts";
import { type Assignment, TaskTable, type TaskTableOptions } from "./task_table.ts";

function table(
  mapCount: number,
  reduceCount: number,
  clock = new ManualClock(),
  options: Partial<TaskTableOptions> = {},
): TaskTable {
  return new TaskTable({ mapCount, reduceCount, taskTimeoutMs: 10_000, clock, ...options });
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
    backups: 0,
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

/**
 * Leases every map of `tasks` to workers m0, m1, … at time 0 and completes all but the last
 * `left` after 100 ms, so the maps' mean accepted attempt is 100 ms. Returns the attempts.
 */
function leaveStragglers(tasks: TaskTable, clock: ManualClock, mapCount: number, left: number) {
  const attempts = Array.from(
    { length: mapCount },
    (_, index) => leased(tasks.assign(`m${index}`)),
  );
  clock.advance(100);
  for (const task of attempts.slice(0, mapCount - left)) {
    assert.equal(tasks.complete("map", task.taskId, task.attempt), true);
  }
  return attempts;
}

Deno.test("TaskTable issues a backup only near the end of a phase, for a task running long", () => {
  const clock = new ManualClock();
  const tasks = table(10, 1, clock);
  const attempts = leaveStragglers(tasks, clock, 10, 2);
  assert.equal(tasks.assign("idle").kind, "wait", "two of ten leased is not near the end");
  assert.equal(tasks.complete("map", 8, attempts[8].attempt), true);
  clock.advance(100);
  assert.equal(tasks.assign("idle").kind, "wait", "200 ms is not over twice the 100 ms mean");
  clock.advance(1);
  assert.equal(tasks.assign("m9").kind, "wait", "never a backup of one's own task");
  const backup = tasks.assign("idle");
  assert.deepEqual(backup, { kind: "map", taskId: 9, attempt: 11, reissued: false, backup: true });
  assert.equal(tasks.assign("other").kind, "wait", "one backup per task at a time");
  assert.deepEqual([tasks.counts().backups, tasks.counts().reissued], [1, 0]);
  assert.deepEqual([...tasks.leaseHolders()].sort(), ["idle", "m9"]);
});

Deno.test("TaskTable issues no backup before a task of the phase was accepted, or when disabled", () => {
  const clock = new ManualClock();
  const fresh = table(1, 1, clock);
  leased(fresh.assign("w1"));
  clock.advance(9_999);
  assert.equal(fresh.assign("w2").kind, "wait", "no mean to compare with yet");
  const disabled = table(10, 1, clock, { backupTasks: false });
  leaveStragglers(disabled, clock, 10, 1);
  clock.advance(5_000);
  assert.equal(disabled.assign("idle").kind, "wait");
  assert.equal(disabled.counts().backups, 0);
});

Deno.test("TaskTable backs up the task leased longest ago", () => {
  const clock = new ManualClock();
  const tasks = table(20, 1, clock);
  const attempts = Array.from({ length: 20 }, (_, index) => leased(tasks.assign(`m${index}`)));
  clock.advance(100);
  for (const task of attempts.slice(0, 18)) tasks.complete("map", task.taskId, task.attempt);
  // Map 18 starts over: its attempt expired and another worker took it, later than map 19's.
  clock.advance(10_000);
  assert.equal(leased(tasks.assign("late")).taskId, 18);
  leased(tasks.assign("later"));
  clock.advance(1_000);
  assert.deepEqual(leased(tasks.assign("idle")).taskId, 18, "map 19's second lease is newer");
  assert.equal(tasks.counts().reissued, 2);
});

Deno.test("TaskTable: the first report of a live attempt wins, the other is stale, counts once", () => {
  for (const winner of ["backup", "first"] as const) {
    const clock = new ManualClock();
    const tasks = table(10, 1, clock);
    const first = leaveStragglers(tasks, clock, 10, 1)[9];
    clock.advance(1_000);
    const backup = leased(tasks.assign("idle"));
    const [won, lost] = winner === "backup" ? [backup, first] : [first, backup];
    assert.equal(tasks.complete("map", 9, won.attempt, `at ${winner}`, { records: 5 }), true);
    assert.equal(tasks.complete("map", 9, lost.attempt, "at the loser", { records: 5 }), false);
    assert.deepEqual(tasks.counters(), { records: 5 }, `${winner} wins`);
    assert.equal(tasks.detailOf("map", 9), `at ${winner}`);
    assert.deepEqual([tasks.counts().mapsDone, tasks.counts().staleReports], [10, 1]);
    assert.equal(leased(tasks.assign("idle")).kind, "reduce");
  }
});

Deno.test("TaskTable re-issues a task whose first and backup leases both ran out", () => {
  const clock = new ManualClock();
  const tasks = table(10, 1, clock);
  const first = leaveStragglers(tasks, clock, 10, 1)[9];
  clock.advance(1_000);
  const backup = leased(tasks.assign("idle"));
  clock.advance(9_000);
  assert.equal(tasks.assign("w").kind, "wait", "the backup's lease still runs");
  clock.advance(1_000);
  const retry = leased(tasks.assign("w"));
  assert.deepEqual([retry.taskId, tasks.counts().reissued], [9, 1]);
  assert.equal(tasks.complete("map", 9, first.attempt), false);
  assert.equal(tasks.complete("map", 9, backup.attempt), false);
  assert.equal(tasks.complete("map", 9, retry.attempt), true);
});

Deno.test("TaskTable reopens a done map whose output was lost; running reduces may finish", () => {
  const clock = new ManualClock();
  const tasks = table(2, 2, clock);
  const maps = [0, 1].map(() => leased(tasks.assign("w1")));
  for (const map of maps) {
    assert.equal(
      tasks.complete("map", map.taskId, map.attempt, `w1 has map ${map.taskId}`, { n: 1 }),
      true,
    );
  }
  const reduce = leased(tasks.assign("w2"));
  assert.equal(tasks.reopenMap(1), true);
  assert.equal(tasks.reopenMap(1), false, "an idle map cannot be reopened");
  assert.equal(tasks.detailOf("map", 1), undefined);
  assert.equal(tasks.detailOf("map", 0), "w1 has map 0");
  assert.equal(tasks.counts().mapsDone, 1);
  const redo = leased(tasks.assign("w3"));
  assert.deepEqual([redo.kind, redo.taskId], ["map", 1]);
  assert.equal(tasks.assign("w4").kind, "wait", "no reduce while a map is not done");
  assert.equal(tasks.complete("reduce", reduce.taskId, reduce.attempt), true);
  assert.equal(tasks.complete("map", 1, redo.attempt, "w3 has map 1", { n: 1 }), true);
  assert.deepEqual(tasks.counters(), { n: 2 }, "the re-run map is not counted again");
  assert.equal(tasks.detailOf("map", 1), "w3 has map 1");
  assert.deepEqual([leased(tasks.assign("w4")).kind, tasks.counts().reducesDone], ["reduce", 1]);
});

Deno.test("TaskTable resumes from its finished tasks: done stays done, leased becomes idle", () => {
  const clock = new ManualClock();
  const tasks = table(3, 2, clock);
  const maps = [0, 1, 2].map(() => leased(tasks.assign("w1")));
  tasks.complete("map", 0, maps[0].attempt, "here", { n: 1 });
  tasks.complete("map", 2, maps[2].attempt, undefined, { n: 2 });
  tasks.complete("map", 1, maps[1].attempt, undefined, { n: 4 });
  tasks.reopenMap(1);
  const finished = tasks.finished();
  assert.deepEqual(finished, {
    maps: [{ taskId: 0, detail: "here" }, { taskId: 2 }],
    reduces: [],
    reopenedMaps: [1],
    counters: { n: 7 },
  });
  const resumed = table(3, 2, clock, { finished });
  assert.deepEqual(resumed.finished(), finished);
  assert.equal(resumed.detailOf("map", 0), "here");
  const next = leased(resumed.assign("w2"));
  assert.deepEqual([next.kind, next.taskId], ["map", 1]);
  assert.equal(resumed.assign("w3").kind, "wait");
  resumed.complete("map", 1, next.attempt, undefined, { n: 4 });
  assert.deepEqual(resumed.counters(), { n: 7 }, "a reopened map's counts are not taken twice");
  assert.throws(
    () => table(2, 2, clock, { finished }),
    /Cannot resume map task 2: the job has 2, or it is listed twice/,
  );
});
