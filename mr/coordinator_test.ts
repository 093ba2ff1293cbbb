import assert from "node:assert/strict";
import { CoordinatorService, type CoordinatorServiceOptions } from "./coordinator.ts";
import { ManualClock } from "../util/testing/manual_clock.ts";
import type { TaskReply } from "./protocol.ts";
import { REPORT_TASK_METHOD, REQUEST_TASK_METHOD } from "./protocol.ts";
import { withTempFolder } from "./testing/temp_folder.ts";

function service(
  clock: ManualClock,
  log: string[] = [],
  options: Partial<CoordinatorServiceOptions> = {},
): CoordinatorService {
  return new CoordinatorService({
    splits: [
      { name: "a.txt", path: "/data/a.txt", offset: 0, length: 100, fileSizeBytes: 100 },
      { name: "../b.txt", path: "/b.txt", offset: 0, length: 7 },
    ],
    outputFolder: "/out",
    reduceCount: 1,
    taskTimeoutMs: 10_000,
    clock,
    log: (line) => log.push(line),
    ...options,
  });
}

function taskOf(reply: TaskReply): { kind: "map" | "reduce"; taskId: number; attempt: number } {
  assert.ok(reply.kind === "map" || reply.kind === "reduce", `expected a task, got ${reply.kind}`);
  return reply;
}

Deno.test("CoordinatorService sends the name as given and the absolute path", () => {
  const coordinator = service(new ManualClock());
  const reply = coordinator.requestTask({ workerId: "w1" });
  assert.deepEqual(reply, {
    kind: "map",
    taskId: 0,
    attempt: 1,
    inputName: "a.txt",
    inputPath: "/data/a.txt",
    offset: 0,
    length: 100,
    reduceCount: 1,
    outputFolder: "/out",
    transfer: "shared",
    inputSizeBytes: 100,
  });
});

Deno.test("CoordinatorService re-issues a silent worker's task and logs it", () => {
  const clock = new ManualClock();
  const log: string[] = [];
  const coordinator = service(clock, log);
  const first = taskOf(coordinator.requestTask({ workerId: "w1" }));
  taskOf(coordinator.requestTask({ workerId: "w1" }));
  assert.equal(coordinator.requestTask({ workerId: "w2" }).kind, "wait");
  clock.advance(10_000);
  const retry = taskOf(coordinator.requestTask({ workerId: "w2" }));
  assert.equal(retry.taskId, first.taskId);
  assert.deepEqual(log, ["Re-issued map task 0 to w2: no report within 10 s"]);
  const late = {
    workerId: "w1",
    kind: "map" as const,
    taskId: first.taskId,
    attempt: first.attempt,
  };
  assert.deepEqual(coordinator.reportTask({ ...late, counters: { words: 5 } }), {
    accepted: false,
  });
  assert.equal(coordinator.status().mapsDone, 0);
  assert.equal(coordinator.status().reissued, 1);
  // Counts come only with the attempt the coordinator accepts, once.
  const current = { ...late, workerId: "w2", attempt: retry.attempt, counters: { words: 7 } };
  assert.deepEqual(coordinator.reportTask(current), { accepted: true });
  assert.deepEqual(coordinator.reportTask(current), { accepted: false });
  assert.deepEqual(coordinator.counters(), { words: 7 });
});

/** Runs both maps and the reduce, all reported by `w1`, and returns the service. */
function finishJob(clock: ManualClock): CoordinatorService {
  const coordinator = service(clock);
  const maps = [0, 1].map(() => taskOf(coordinator.requestTask({ workerId: "w1" })));
  for (const map of maps) {
    const report = {
      workerId: "w1",
      kind: "map" as const,
      taskId: map.taskId,
      attempt: map.attempt,
    };
    assert.deepEqual(coordinator.reportTask(report), { accepted: true });
  }
  const reduce = taskOf(coordinator.requestTask({ workerId: "w1" }));
  assert.equal(reduce.kind, "reduce");
  assert.equal(coordinator.mayStop(2_000), false, "the job is not done yet");
  const report = { workerId: "w1", kind: "reduce" as const, taskId: 0, attempt: reduce.attempt };
  assert.deepEqual(coordinator.reportTask(report), { accepted: true });
  assert.equal(coordinator.done, true);
  return coordinator;
}

Deno.test("CoordinatorService stops once every present worker was told to exit", () => {
  const clock = new ManualClock();
  const coordinator = finishJob(clock);
  assert.equal(coordinator.requestTask({ workerId: "w2" }).kind, "exit");
  assert.equal(coordinator.mayStop(2_000), false, "w1 was heard from and not yet told");
  assert.deepEqual(coordinator.requestTask({ workerId: "w1" }), { kind: "exit" });
  assert.equal(coordinator.mayStop(2_000), true);
  assert.equal(coordinator.status().workers, 0);
});

