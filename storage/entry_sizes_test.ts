import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { EntrySizes } from "./entry_sizes.ts";
import { encodeRecord, type LogRecord, LogReplay } from "./log_file.ts";

Deno.test("EntrySizes follows a replay's live entries through random changes", () => {
  const random = new SeededRandom(7);
  for (let round = 0; round < 50; round++) {
    const replay = new LogReplay();
    const sizes = new EntrySizes(0, 0);
    for (let change = 0; change < 40; change++) {
      const record = randomRecord(random, replay);
      const bytes = encodeRecord(record);
      assert.equal(replay.apply({ record, bytes }), null);
      if (record.kind === "append") sizes.push(record.entry.term, bytes.byteLength);
      else if (record.kind === "truncate") sizes.truncateAfter(record.after);
      else sizes.compact(record.index, record.term);
      const liveBytes = replay.entries.reduce((total, live) => total + live.recordBytes.length, 0);
      assert.equal(sizes.count, replay.entries.length);
      assert.equal(sizes.lastIndex, replay.lastIndex);
      assert.equal(sizes.compactedIndex, replay.compactedIndex);
      assert.equal(sizes.totalBytes, liveBytes);
    }
  }
});

function randomRecord(random: SeededRandom, replay: LogReplay): LogRecord {
  const kind = random.int(4);
  const last = replay.lastIndex;
  if (kind === 0 && last > replay.compactedIndex) {
    return {
      kind: "truncate",
      after: replay.compactedIndex + random.int(last - replay.compactedIndex + 1),
    };
  }
  if (kind === 1) {
    const index = replay.compactedIndex + random.int(last - replay.compactedIndex + 3);
    // Half the time the term of the entry there, half the time another.
    const position = index - replay.compactedIndex - 1;
    const term = random.int(2) === 0 && position >= 0 && position < replay.entries.length
      ? replay.entries[position].entry.term
      : replay.lastTerm + random.int(2);
    return { kind: "compact", index, term };
  }
  const term = replay.lastTerm + random.int(2);
  return { kind: "append", entry: { index: last + 1, term, command: "x".repeat(random.int(30)) } };
}

Deno.test("EntrySizes refuses to reach below its compacted entries", () => {
  const sizes = new EntrySizes(5, 2);
  sizes.push(2, 10);
  assert.throws(() => sizes.truncateAfter(4), /entries up to 5 are compacted/);
  assert.throws(() => sizes.compact(4, 2), /entries up to 5 are compacted/);
  sizes.compact(5, 2);
  assert.equal(sizes.count, 1);
  assert.equal(sizes.totalBytes, 10);
});
