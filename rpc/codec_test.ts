import assert from "node:assert/strict";
import {
  CodecError,
  decode,
  encode,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameReader,
} from "./codec.ts";
import { errorText } from "../util/error_text.ts";

const sampleValues: unknown[] = [
  [0, 7, "Raft.AppendEntries", { term: 3, entries: [{ index: 1, command: "x" }] }],
  [1, 7, true, null],
  [1, 8, false, 'No method named "Nope"'],
  { bytes: new Uint8Array([1, 2, 3, 250]) },
  "",
];

function concatenate(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

Deno.test("encode and decode round-trip plain values", () => {
  for (const value of sampleValues) assert.deepEqual(decode(encode(value)), value);
});

Deno.test("decode refuses bytes that are not MessagePack", () => {
  assert.throws(() => decode(new Uint8Array([0xc1])), CodecError);
  // A complete value followed by leftovers is not one message.
  assert.throws(() => decode(new Uint8Array([0x01, 0x02])), CodecError);
});

Deno.test("encodeFrame writes a big-endian length prefix before the body", () => {
  const frame = encodeFrame("hi");
  const body = encode("hi");
  assert.equal(frame.length, FRAME_HEADER_BYTES + body.length);
  assert.equal(new DataView(frame.buffer).getUint32(0), body.length);
  assert.deepEqual(frame.subarray(FRAME_HEADER_BYTES), body);
});

Deno.test("encodeFrame refuses a body over the limit", () => {
  assert.throws(() => encodeFrame("x".repeat(100), 50), (error: unknown) => {
    assert.ok(error instanceof CodecError);
    assert.match(error.message, /limit is 50 bytes/);
    return true;
  });
});

Deno.test("FrameReader reassembles frames split at every byte boundary", () => {
  const stream = concatenate(sampleValues.map((value) => encodeFrame(value)));
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new FrameReader();
    const values = [...reader.push(stream.slice(0, cut)), ...reader.push(stream.slice(cut))];
    assert.deepEqual(values, sampleValues, `split at byte ${cut}`);
    assert.equal(reader.bufferedBytes, 0);
  }
});

Deno.test("FrameReader reassembles frames fed one byte at a time", () => {
  const stream = concatenate(sampleValues.map((value) => encodeFrame(value)));
  const reader = new FrameReader();
  const values: unknown[] = [];
  for (let index = 0; index < stream.length; index++) {
    values.push(...reader.push(stream.subarray(index, index + 1)));
  }
  assert.deepEqual(values, sampleValues);
});

Deno.test("FrameReader returns several frames from one chunk, in order", () => {
  const reader = new FrameReader();
  const frames = sampleValues.map((value) => encodeFrame(value));
  const partialNext = encodeFrame("next");
  const chunk = concatenate([...frames, partialNext.subarray(0, 6)]);
  assert.deepEqual(reader.push(chunk), sampleValues);
  assert.equal(reader.bufferedBytes, 6);
  assert.deepEqual(reader.push(partialNext.subarray(6)), ["next"]);
});

Deno.test("FrameReader refuses an oversized length prefix before the body arrives", () => {
  const reader = new FrameReader(1024);
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, 1025);
  assert.throws(() => reader.push(header), (error: unknown) => {
    assert.ok(error instanceof CodecError);
    assert.match(errorText(error), /1025 bytes is over the limit of 1024 bytes/);
    return true;
  });
});

Deno.test("FrameReader accepts a frame exactly at the limit", () => {
  const frame = encodeFrame("x".repeat(20));
  const bodyBytes = frame.length - FRAME_HEADER_BYTES;
  assert.deepEqual(new FrameReader(bodyBytes).push(frame), ["x".repeat(20)]);
});

Deno.test("FrameReader refuses a complete frame whose body is not MessagePack", () => {
  const reader = new FrameReader();
  const frame = new Uint8Array([0, 0, 0, 1, 0xc1]);
  assert.throws(() => reader.push(frame), CodecError);
});
