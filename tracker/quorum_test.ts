import assert from "node:assert/strict";
import { jointIndex, jointVoteResult, majorityIndex, majoritySize } from "./quorum.ts";

interface Case {
  readonly line: number;
  readonly matchIndexes: number[];
  readonly expected: number;
}

function readCases(): Case[] {
  const text = Deno.readTextFileSync(new URL("./testdata/majority_commit.txt", import.meta.url));
  const cases: Case[] = [];
  for (const [position, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [left, right, ...extra] = line.split("->");
    assert.equal(extra.length, 0, `line ${position + 1}: more than one "->"`);
    assert.notEqual(right, undefined, `line ${position + 1}: no "->"`);
    const matchIndexes = left.trim().split(/\s+/).map(Number);
    cases.push({ line: position + 1, matchIndexes, expected: Number(right.trim()) });
  }
  return cases;
}

Deno.test("majorityIndex gives the table's answer for every case", () => {
  const cases = readCases();
  assert.ok(cases.length >= 20, `only ${cases.length} cases read`);
  for (const { line, matchIndexes, expected } of cases) {
    assert.equal(majorityIndex(matchIndexes), expected, `majority_commit.txt line ${line}`);
  }
});

Deno.test("majorityIndex is the highest index at least a majority of members hold", () => {
  // Checked against the definition on every group of up to 5 members with indexes 0..3.
  for (let size = 1; size <= 5; size++) {
    for (let code = 0; code < 4 ** size; code++) {
      const indexes = Array.from(
        { length: size },
        (_, member) => Math.floor(code / 4 ** member) % 4,
      );
      let expected = 0;
      for (let index = 0; index <= 3; index++) {
        const holders = indexes.filter((match) => match >= index).length;
        if (holders >= majoritySize(size)) expected = index;
      }
      assert.equal(majorityIndex(indexes), expected, `indexes ${indexes.join(" ")}`);
    }
  }
});

Deno.test("majorityIndex refuses an empty group and indexes that are not log indexes", () => {
  assert.throws(() => majorityIndex([]), /A group of 0 members has no majority/);
  assert.throws(() => majorityIndex([1, -1, 2]), /Match index -1 is not a log index/);
  assert.throws(() => majorityIndex([1, 1.5, 2]), /Match index 1.5 is not a log index/);
});

Deno.test("majoritySize is more than half", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majoritySize), [1, 2, 2, 3, 3, 4, 4]);
});

/** The non-comment lines of `testdata/<name>`, with their line numbers. */
function tableLines(name: string): [number, string][] {
  const text = Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));
  return text.split("\n").map((line, position): [number, string] => [position + 1, line.trim()])
    .filter(([, line]) => line !== "" && !line.startsWith("#"));
}

function numbers(text: string): number[] {
  return text.trim() === "" ? [] : text.trim().split(/\s+/).map(Number);
}

Deno.test("jointIndex gives joint_commit.txt's answer for every case", () => {
  const cases = tableLines("joint_commit.txt");
  assert.ok(cases.length >= 10, `only ${cases.length} cases read`);
  for (const [line, text] of cases) {
    const [sides, expected] = text.split("->");
    const [incoming, outgoing] = sides.split("|");
    assert.equal(
      jointIndex(numbers(incoming), numbers(outgoing)),
      Number(expected),
      `joint_commit.txt line ${line}`,
    );
  }
});

Deno.test("jointVoteResult gives vote_result.txt's answer for every case", () => {
  const cases = tableLines("vote_result.txt");
  assert.ok(cases.length >= 10, `only ${cases.length} cases read`);
  for (const [line, text] of cases) {
    const [fields, expected] = text.split("->");
    const [incoming, outgoing, granted, refused] = fields.split("|").map(numbers);
    assert.equal(
      jointVoteResult(incoming, outgoing, new Set(granted), new Set(refused)),
      expected.trim(),
      `vote_result.txt line ${line}`,
    );
  }
});