Deno.test("CoordinatorService stops after the grace period even if a worker never asks", () => {
  const clock = new ManualClock();
  const coordinator = finishJob(clock);
  clock.advance(1_999);
  assert.equal(coordinator.mayStop(2_000), false);
  clock.advance(1);
  assert.equal(coordinator.mayStop(2_000), true);
});

Deno.test("CoordinatorService handlers check their arguments", () => {
  const handlers = service(new ManualClock()).handlers;
  assert.throws(() => handlers[REQUEST_TASK_METHOD]({}), /Bad task request: workerId/);
  assert.throws(
    () => handlers[REPORT_TASK_METHOD]({ workerId: "w", kind: "sort", taskId: 0, attempt: 1 }),
    /Bad task report: kind must be "map" or "reduce"/,
  );
  assert.deepEqual(
    handlers[REPORT_TASK_METHOD]({ workerId: "w", kind: "map", taskId: 0, attempt: 9 }),
    {
      accepted: false,
    },
  );
});

function skippingService(clock: ManualClock, log: string[], skipBadRecords: boolean) {
  return new CoordinatorService({
    splits: [{ name: "a.txt", path: "/data/a.txt", offset: 100, length: 50 }],
    outputFolder: "/out",
    reduceCount: 1,
    taskTimeoutMs: 10_000,
    skipBadRecords,
    clock,
    log: (line) => log.push(line),
  });
}

/** Hands `workerId` a task and reports its attempt as failed with `error`. */
function failNext(coordinator: CoordinatorService, workerId: string, error: string) {
  const task = taskOf(coordinator.requestTask({ workerId }));
  const reply = coordinator.reportFailure({ workerId, ...task, error });
  return { task, reply };
}

Deno.test("CoordinatorService hands a failed task out again at once, and fails the job after three failed attempts", () => {
  const clock = new ManualClock();
  const log: string[] = [];
  const coordinator = skippingService(clock, log, false);
  const first = failNext(coordinator, "w1", "App x: map of a.txt threw: bad line");
  assert.deepEqual(first.reply, { accepted: true });
  // No lease to wait for: the next request gets the same task, as a new attempt.
  const second = failNext(coordinator, "w2", "App x: map of a.txt threw: bad line");
  assert.equal(second.task.taskId, first.task.taskId);
  assert.notEqual(second.task.attempt, first.task.attempt);
  assert.equal(coordinator.failure, null);
  assert.equal(coordinator.mayStop(2_000), false);
  const third = taskOf(coordinator.requestTask({ workerId: "w1" }));
  assert.equal((third as { skipBadRecords?: boolean }).skipBadRecords, undefined, "not allowed");
  // A repeated or superseded attempt's failure changes nothing.
  const stale = { workerId: "w1", ...first.task, error: "late" };
  assert.deepEqual(coordinator.reportFailure(stale), { accepted: false });
  coordinator.reportFailure({ workerId: "w1", ...third, error: "App x: map of a.txt threw: bad" });
  assert.equal(
    coordinator.failure,
    "Map task 0 (input a.txt, bytes 100–149) failed 3 times; the last: App x: map of a.txt threw: bad",
  );
  assert.deepEqual(log, [
    "Map task 0 (input a.txt, bytes 100–149) failed on w1 (failure 1 of 3): App x: map of a.txt threw: bad line; handing it out again",
    "Map task 0 (input a.txt, bytes 100–149) failed on w2 (failure 2 of 3): App x: map of a.txt threw: bad line; handing it out again",
    "Map task 0 (input a.txt, bytes 100–149) failed on w1 (failure 3 of 3): App x: map of a.txt threw: bad; the job fails",
  ]);
  assert.equal(coordinator.status().failures, 3);
  assert.equal(coordinator.coordinatorStatus().state, "failed");
  // Workers asking now are told to exit; the coordinator stops once the present ones were.
  assert.deepEqual(coordinator.requestTask({ workerId: "w2" }), { kind: "exit" });
  assert.equal(coordinator.mayStop(2_000), false, "w1 was heard from and not yet told");
  assert.deepEqual(coordinator.requestTask({ workerId: "w1" }), { kind: "exit" });
  assert.equal(coordinator.mayStop(2_000), true);
});

