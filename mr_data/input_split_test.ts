import assert from "node:assert/strict";
import { withTempFolder } from "../mr/testing/temp_folder.ts";
import { type InputSplit, planSplits, readSplit } from "./input_split.ts";

function withFolder(body: (folder: string) => Promise<void>): Promise<void> {
  return withTempFolder("dsys-mr-split-", body);
}

Deno.test("planSplits cuts files larger than the split size, in file order", () => {
  const splits = planSplits([
    { name: "a.txt", path: "/in/a.txt", sizeBytes: 25 },
    { name: "empty.txt", path: "/in/empty.txt", sizeBytes: 0 },
    { name: "b.txt", path: "/in/b.txt", sizeBytes: 10 },
  ], 10);
  assert.deepEqual(
    splits.map((split) => [split.name, split.offset, split.length]),
    [["a.txt", 0, 10], ["a.txt", 10, 10], ["a.txt", 20, 5], ["empty.txt", 0, 0], ["b.txt", 0, 10]],
  );
  assert.ok(splits.every((split) => split.path === `/in/${split.name}`));
  assert.throws(() => planSplits([], 0), /Cannot split inputs into pieces of 0 bytes/);
});

/**
 * Texts with every awkward place a cut can fall on: a line across the boundary, CRLF endings, no
 * final newline, empty lines, lines longer than the split, multi-byte characters, a byte order
 * mark at the start and in the middle, bytes that are not UTF-8.
 */
const AWKWARD_TEXTS: readonly (string | Uint8Array)[] = [
  "",
  "\n",
  "one line without a newline",
  "a\nbb\nccc\n",
  "crlf\r\nline two\r\n\r\nlast\r\n",
  "no final newline\nhere",
  "\n\n\nempty lines\n\n",
  "a very long line, longer than most splits, with words in it\nshort\nx",
  "naïve café\nслово 日本語 😀\nend",
  "\ufeffbom at the start\nand \ufeff\n\ufeffat a line start\n",
  new Uint8Array([0x61, 0xe6, 0x97, 0x0a, 0xff, 0x62, 0x0a, 0xe6, 0x0a, 0x63]),
];

Deno.test("the splits of a file, cut at every size, hand over each line exactly once", async () => {
  await withFolder(async (folder) => {
    const path = `${folder}/input.txt`;
    for (const text of AWKWARD_TEXTS) {
      const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
      await Deno.writeFile(path, bytes);
      const whole = new TextDecoder().decode(bytes);
      for (let splitBytes = 1; splitBytes <= bytes.length + 1; splitBytes++) {
        const splits = planSplits(
          [{ name: "input.txt", path, sizeBytes: bytes.length }],
          splitBytes,
        );
        const contents = await Promise.all(splits.map(readSplit));
        const what = `${JSON.stringify(whole)} in splits of ${splitBytes}`;
        assert.notEqual(contents[0], null, `${what}: the first split maps`);
        assert.equal(contents.filter((text) => text !== null).join(""), whole, what);
        for (const [index, content] of contents.entries()) {
          if (content === null || index === 0) continue;
          assert.ok(startsALine(bytes, splits[index], content), `${what}: split ${index}`);
        }
      }
    }
  });
});

/** Whether `content` starts at a line start inside `split`'s range. */
function startsALine(bytes: Uint8Array, split: InputSplit, content: string): boolean {
  const start = split.offset === 0 ? 0 : bytes.indexOf(0x0a, split.offset - 1) + 1;
  return start >= split.offset && start < split.offset + split.length && content !== "";
}

Deno.test("a split inside one long line owns nothing; the split where it starts owns all", async () => {
  await withFolder(async (folder) => {
    const path = `${folder}/long.txt`;
    const line = `${"x".repeat(200_000)}\n`;
    await Deno.writeTextFile(path, `${line}tail\n`);
    const splits = planSplits([{ name: "long.txt", path, sizeBytes: line.length + 5 }], 50_000);
    const contents = await Promise.all(splits.map(readSplit));
    assert.equal(contents[0], line);
    assert.deepEqual(contents.slice(1, 4), [null, null, null]);
    assert.equal(contents[4], "tail\n");
  });
});

Deno.test("readSplit keeps a byte order mark that is not at the start of the file", async () => {
  await withFolder(async (folder) => {
    const path = `${folder}/bom.txt`;
    await Deno.writeTextFile(path, "\ufeffa\n\ufeffb\n");
    const [first, second] = planSplits([{ name: "bom.txt", path, sizeBytes: 10 }], 5);
    assert.equal(await readSplit(first), "a\n");
    assert.equal(await readSplit(second), "\ufeffb\n");
  });
});
