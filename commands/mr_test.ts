import assert from "node:assert/strict";
import { serve } from "../rpc/mod.ts";
import { CoordinatorService } from "../mr/coordinator.ts";
import { joinPath } from "../mr/job_files.ts";
import { withTempFolder } from "../mr/testing/temp_folder.ts";
import { ManualClock } from "../util/testing/manual_clock.ts";
import { mrStatusText } from "./mr.ts";

/** Serves a coordinator with one map done (10 000 bytes read in 4 s) and one map out. */
async function withCoordinator(body: (address: string) => Promise<void>) {
  await withTempFolder("dsys-mr-status-", async (folder) => {
    const clock = new ManualClock();
    const service = new CoordinatorService({
      splits: [
        { name: "a.txt", path: "/a.txt", offset: 0, length: 10_000 },
        { name: "b.txt", path: "/b.txt", offset: 0, length: 5_000 },
      ],
      outputFolder: folder,
      reduceCount: 2,
      taskTimeoutMs: 10_000,
      clock,
      log: () => {},
    });
    const first = service.requestTask({ workerId: "worker-1" });
    service.requestTask({ workerId: "worker-2" });
    assert.equal(first.kind, "map");
    clock.advance(4_000);
    service.reportTask({
      workerId: "worker-1",
      kind: "map",
      taskId: first.taskId,
      attempt: first.attempt,
      counters: { words: 1_234 },
      bytesRead: 10_000,
      bytesWritten: 6_000,
    });
    const address = `unix:${joinPath(folder, "mr.sock")}`;
    const server = await serve(address, service.handlers, { log: () => {} });
    try {
      await body(address);
    } finally {
      await server.close();
    }
  });
}

Deno.test("dsys mr status prints the job as a table, or as one JSON object", async () => {
  await withCoordinator(async (address) => {
    const json = JSON.parse(await mrStatusText(address, "json"));
    assert.equal(json.coordinator, address);
    assert.equal(json.state, "running");
    assert.equal(json.elapsedMs, 4_000);
    assert.deepEqual(json.maps, { idle: 0, leased: 1, done: 1 });
    assert.deepEqual(json.reduces, { idle: 2, leased: 0, done: 0 });
    assert.deepEqual(json.bytes.inputRead, 10_000);
    assert.deepEqual(json.bytesPerS.inputRead, 2_500);
    assert.deepEqual(json.bytesPerS.intermediateWritten, 1_500);
    assert.deepEqual(json.workers.map((worker: { id: string }) => worker.id), [
      "worker-1",
      "worker-2",
    ]);
    assert.deepEqual(json.counters, { words: 1_234 });
    const table = await mrStatusText(address, "table");
    const lines = table.split("\n");
    assert.equal(lines[0], `coordinator ${address}: running after 4.0 s`);
    assert.ok(lines.includes("map     0     1       1"), table);
    assert.ok(lines.includes("reduce  2     0       0"), table);
    assert.ok(lines.includes("input read            9.8 KiB  2.4 KiB/s"), table);
    assert.ok(lines.some((line) => /^worker-1 +0\.0 s ago +1 +0$/.test(line)), table);
    assert.ok(lines.some((line) => /^worker-2 +4\.0 s ago +0 +0$/.test(line)), table);
    assert.ok(lines.includes("words    1234"), table);
  });
});

Deno.test("dsys mr status fails with one line naming the address when no coordinator answers there", async () => {
  await withTempFolder("dsys-mr-status-", async (folder) => {
    const nobody = `unix:${joinPath(folder, "nobody.sock")}`;
    await assert.rejects(
      () => mrStatusText(nobody, "table", 500),
      (error: Error) => {
        assert.match(error.message, /^No MapReduce coordinator answers at unix:.*nobody\.sock: /);
        assert.ok(!error.message.includes("\n"), error.message);
        return true;
      },
    );
    const other = `unix:${joinPath(folder, "other.sock")}`;
    const server = await serve(other, { "Status": () => ({ kind: "kv-server" }) }, {
      log: () => {},
    });
    try {
      await assert.rejects(
        () => mrStatusText(other, "json", 500),
        /^Error: unix:.*other\.sock is not a MapReduce coordinator: .*Coordinator\.Status/,
      );
    } finally {
      await server.close();
    }
    const impostor = `unix:${joinPath(folder, "impostor.sock")}`;
    const fake = await serve(impostor, { "Coordinator.Status": () => ({ kind: "other" }) }, {
      log: () => {},
    });
    try {
      await assert.rejects(
        () => mrStatusText(impostor, "json", 500),
        /^Error: unix:.*impostor\.sock is not a MapReduce coordinator: Bad coordinator status: kind is not mr-coordinator$/,
      );
    } finally {
      await fake.close();
    }
  });
});