Deno.test("CoordinatorService runs a map task that failed twice in skip mode when the job allows it", async () => {
  const log: string[] = [];
  const coordinator = skippingService(new ManualClock(), log, true);
  const first = failNext(coordinator, "w1", "boom");
  assert.equal((first.task as { skipBadRecords?: boolean }).skipBadRecords, undefined);
  failNext(coordinator, "w1", "boom");
  assert.match(log[1], /failure 2 of 3\): boom; handing it out again, skipping bad records$/);
  const third = coordinator.requestTask({ workerId: "w1" });
  assert.equal((third as { skipBadRecords?: boolean }).skipBadRecords, true);
  const report = {
    workerId: "w1",
    ...taskOf(third),
    counters: { "skipped records": 12, words: 3 },
    skipped: [{ splitLine: 7, error: "App x: map of a.txt threw: boom" }],
  };
  assert.deepEqual(await coordinator.reportTask(report), { accepted: true });
  // The input is not here, so the line is numbered within the split.
  assert.deepEqual(log.slice(2), [
    "Skipped a bad record of map task 0: a.txt line 7 of the split: App x: map of a.txt threw: boom",
    'Skipped 11 more bad records of map task 0 (a.txt), counted under "skipped records"',
  ]);
  assert.deepEqual(coordinator.counters(), { "skipped records": 12, words: 3 });
});

Deno.test("CoordinatorService's status shows tasks by state, workers, bytes and rates of the accepted attempts, and counters", () => {
  const clock = new ManualClock();
  const coordinator = service(clock);
  const first = taskOf(coordinator.requestTask({ workerId: "w1" }));
  const second = taskOf(coordinator.requestTask({ workerId: "w2" }));
  clock.advance(2_000);
  const bytes = { bytesRead: 100, bytesWritten: 40 };
  const report = { workerId: "w1", kind: "map" as const, taskId: first.taskId, ...bytes };
  assert.deepEqual(coordinator.reportTask({ ...report, attempt: first.attempt }), {
    accepted: true,
  });
  // A repeated report's bytes are not counted again.
  assert.deepEqual(coordinator.reportTask({ ...report, attempt: first.attempt }), {
    accepted: false,
  });
  coordinator.reportFailure({ workerId: "w2", ...second, error: "boom" });
  clock.advance(500);
  assert.deepEqual(coordinator.coordinatorStatus(), {
    kind: "mr-coordinator",
    state: "running",
    failure: null,
    elapsedMs: 2_500,
    maps: { idle: 1, leased: 0, done: 1 },
    reduces: { idle: 1, leased: 0, done: 0 },
    reissued: 0,
    failedAttempts: 1,
    workersTotal: 2,
    workers: [
      { id: "w2", lastHeardMsAgo: 500, tasksRun: 0, tasksFailed: 1 },
      { id: "w1", lastHeardMsAgo: 500, tasksRun: 2, tasksFailed: 0 },
    ],
    bytes: { inputRead: 100, intermediateWritten: 40, intermediateRead: 0, outputWritten: 0 },
    bytesPerS: { inputRead: 40, intermediateWritten: 16, intermediateRead: 0, outputWritten: 0 },
    counters: {},
  });
  assert.equal(coordinator.status().elapsedMs, 2_500);
  assert.equal(coordinator.status().inputBytes, 100);
});

Deno.test("CoordinatorService waits, within the grace period, for a worker still running an attempt when the job ends", () => {
  const clock = new ManualClock();
  const coordinator = service(clock);
  const slow = taskOf(coordinator.requestTask({ workerId: "slow" }));
  clock.advance(10_000);
  // The slow worker's lease ran out; w1 does every task, the slow one's included.
  const maps = [0, 1].map(() => taskOf(coordinator.requestTask({ workerId: "w1" })));
  assert.deepEqual(maps.map((map) => map.taskId).sort(), [0, 1]);
  for (const map of maps) coordinator.reportTask({ workerId: "w1", ...map });
  const reduce = taskOf(coordinator.requestTask({ workerId: "w1" }));
  coordinator.reportTask({ workerId: "w1", ...reduce });
  assert.deepEqual(coordinator.requestTask({ workerId: "w1" }), { kind: "exit" });
  assert.equal(coordinator.mayStop(2_000), false, "the slow worker may still report");
  assert.deepEqual(coordinator.reportTask({ workerId: "slow", ...slow }), { accepted: false });
  assert.equal(coordinator.mayStop(2_000), false, "the slow worker will ask once more");
  assert.deepEqual(coordinator.requestTask({ workerId: "slow" }), { kind: "exit" });
  assert.equal(coordinator.mayStop(2_000), true);
});

