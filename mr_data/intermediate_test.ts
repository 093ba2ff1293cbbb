import assert from "node:assert/strict";
import { withTempFolder } from "../mr/testing/temp_folder.ts";
import type { KeyValue, MapReduceApp } from "../apps/app.ts";
import {
  BATCH_CHARS,
  encodeIntermediate,
  groupMapOutput,
  type KeyRuns,
  readIntermediate,
  type Runs,
  RunsByKey,
} from "./intermediate.ts";
import { partitionOf } from "./partition.ts";
import { PhaseTimes } from "../mr/phase_times.ts";

const app: MapReduceApp = { name: "test-app", map: () => [], reduce: () => "" };

function pairs(...entries: [string, string][]): KeyValue[] {
  return entries.map(([key, value]) => ({ key, value }));
}

function withFile(body: (path: string) => Promise<void>): Promise<void> {
  return withTempFolder("dsys-mr-intermediate-", (folder) => body(`${folder}/mr-0-0`));
}

/** Writes `groups` as an intermediate file and reads it back as [key, runs] in file order. */
async function roundTrip(path: string, groups: readonly KeyRuns[]): Promise<[string, Runs][]> {
  await Deno.writeTextFile(path, encodeIntermediate(groups).join(""));
  return await readBack(path);
}

async function readBack(path: string): Promise<[string, Runs][]> {
  const seen: [string, Runs][] = [];
  await readIntermediate(path, (key, runs) => seen.push([key, runs]), new PhaseTimes());
  return seen;
}

Deno.test("groupMapOutput groups by key in first-seen order, values as runs in order", () => {
  const input = pairs(["b", "1"], ["a", "x"], ["b", "1"], ["b", "2"], ["a", "x"], ["b", "1"]);
  const [partition] = groupMapOutput(app, "in.txt", input, 1);
  assert.deepEqual(partition, [
    { key: "b", runs: [2, "1", 1, "2", 1, "1"] },
    { key: "a", runs: [2, "x"] },
  ]);
});

Deno.test("groupMapOutput puts each key in its FNV-1a partition", () => {
  const keys = ["alpha", "beta", "gamma", "delta", "ключ", "日本語", ""];
  const partitions = groupMapOutput(app, "in.txt", keys.map((key) => ({ key, value: "v" })), 4);
  assert.equal(partitions.length, 4);
  partitions.forEach((partition, index) => {
    for (const { key } of partition) assert.equal(partitionOf(key, 4), index, key);
  });
  assert.equal(partitions.flat().length, keys.length);
});

Deno.test("groupMapOutput names the app, the input and what map returned when it is no pair", () => {
  assert.throws(
    () => groupMapOutput(app, "in.txt", "text", 2),
    /^Error: App test-app: map of in\.txt returned "text", not an array of \{key, value\} pairs of strings$/,
  );
  assert.throws(
    () => groupMapOutput(app, "in.txt", [{ key: "a", value: "1" }, { key: "b", value: 2 }], 2),
    /App test-app: map of in\.txt returned \{"key":"b","value":2\} at index 1, not a \{key, value\} pair of strings/,
  );
  assert.throws(
    () => groupMapOutput(app, "in.txt", [null], 2),
    /returned null at index 0/,
  );
});

Deno.test("intermediate files carry any key and value, newlines and lone surrogates included", async () => {
  await withFile(async (path) => {
    const groups: KeyRuns[] = [
      { key: "a b", runs: [1, "line\nbreak", 3, ""] },
      { key: "ключ", runs: [1, '"quoted"\r\n'] },
      { key: "", runs: [2, "\ud800 lone"] },
      { key: "\u2028", runs: [1, "😀"] },
    ];
    assert.deepEqual(await roundTrip(path, groups), groups.map((group) => [group.key, group.runs]));
    assert.deepEqual(await roundTrip(path, []), []);
  });
});

