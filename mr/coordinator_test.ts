import assert from "node:assert/strict";
import { CoordinatorService } from "./coordinator.ts";
import { ManualClock } from "../util/testing/manual_clock.ts";
import type { TaskReply } from "./protocol.ts";
import { REPORT_TASK_METHOD, REQUEST_TASK_METHOD } from "./protocol.ts";

function service(clock: ManualClock, log: string[] = []): CoordinatorService {
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
