import assert from "node:assert/strict";
import { messageProblem } from "../raft/messages.ts";
import { type ChunkMessage, chunkMessageProblem, hasType } from "./chunk_messages.ts";

const CHUNKS: ChunkMessage[] = [
  {
    type: "InstallSnapshotChunk",
    from: 1,
    to: 0,
    term: 3,
    lastIncludedIndex: 9,
    lastIncludedTerm: 3,
    membership: { voters: [0, 1, 2], learners: [], addresses: {} },
    offset: 4,
    totalBytes: 5,
    data: new Uint8Array([1]),
    done: true,
  },
  { type: "InstallSnapshotChunkAck", from: 0, to: 1, term: 3, receivedBytes: 4 },
];

Deno.test("chunkMessageProblem accepts chunk messages, which messageProblem keeps from cores", () => {
  for (const message of CHUNKS) {
    assert.equal(chunkMessageProblem(message), null, message.type);
    assert.equal(messageProblem(message), `Message type "${message.type}" is unknown`);
  }
});

Deno.test("chunkMessageProblem names what is wrong with a malformed chunk message", () => {
  const [chunk, ack] = CHUNKS;
  const vote = { type: "RequestVote", from: 1, to: 0, term: 3, lastLogIndex: 4, lastLogTerm: 2 };
  const cases: [unknown, string][] = [
    [null, "Message is not an object"],
    [vote, 'Message type "RequestVote" is unknown'],
    [{ ...chunk, term: -1 }, "InstallSnapshotChunk has no whole-number field term"],
    [{ ...chunk, data: [1] }, "InstallSnapshotChunk field data is not a byte array"],
    [{ ...chunk, done: 1 }, "InstallSnapshotChunk field done is not a boolean"],
    [{ ...chunk, offset: undefined }, "InstallSnapshotChunk field offset is not a whole number"],
    [{ ...chunk, totalBytes: 0.5 }, "InstallSnapshotChunk field totalBytes is not a whole number"],
    [
      { ...ack, receivedBytes: "4" },
      "InstallSnapshotChunkAck field receivedBytes is not a whole number",
    ],
  ];
  for (const [value, problem] of cases) assert.equal(chunkMessageProblem(value), problem);
});

Deno.test("hasType reads the claimed type of anything, malformed or not", () => {
  assert.equal(hasType(CHUNKS[0], "InstallSnapshotChunk"), true);
  assert.equal(hasType({ type: "InstallSnapshotChunk" }, "InstallSnapshotChunk"), true);
  assert.equal(hasType(CHUNKS[1], "InstallSnapshotChunk"), false);
  for (const value of [null, undefined, 7, "InstallSnapshotChunk", []]) {
    assert.equal(hasType(value, "InstallSnapshotChunk"), false);
  }
});
