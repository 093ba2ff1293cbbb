import assert from "node:assert/strict";
import {
  decodeIntermediate,
  encodeIntermediate,
  intermediateName,
  outputName,
  readJobOutput,
  readTextBounded,
  reduceAll,
  writeFileAtomic,
} from "./job_files.ts";

async function withFolder(body: (folder: string) => Promise<void>) {
  const folder = await Deno.makeTempDir({ prefix: "dsys-mr-files-" });
  try {
    await body(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
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

Deno.test("intermediate files carry any key and value, spaces and newlines included", () => {
  const pairs = [
    { key: "a b", value: "line\nbreak" },
    { key: "ключ", value: '"quoted"' },
    { key: "", value: "" },
  ];
  assert.deepEqual(decodeIntermediate(encodeIntermediate(pairs), "mr-0-0"), pairs);
  assert.deepEqual(decodeIntermediate("", "mr-0-1"), []);
});

Deno.test("decodeIntermediate names the file and line it cannot read", () => {
  assert.throws(
    () => decodeIntermediate('["a","b"]\n{oops\n', "mr-2-5"),
    /Cannot read mr-2-5: line 2 is not JSON/,
  );
  assert.throws(
    () => decodeIntermediate('["a",1]\n', "mr-2-5"),
    /line 1 is not a \[key, value\] pair/,
  );
});

Deno.test("reduceAll groups by key in sorted order, keeping values in arrival order", async () => {
  const pairs = [
    { key: "b", value: "1" },
    { key: "a", value: "x" },
    { key: "b", value: "2" },
    { key: "a", value: "y" },
  ];
  const seen: string[] = [];
  const text = await reduceAll(pairs, (key, values) => {
    seen.push(`${key}:${values.join(",")}`);
    return String(values.length);
  });
  assert.deepEqual(seen, ["a:x,y", "b:1,2"]);
  assert.equal(text, "a 2\nb 2\n");
});

Deno.test("readJobOutput joins every mr-out file, drops blank lines and sorts", async () => {
  await withFolder(async (folder) => {
    await Deno.writeTextFile(`${folder}/mr-out-1`, "zeta 1\n\nalpha 2\n");
    await Deno.writeTextFile(`${folder}/mr-out-0`, "mid 3\n");
    await Deno.writeTextFile(`${folder}/mr-0-0`, '["not","output"]\n');
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
