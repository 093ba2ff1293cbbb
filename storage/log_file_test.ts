import assert from "node:assert/strict";
import { CorruptFileError } from "./atomic_file.ts";
import {
  decodeRecords,
  encodeFrames,
  encodeRecord,
  FRAME_HEADER_BYTES,
  liveRecords,
  type LogRecord,
  LogReplay,
  scanFrames,
  type ScanSource,
} from "./log_file.ts";

const SOURCE: ScanSource = { path: "/data/raft-log", purpose: "Cannot start", maxFrameBytes: 4096 };

const RECORDS: readonly LogRecord[] = [
  { kind: "append", entry: { index: 1, term: 1, command: "one" } },
  { kind: "append", entry: { index: 2, term: 1, command: Uint8Array.of(0, 2) } },
  { kind: "append", entry: { index: 3, term: 1, command: { key: "k", value: 3 } } },
  { kind: "truncate", after: 2 },
  { kind: "append", entry: { index: 3, term: 2, command: null } },
  { kind: "compact", index: 1, term: 1 },
  { kind: "append", entry: { index: 4, term: 2, command: [4, "four"] } },
];

function concatenate(parts: readonly Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    result.set(part, at);
    at += part.byteLength;
  }
  return result;
}

/** A log body (no header block) with one frame per record. */
function frameEach(records: readonly LogRecord[]): Uint8Array {
  return concatenate(records.flatMap((record) => encodeFrames([encodeRecord(record)], 4096)));
}

function replayAll(bytes: Uint8Array): LogReplay {
  const { frames, torn } = scanFrames(bytes, 0, SOURCE);
  assert.equal(torn, null);
  const replay = new LogReplay();
  frames.forEach((frame, position) => {
    for (const found of decodeRecords(frame, position + 1, SOURCE)) {
      assert.equal(replay.apply(found), null);
    }
  });
  return replay;
}

Deno.test("records come back from frames in order, with their bytes", () => {
  const encoded = RECORDS.map(encodeRecord);
  const frames = encodeFrames(encoded, 4096);
  assert.equal(frames.length, 1);
  const { frames: found } = scanFrames(frames[0], 0, SOURCE);
  const decoded = decodeRecords(found[0], 1, SOURCE);
  assert.deepEqual(decoded.map((item) => item.record), RECORDS);
  assert.deepEqual(decoded.map((item) => item.bytes), encoded);
});

Deno.test("encodeFrames fills each frame up to the bound and refuses a record above it", () => {
  const encoded = RECORDS.map(encodeRecord);
  const largest = Math.max(...encoded.map((record) => record.byteLength));
  const frames = encodeFrames(encoded, largest);
  for (const frame of frames) assert.ok(frame.byteLength - FRAME_HEADER_BYTES <= largest);
  const { frames: found } = scanFrames(concatenate(frames), 0, SOURCE);
  const decoded = found.flatMap((frame, position) => decodeRecords(frame, position + 1, SOURCE));
  assert.deepEqual(decoded.map((item) => item.record), RECORDS);
  assert.throws(() => encodeFrames(encoded, largest - 1), /a frame holds at most/);
});

Deno.test("replay follows truncations and compactions", () => {
  const replay = replayAll(frameEach(RECORDS));
  assert.equal(replay.compactedIndex, 1);
  assert.equal(replay.compactedTerm, 1);
  assert.deepEqual(replay.entries.map((live) => live.entry), [
    { index: 2, term: 1, command: Uint8Array.of(0, 2) },
    { index: 3, term: 2, command: null },
    { index: 4, term: 2, command: [4, "four"] },
  ]);
  // The live records rebuild the same log on their own.
  const rebuilt = replayAll(concatenate(encodeFrames(liveRecords(replay), 4096)));
  assert.deepEqual(rebuilt.entries.map((live) => live.entry), replay.entries.map((e) => e.entry));
  assert.equal(rebuilt.compactedIndex, 1);
});

