import assert from "node:assert/strict";
import { encode } from "../rpc/codec.ts";
import {
  estimateEncodedBytes,
  isRequest,
  type Message,
  messageProblem,
  REPLY_TYPE_OF,
} from "./messages.ts";

const VALID: Message[] = [
  { type: "RequestVote", from: 1, to: 0, term: 3, lastLogIndex: 4, lastLogTerm: 2 },
  { type: "RequestVoteReply", from: 0, to: 1, term: 3, voteGranted: true },
  {
    type: "AppendEntries",
    from: 1,
    to: 0,
    term: 3,
    prevLogIndex: 4,
    prevLogTerm: 2,
    entries: [{ index: 5, term: 3, command: { op: "put" } }, { index: 6, term: 3, command: 7 }],
    leaderCommit: 4,
    readRound: 2,
  },
  {
    type: "AppendEntriesReply",
    from: 0,
    to: 1,
    term: 3,
    success: false,
    matchIndex: 0,
    conflictIndex: 3,
    conflictTerm: -1,
    rejectedIndex: 0,
  },
  {
    type: "InstallSnapshot",
    from: 1,
    to: 0,
    term: 3,
    lastIncludedIndex: 9,
    lastIncludedTerm: 3,
    data: new Uint8Array([1]),
    membership: { voters: [0, 1, 2], learners: [], addresses: {} },
  },
  { type: "InstallSnapshotReply", from: 0, to: 1, term: 3, matchIndex: 9 },
  { type: "ReadIndex", from: 0, to: 1, term: 3, readId: 12, lease: true },
  { type: "ReadIndexReply", from: 1, to: 0, term: 3, readId: 12, index: -1 },
];

Deno.test("messageProblem accepts every well-formed message", () => {
  for (const message of VALID) assert.equal(messageProblem(message), null, message.type);
});

Deno.test("messageProblem names what is wrong with a malformed message", () => {
  const [vote, , append, appendReply, snapshot, , read] = VALID;
  const cases: [unknown, string][] = [
    [null, "Message is not an object"],
    [[1], "Message is not an object"],
    [{ ...vote, type: "Vote" }, 'Message type "Vote" is unknown'],
    [{ ...vote, term: -1 }, "RequestVote has no whole-number field term"],
    [{ ...vote, from: "1" }, "RequestVote has no whole-number field from"],
    [{ ...vote, lastLogIndex: 1.5 }, "RequestVote field lastLogIndex is not a whole number"],
    [{ ...VALID[1], voteGranted: 1 }, "RequestVoteReply field voteGranted is not a boolean"],
    [{ ...append, entries: {} }, "AppendEntries field entries is not an array"],
    [
      { ...append, entries: [{ index: 6, term: 3, command: 0 }] },
      "AppendEntries entry 0 is not an entry with index 5",
    ],
    [{ ...snapshot, data: [1] }, "InstallSnapshot field data is not a byte array"],
    [
      { ...snapshot, membership: { voters: [0, 0], learners: [], addresses: {} } },
      "InstallSnapshot carries no sound membership: the membership repeats an id: 0, 0",
    ],
    [
      { ...append, entries: [{ index: 5, term: 3, command: { raftMembership: { voters: "0" } } }] },
      "AppendEntries entry 5 is a membership entry, but the membership's voters are not a list",
    ],
    [{ ...append, readRound: -1 }, "AppendEntries field readRound is not a whole number"],
    [
      { ...appendReply, readRound: "2" },
      "AppendEntriesReply field readRound is not a whole number",
    ],
    [{ ...read, lease: false }, "ReadIndex field lease is not true"],
    [{ ...read, readId: 0.5 }, "ReadIndex field readId is not a whole number"],
  ];
  for (const [value, problem] of cases) assert.equal(messageProblem(value), problem);
});

Deno.test("requests and their reply types", () => {
  assert.deepEqual(VALID.map(isRequest), [true, false, true, false, true, false, true, false]);
  for (let position = 0; position < VALID.length; position += 2) {
    const request = VALID[position];
    assert.ok(isRequest(request));
    assert.equal(REPLY_TYPE_OF[request.type], VALID[position + 1].type);
  }
});

Deno.test("estimateEncodedBytes stays close to the real encoding", () => {
  const values: unknown[] = [
    new Uint8Array(5000),
    "x".repeat(300),
    { key: "k".repeat(20), value: "v".repeat(100), clientId: 123456789, sequence: 42 },
    [1, 2, 3, "four", { five: 5 }, 1.5, -70_000, true, null],
  ];
  for (const value of values) {
    const actual = encode(value).byteLength;
    const estimate = estimateEncodedBytes(value);
    assert.ok(Math.abs(estimate - actual) <= actual / 10 + 2, `${estimate} vs ${actual}`);
  }
});

Deno.test("estimateEncodedBytes walks a bounded number of nodes", () => {
  const wide = Array.from({ length: 100_000 }, (_, position) => position);
  assert.equal(estimateEncodedBytes(wide, 10), 5 + 9 * 100_000);
  let deep: unknown = 1;
  for (let depth = 0; depth < 10_000; depth++) deep = [deep];
  assert.ok(estimateEncodedBytes(deep, 100) > 0);
});
