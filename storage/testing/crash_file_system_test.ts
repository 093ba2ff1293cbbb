import assert from "node:assert/strict";
import { CrashFileSystem, SimulatedCrash } from "./crash_file_system.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

Deno.test("a power cut keeps synced contents under synced names only", async () => {
  const files = new CrashFileSystem();
  files.makeDirectorySync("/data/peer");
  await files.writeFile("/data/peer/a", bytes(1));
  await files.syncFile("/data/peer/a");
  assert.equal(files.afterCrash("power").peek("/data/peer/a"), null, "name not synced");
  await files.syncDirectory("/data/peer");
  await files.appendFile("/data/peer/a", bytes(2, 3));
  assert.deepEqual(files.afterCrash("power").peek("/data/peer/a"), bytes(1));
  assert.deepEqual(files.afterCrash("power-zeros").peek("/data/peer/a"), bytes(1, 0, 0));
  assert.deepEqual(files.afterCrash("process").peek("/data/peer/a"), bytes(1, 2, 3));
  await files.syncFile("/data/peer/a");
  assert.deepEqual(files.afterCrash("power").peek("/data/peer/a"), bytes(1, 2, 3));
});

Deno.test("a rename is durable once its folder is synced", async () => {
  const files = new CrashFileSystem();
  files.makeDirectorySync("/data");
  files.writeFileSync("/data/target", bytes(1));
  files.syncFileSync("/data/target");
  files.syncDirectorySync("/data");
  await files.writeFile("/data/target.tmp", bytes(2));
  await files.syncFile("/data/target.tmp");
  await files.rename("/data/target.tmp", "/data/target");
  const beforeSync = files.afterCrash("power");
  assert.deepEqual(beforeSync.peek("/data/target"), bytes(1));
  assert.equal(beforeSync.peek("/data/target.tmp"), null);
  assert.deepEqual(files.afterCrash("process").list(), ["/data/target"]);
  await files.syncDirectory("/data");
  assert.deepEqual(files.afterCrash("power").peek("/data/target"), bytes(2));
  files.removeSync("/data/target");
  assert.deepEqual(files.afterCrash("power").list(), ["/data/target"]);
  files.syncDirectorySync("/data");
  assert.deepEqual(files.afterCrash("power").list(), []);
});

Deno.test("a planned crash stops that step and every later one", async () => {
  const files = new CrashFileSystem();
  files.makeDirectorySync("/data");
  files.writeFileSync("/data/a", bytes(1));
  assert.equal(files.steps, 2);
  files.crashBeforeStep(4);
  files.syncFileSync("/data/a");
  await assert.rejects(files.appendFile("/data/a", bytes(2)), SimulatedCrash);
  assert.ok(files.crashed);
  assert.throws(() => files.readFileSync("/data/a"), SimulatedCrash);
  assert.deepEqual(files.afterCrash("process").peek("/data/a"), bytes(1));
  assert.throws(() => files.crashBeforeStep(1), /Cannot crash before step 1/);
});

Deno.test("files need their folder, and missing files are reported as missing", async () => {
  const files = new CrashFileSystem();
  assert.throws(() => files.writeFileSync("/nowhere/a", bytes(1)), Deno.errors.NotFound);
  files.makeDirectorySync("/data");
  await assert.rejects(files.appendFile("/data/missing", bytes(1)), Deno.errors.NotFound);
  await assert.rejects(files.readFile("/data/missing"), Deno.errors.NotFound);
  assert.equal(files.readFileSync("/data/missing"), null);
});
