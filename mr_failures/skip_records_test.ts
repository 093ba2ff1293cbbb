import assert from "node:assert/strict";
import {
  firstLineOf,
  mapSkippingBadRecords,
  SKIPPED_LOG_LINES_MAX,
  SKIPPED_RECORDS_COUNTER,
  SkippedRecordLog,
} from "./skip_records.ts";
import { CounterSet } from "../apps/counters.ts";
import type { MapReduceApp } from "../apps/app.ts";
import { SKIPPED_LISTED_MAX } from "../mr/protocol.ts";
import { withTempFolder } from "../mr/testing/temp_folder.ts";
import { joinPath } from "../mr/job_files.ts";

/** One pair per line; throws on text holding "bad"; counts its calls' lines. */
const lineApp: MapReduceApp = {
  name: "lines",
  map: (_name, contents, counters) => {
    if (contents.includes("bad")) throw new Error("a bad line");
    const lines = contents.split("\n").filter((line) => line !== "");
    counters.add("lines", lines.length);
    return lines.map((line) => ({ key: line, value: "1" }));
  },
  reduce: (_key, values) => String(values.length),
};

Deno.test("skip mode maps the lines around the ones map fails on alone, in order, and counts only what succeeded", async () => {
  const lines = Array.from({ length: 20 }, (_, index) => `line ${index}`);
  lines[3] = "bad 3";
  lines[4] = "bad 4";
  lines[17] = "bad 17";
  const counters = new CounterSet();
  const result = await mapSkippingBadRecords(
    lineApp,
    "in.txt",
    `${lines.join("\n")}\n`,
    counters,
  );
  const good = lines.filter((line) => !line.startsWith("bad"));
  assert.deepEqual(result.pairs, good.map((line) => ({ key: line, value: "1" })));
  assert.deepEqual(result.skipped, [
    { splitLine: 4, error: "a bad line" },
    { splitLine: 5, error: "a bad line" },
    { splitLine: 18, error: "a bad line" },
  ]);
  assert.deepEqual(counters.counts(), { lines: 17, [SKIPPED_RECORDS_COUNTER]: 3 });
});

Deno.test("skip mode maps a clean split in one call, and lists at most a bounded number of skipped lines", async () => {
  let calls = 0;
  const counting = {
    ...lineApp,
    map: (...args: Parameters<MapReduceApp["map"]>) => {
      calls++;
      return lineApp.map(...args);
    },
  };
  const clean = await mapSkippingBadRecords(counting, "in.txt", "a\nb\nc", new CounterSet());
  assert.equal(calls, 1);
  assert.deepEqual(clean.skipped, []);
  assert.equal(clean.pairs.length, 3);
  const allBad = Array.from({ length: 3 * SKIPPED_LISTED_MAX }, () => "bad").join("\n");
  const counters = new CounterSet();
  const result = await mapSkippingBadRecords(lineApp, "in.txt", allBad, counters);
  assert.equal(result.skipped.length, SKIPPED_LISTED_MAX);
  assert.deepEqual(result.pairs, []);
  assert.deepEqual(counters.counts(), { [SKIPPED_RECORDS_COUNTER]: 3 * SKIPPED_LISTED_MAX });
});

Deno.test("firstLineOf numbers the first line a split owns in its file", async () => {
  await withTempFolder("dsys-skip-", async (folder) => {
    const path = joinPath(folder, "in.txt");
    await Deno.writeTextFile(path, "ab\ncd\n\nef\n");
    // Bytes: a0 b1 \n2 c3 d4 \n5 \n6 e7 f8 \n9; a split owns the lines starting in its range.
    const cases: [number, number][] = [[0, 1], [1, 2], [3, 2], [4, 3], [6, 3], [7, 4], [8, 5]];
    for (const [offset, line] of cases) {
      assert.equal(await firstLineOf({ path, offset }), line, `offset ${offset}`);
    }
  });
});

Deno.test("the coordinator logs skipped records with their lines in the file, up to a bound for the whole job", () => {
  const lines: string[] = [];
  const log = new SkippedRecordLog((line) => lines.push(line));
  log.note(2, "a.txt", 41, [{ splitLine: 4, error: "boom" }], 1);
  log.note(3, "a.txt", null, [{ splitLine: 4, error: "boom" }], 1);
  assert.deepEqual(lines, [
    "Skipped a bad record of map task 2: a.txt line 44: boom",
    "Skipped a bad record of map task 3: a.txt line 4 of the split: boom",
  ]);
  for (let task = 0; task < SKIPPED_LOG_LINES_MAX; task++) {
    log.note(task, "b.txt", 1, [{ splitLine: 1, error: "boom" }], 5);
  }
  assert.equal(lines.length, SKIPPED_LOG_LINES_MAX + 1);
  assert.equal(lines.at(-3), "Skipped a bad record of map task 48: b.txt line 1: boom");
  assert.equal(
    lines.at(-2),
    'Skipped 4 more bad records of map task 48 (b.txt), counted under "skipped records"',
  );
  assert.equal(
    lines.at(-1),
    `Logged ${SKIPPED_LOG_LINES_MAX} skipped records; further ones are only counted, under "skipped records"`,
  );
});