Deno.test("a key with more values than a batch holds continues in the next batch", async () => {
  await withFile(async (path) => {
    const value = "v".repeat(1000);
    const runs: Runs = [];
    for (let index = 0; index < 700; index++) runs.push(1 + index % 3, `${index}-${value}`);
    const groups: KeyRuns[] = [{ key: "small", runs: [1, "x"] }, { key: "big", runs }, {
      key: "after",
      runs: [5, "y"],
    }];
    const lines = encodeIntermediate(groups);
    assert.ok(
      lines.length >= 4,
      `700 kB of values fit ${lines.length - 1} batches of ${BATCH_CHARS}`,
    );
    const merged = new RunsByKey();
    const order: string[] = [];
    for (const [key, keyRuns] of await roundTrip(path, groups)) {
      if (order.at(-1) !== key) order.push(key);
      merged.add(key, keyRuns);
    }
    assert.deepEqual(order, ["small", "big", "after"]);
    assert.deepEqual(merged.values("big"), expand(runs));
    assert.deepEqual(merged.values("after"), ["y", "y", "y", "y", "y"]);
  });
});

function expand(runs: Runs): string[] {
  const values: string[] = [];
  for (let index = 0; index < runs.length; index += 2) {
    for (let count = 0; count < (runs[index] as number); count++) {
      values.push(runs[index + 1] as string);
    }
  }
  return values;
}

Deno.test("a file of several read chunks reads back whole, characters across chunk ends", async () => {
  await withFile(async (path) => {
    // Three-byte characters at odd offsets make some fall across the 1 MiB read boundaries.
    const groups: KeyRuns[] = Array.from({ length: 3_000 }, (_, index) => ({
      key: `k${index}`,
      runs: [1, "日本語".repeat(100 + index % 7), 2, "é"],
    }));
    const size = new TextEncoder().encode(encodeIntermediate(groups).join("")).length;
    assert.ok(size > 2.5 * 1024 * 1024, `the file has ${size} bytes`);
    const merged = new RunsByKey();
    for (const [key, runs] of await roundTrip(path, groups)) merged.add(key, runs);
    assert.deepEqual([...merged.keys()], groups.map((group) => group.key));
    for (const group of groups) assert.deepEqual(merged.values(group.key), expand(group.runs));
  });
});

Deno.test("readIntermediate refuses a file cut short or damaged, naming it and the line", async () => {
  await withFile(async (path) => {
    const whole = encodeIntermediate([{ key: "a", runs: [2, "1"] }, { key: "b", runs: [1, "2"] }])
      .join("");
    const cases: [string | Uint8Array, RegExp][] = [
      ["", /mr-0-0: it ends without its end line, so it is incomplete/],
      [whole.slice(0, whole.lastIndexOf("3")), /it ends without its end line/],
      [whole.slice(0, -1), /its last line has no newline, so it is incomplete/],
      [whole.replace(/3\n$/, "4\n"), /it holds 3 pairs but its end line says 4/],
      [`${whole}["c",[1,"x"]]\n`, /line 3 follows the end line/],
      ["{oops\n1\n", /line 1 is not JSON/],
      ['["a",[0,"x"]]\n0\n', /line 1 has a bad run at position 0/],
      ['["a",[1,2]]\n1\n', /line 1 has a bad run at position 0/],
      ['["a"]\n0\n', /line 1 is not a batch/],
      ['[1,[1,"x"]]\n1\n', /line 1 has no key and runs at position 0/],
      [new Uint8Array([0x5b, 0xff, 0x5d, 0x0a]), /it is not UTF-8/],
    ];
    for (const [contents, error] of cases) {
      if (typeof contents === "string") await Deno.writeTextFile(path, contents);
      else await Deno.writeFile(path, contents);
      await assert.rejects(() => readBack(path), error, JSON.stringify(contents));
    }
  });
});

Deno.test("readIntermediate splits its time between reading, decoding and grouping", async () => {
  await withFile(async (path) => {
    await Deno.writeTextFile(path, encodeIntermediate([{ key: "a", runs: [1, "1"] }]).join(""));
    const times = new PhaseTimes();
    await readIntermediate(path, () => {}, times);
    assert.match(times.format(), /^read intermediates .* · decode .* · group /);
  });
});

Deno.test("RunsByKey appends runs in the order added and joins a run that continues", () => {
  const groups = new RunsByKey();
  groups.add("w", [2, "1"]);
  groups.add("v", [1, "a"]);
  groups.add("w", [3, "1", 1, "2"]);
  groups.add("w", [1, "1"]);
  assert.deepEqual([...groups.keys()], ["w", "v"]);
  assert.deepEqual(groups.values("w"), ["1", "1", "1", "1", "1", "2", "1"]);
  assert.deepEqual(groups.values("v"), ["a"]);
  assert.deepEqual(groups.values("absent"), []);
});
