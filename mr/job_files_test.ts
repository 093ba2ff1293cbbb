import assert from "node:assert/strict";
import { withTempFolder } from "./testing/temp_folder.ts";
import type { MapReduceApp } from "../apps/app.ts";
import {
  AtomicFileWriter,
  intermediateName,
  outputName,
  readJobOutput,
  readTextBounded,
  reduceKeys,
  writeFileAtomic,
} from "./job_files.ts";
import { PhaseTimes } from "./phase_times.ts";

function withFolder(body: (folder: string) => Promise<void>): Promise<void> {
  return withTempFolder("dsys-mr-files-", body);
}

Deno.test("file names follow the lab", () => {
  assert.equal(intermediateName(3, 7), "mr-3-7");
  assert.equal(outputName(4), "mr-out-4");
});

Deno.test("writeFileAtomic replaces the target and leaves no temporary file", async () => {
  await withFolder(async (folder) => {
    await writeFileAtomic(folder, "mr-out-0", "old\n");
    await writeFileAtomic(folder, "mr-out-0", "new\n");
    assert.equal(await Deno.readTextFile(`${folder}/mr-out-0`), "new\n");
    const names = [...Deno.readDirSync(folder)].map((entry) => entry.name);
    assert.deepEqual(names, ["mr-out-0"]);
  });
});

Deno.test("AtomicFileWriter shows nothing under the name until commit, then all", async () => {
  await withFolder(async (folder) => {
    const times = new PhaseTimes();
    for (const durable of [false, true]) {
      const name = durable ? "mr-out-1" : "mr-1-2";
      const writer = await AtomicFileWriter.create(folder, name, { times, phase: "encode" });
      const chunk = "x".repeat(600_000);
      for (let index = 0; index < 4; index++) await writer.write(chunk);
      await assert.rejects(() => Deno.stat(`${folder}/${name}`), Deno.errors.NotFound);
      await writer.commit(durable);
      assert.equal(await Deno.readTextFile(`${folder}/${name}`), chunk.repeat(4));
    }
    const names = [...Deno.readDirSync(folder)].map((entry) => entry.name).sort();
    assert.deepEqual(names, ["mr-1-2", "mr-out-1"], "no temporary file is left");
    assert.ok(times.totalMs("encode") > 0, "writing counted under the phase given");
  });
});

Deno.test("AtomicFileWriter.abort removes the temporary file and keeps the old one", async () => {
  await withFolder(async (folder) => {
    await writeFileAtomic(folder, "mr-out-0", "old\n");
    const writer = await AtomicFileWriter.create(folder, "mr-out-0", {
      times: new PhaseTimes(),
      phase: "write output",
    });
    await writer.write("new\n");
    await writer.abort();
    assert.equal(await Deno.readTextFile(`${folder}/mr-out-0`), "old\n");
    assert.deepEqual([...Deno.readDirSync(folder)].map((entry) => entry.name), ["mr-out-0"]);
  });
});

Deno.test("reduceKeys reduces in sorted key order and writes key value lines", async () => {
  await withFolder(async (folder) => {
    const groups = new Map([["b", ["1", "2"]], ["a", ["x", "y"]], ["B", ["z"]]]);
    const seen: string[] = [];
    const app: MapReduceApp = {
      name: "count",
      map: () => [],
      reduce: (key, values) => {
        seen.push(`${key}:${values.join(",")}`);
        return key === "a" ? Promise.resolve(String(values.length)) : String(values.length);
      },
    };
    const times = new PhaseTimes();
    const writer = await AtomicFileWriter.create(folder, "out", { times, phase: "write output" });
    await reduceKeys(app, [...groups.keys()], (key) => groups.get(key)!, writer, times);
    await writer.commit(true);
    assert.deepEqual(seen, ["B:z", "a:x,y", "b:1,2"]);
    assert.equal(await Deno.readTextFile(`${folder}/out`), "B 1\na 2\nb 2\n");
  });
});

Deno.test("reduceKeys names the app, the key and what reduce returned when not a string", async () => {
  await withFolder(async (folder) => {
    const times = new PhaseTimes();
    for (const returned of [7, undefined, Promise.resolve(["a"])]) {
      const app: MapReduceApp = {
        name: "broken",
        map: () => [],
        reduce: () => returned as unknown as string,
      };
      const writer = await AtomicFileWriter.create(folder, "out", { times, phase: "write output" });
      await assert.rejects(
        () => reduceKeys(app, ["k"], () => ["v"], writer, times),
        /^Error: App broken: reduce of key "k" returned (7|undefined|\["a"\]), not a string$/,
      );
      await writer.abort();
    }
  });
});

Deno.test("readJobOutput joins every mr-out file, drops blank lines and sorts", async () => {
  await withFolder(async (folder) => {
    await Deno.writeTextFile(`${folder}/mr-out-1`, "zeta 1\n\nalpha 2\n");
    await Deno.writeTextFile(`${folder}/mr-out-0`, "mid 3\n");
    await Deno.writeTextFile(`${folder}/mr-0-0`, '["not",[1,"output"]]\n1\n');
    await Deno.writeTextFile(`${folder}/tmp-mr-mr-out-2-x`, "torn");
    assert.deepEqual(await readJobOutput(folder), ["alpha 2", "mid 3", "zeta 1"]);
  });
});

Deno.test("readTextBounded refuses a file over the limit, naming it", async () => {
  await withFolder(async (folder) => {
    await Deno.writeTextFile(`${folder}/big.txt`, "0123456789");
    assert.equal(await readTextBounded(`${folder}/big.txt`, 10), "0123456789");
    await assert.rejects(
      () => readTextBounded(`${folder}/big.txt`, 9),
      /big\.txt: it has 10 bytes, over the limit of 9/,
    );
  });
});