Deno.test("CoordinatorService logs a backup, takes the winner's counts and asks for a checkpoint", () => {
  const clock = new ManualClock();
  const log: string[] = [];
  let checkpoints = 0;
  const coordinator = service(clock, log, {
    splits: Array.from({ length: 4 }, (_, index) => ({
      name: `${index}.txt`,
      path: `/data/${index}.txt`,
      offset: 0,
      length: 10,
    })),
    onFinishedChange: () => checkpoints++,
  });
  const maps = ["w1", "w2", "w3", "slow"].map((workerId) =>
    taskOf(coordinator.requestTask({ workerId }))
  );
  clock.advance(100);
  for (const [index, map] of maps.slice(0, 3).entries()) {
    const { kind, taskId, attempt } = map;
    const report = { workerId: `w${index + 1}`, kind, taskId, attempt, counters: { n: 1 } };
    assert.deepEqual(coordinator.reportTask(report), { accepted: true });
  }
  clock.advance(101);
  const backup = taskOf(coordinator.requestTask({ workerId: "w1" }));
  assert.deepEqual([backup.kind, backup.taskId], ["map", 3]);
  assert.deepEqual(log, [
    "Backup of map task 3 to w1: it runs long near the end of its phase",
  ]);
  const won = { workerId: "w1", kind: "map" as const, taskId: 3, attempt: backup.attempt };
  assert.deepEqual(coordinator.reportTask({ ...won, counters: { n: 1 } }), { accepted: true });
  const lost = { ...won, workerId: "slow", attempt: maps[3].attempt, counters: { n: 100 } };
  assert.deepEqual(coordinator.reportTask(lost), { accepted: false });
  assert.deepEqual(coordinator.counters(), { n: 4 });
  assert.deepEqual([checkpoints, coordinator.status().backups], [4, 1]);
  assert.deepEqual(coordinator.finished().maps.map((task) => task.taskId), [0, 1, 2, 3]);
});

Deno.test("CoordinatorService resumed with rpc transfer sends reducers the checkpointed map places", async () => {
  await withTempFolder("dsys-mr-resume-", async (folder) => {
    let changes = 0;
    const coordinator = service(new ManualClock(), [], {
      outputFolder: folder,
      transfer: "rpc",
      finished: {
        maps: [{ taskId: 0, detail: "unix:/w1.sock" }, { taskId: 1, detail: "unix:/w2.sock" }],
        reduces: [],
        reopenedMaps: [],
        counters: { n: 3 },
      },
      onFinishedChange: () => changes++,
    });
    const reduce = coordinator.requestTask({ workerId: "w3" });
    assert.ok(reduce.kind === "reduce", `expected a reduce, got ${reduce.kind}`);
    assert.deepEqual(reduce.mapLocations, ["unix:/w1.sock", "unix:/w2.sock"]);
    await coordinator.lostOutput({
      workerId: "w3",
      reduceTask: 0,
      attempt: reduce.attempt,
      mapTask: 1,
      location: "unix:/w2.sock",
      error: "nothing listens there",
    });
    assert.deepEqual(coordinator.finished().maps, [{ taskId: 0, detail: "unix:/w1.sock" }]);
    assert.deepEqual(coordinator.finished().reopenedMaps, [1]);
    assert.equal(changes, 1, "a reopened map changes the checkpoint");
    assert.equal(taskOf(coordinator.requestTask({ workerId: "w3" })).kind, "map");
    await coordinator.close();
  });
});

Deno.test("CoordinatorService waits past its grace for a straggler whose backup won, until it reports or its lease ends", () => {
  for (const straggler of ["reports", "vanishes"] as const) {
    const clock = new ManualClock();
    const coordinator = service(clock, [], {
      splits: Array.from({ length: 2 }, (_, index) => ({
        name: `${index}.txt`,
        path: `/data/${index}.txt`,
        offset: 0,
        length: 10,
      })),
    });
    const fast = taskOf(coordinator.requestTask({ workerId: "fast" }));
    const slow = taskOf(coordinator.requestTask({ workerId: "slow" }));
    clock.advance(100);
    coordinator.reportTask({ workerId: "fast", ...fast });
    clock.advance(101);
    const backup = taskOf(coordinator.requestTask({ workerId: "fast" }));
    assert.deepEqual([backup.taskId, coordinator.status().backups], [slow.taskId, 1]);
    coordinator.reportTask({ workerId: "fast", ...backup });
    const reduce = taskOf(coordinator.requestTask({ workerId: "fast" }));
    coordinator.reportTask({ workerId: "fast", ...reduce });
    assert.deepEqual(coordinator.requestTask({ workerId: "fast" }), { kind: "exit" });
    clock.advance(5_000);
    assert.equal(coordinator.mayStop(2_000), false, "the straggler's lease runs");
    if (straggler === "reports") {
      assert.deepEqual(coordinator.reportTask({ workerId: "slow", ...slow }), { accepted: false });
      assert.deepEqual(coordinator.requestTask({ workerId: "slow" }), { kind: "exit" });
    } else {
      clock.advance(4_798);
      assert.equal(coordinator.mayStop(2_000), false, "its lease ends 10 s after it was handed");
      clock.advance(1);
    }
    assert.equal(coordinator.mayStop(2_000), true, `the straggler ${straggler}`);
  }
});