Deno.test("replay keeps entries after a snapshot only when the snapshot ends on one of them", () => {
  const base: LogRecord[] = [1, 2, 3, 4].map((index) => ({
    kind: "append",
    entry: { index, term: index < 3 ? 1 : 2, command: index },
  }));
  const kept = replayAll(frameEach([...base, { kind: "compact", index: 3, term: 2 }]));
  assert.deepEqual(kept.entries.map((live) => live.entry.index), [4]);
  const conflicting = replayAll(frameEach([...base, { kind: "compact", index: 3, term: 5 }]));
  assert.deepEqual(conflicting.entries, []);
  assert.equal(conflicting.lastIndex, 3);
  const past = replayAll(frameEach([...base, { kind: "compact", index: 9, term: 3 }]));
  assert.equal(past.lastIndex, 9);
  assert.equal(past.lastTerm, 3);
});

Deno.test("replay refuses records that do not follow the log", () => {
  const replay = replayAll(frameEach(RECORDS.slice(0, 3)));
  const attempt = (record: LogRecord) => replay.apply({ record, bytes: encodeRecord(record) });
  assert.match(
    attempt({ kind: "append", entry: { index: 5, term: 1, command: 0 } }) ?? "",
    /entry 5 cannot follow the log, which ends at 3/,
  );
  assert.match(
    attempt({ kind: "append", entry: { index: 4, term: 0, command: 0 } }) ?? "",
    /has term 0, below the term 1/,
  );
  assert.equal(attempt({ kind: "compact", index: 2, term: 1 }), null);
  assert.match(attempt({ kind: "compact", index: 1, term: 1 }) ?? "", /goes back/);
  assert.match(attempt({ kind: "truncate", after: 1 }) ?? "", /reaches below compacted entry 2/);
});

Deno.test("a scan drops an unfinished last frame at every cut and refuses any flipped bit", () => {
  const body = frameEach(RECORDS);
  const { frames } = scanFrames(body, 0, SOURCE);
  const lastStart = frames.at(-1)?.offset as number;
  for (let cut = lastStart + 1; cut < body.byteLength; cut++) {
    const { frames: kept, torn } = scanFrames(body.subarray(0, cut), 0, SOURCE);
    assert.equal(kept.length, frames.length - 1);
    assert.equal(torn?.offset, lastStart);
    assert.equal(torn?.frameNumber, frames.length);
  }
  for (let offset = 0; offset < body.byteLength; offset++) {
    const flipped = body.slice();
    flipped[offset] ^= 0x80 >> (offset % 8);
    assert.throws(() => scanFrames(flipped, 0, SOURCE), CorruptFileError, `byte ${offset}`);
  }
});

Deno.test("a scan treats zeros after the last frame as a write that never landed", () => {
  const body = frameEach(RECORDS.slice(0, 2));
  for (const zeros of [1, 11, 12, 13, 500]) {
    const padded = concatenate([body, new Uint8Array(zeros)]);
    const { frames, torn } = scanFrames(padded, 0, SOURCE);
    assert.equal(frames.length, 2);
    assert.equal(torn?.offset, body.byteLength);
    assert.equal(torn?.lengthBytes, zeros);
  }
  // Zeros followed by data are damage, not an unfinished write.
  const hidden = concatenate([body, new Uint8Array(20), Uint8Array.of(1)]);
  assert.throws(() => scanFrames(hidden, 0, SOURCE), /header CRC mismatch/);
});

Deno.test("a frame above the bound is damage even when its header checks", () => {
  const frame = encodeFrames([encodeRecord(RECORDS[0])], 4096)[0];
  const source = { ...SOURCE, maxFrameBytes: 4 };
  assert.throws(() => scanFrames(frame, 0, source), /claims \d+ bytes, over the limit of 4/);
});

Deno.test("a frame that checks but holds malformed records is damage", () => {
  const malformed = [
    Uint8Array.of(9, 0, 0, 0, 1, 0xc0),
    Uint8Array.of(1, 0, 0, 0, 9, 0xc0),
    Uint8Array.of(1, 0, 0, 0, 1, 0xc1),
    Uint8Array.of(2, 0, 0, 0, 1, 0xff),
    Uint8Array.of(1, 0, 0),
  ];
  const reasons = [
    /unknown record kind 9/,
    /runs past the end of its frame/,
    /does not decode/,
    /truncate record does not hold an index/,
    /ends inside a record header/,
  ];
  malformed.forEach((payload, position) => {
    const frame = encodeFrames([payload], 4096)[0];
    const { frames } = scanFrames(frame, 0, SOURCE);
    assert.throws(() => decodeRecords(frames[0], 1, SOURCE), reasons[position]);
  });
});
