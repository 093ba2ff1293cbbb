/**
 * Raft paper, sections 5.1 (terms), 5.2 (leader election) and 5.4.1 (election restriction),
 * message by message and then with a small network of cores.
 */
import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { NO_LEADER } from "./core.ts";
import { NO_VOTE } from "./ready.ts";
import type { AppendEntries, Message, RequestVote, RequestVoteReply } from "./messages.ts";
import {
  appendReply,
  drain,
  loneCore,
  only,
  stateWithLog,
  TestNetwork,
  tickMany,
} from "./testing/test_network.ts";

function requestVote(fields: Partial<RequestVote> & { term: number }): RequestVote {
  return { type: "RequestVote", from: 1, to: 0, lastLogIndex: 0, lastLogTerm: 0, ...fields };
}

function heartbeat(fields: Partial<AppendEntries> & { term: number }): AppendEntries {
  return {
    type: "AppendEntries",
    from: 1,
    to: 0,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [],
    leaderCommit: 0,
    ...fields,
  };
}

function voteReply(from: number, term: number, voteGranted: boolean): RequestVoteReply {
  return { type: "RequestVoteReply", from, to: 0, term, voteGranted };
}

/** A candidate of term 1 in a group of `size`, with its RequestVotes already taken. */
function candidate(size: number) {
  const core = loneCore({ size });
  tickMany(core, 10);
  assert.equal(core.role, "candidate");
  return core;
}

// 5.1: terms ---------------------------------------------------------------------------------

Deno.test("5.1: any message with a higher term makes the peer a follower of that term", () => {
  const messages: Message[] = [
    requestVote({ term: 5 }),
    heartbeat({ term: 5 }),
    voteReply(1, 5, false),
    {
      type: "AppendEntriesReply",
      from: 1,
      to: 0,
      term: 5,
      success: false,
      matchIndex: 0,
      conflictIndex: 0,
      conflictTerm: -1,
      rejectedIndex: 0,
    },
    { type: "InstallSnapshotReply", from: 1, to: 0, term: 5, matchIndex: 0 },
  ];
  for (const message of messages) {
    for (const start of ["follower", "candidate", "leader"] as const) {
      const core = loneCore({ size: 3 });
      if (start !== "follower") tickMany(core, 10);
      if (start === "leader") core.step(voteReply(1, 1, true));
      assert.equal(core.role, start);
      drain(core);
      core.step(message);
      assert.equal(core.role, "follower", `${start} stepping ${message.type}`);
      assert.equal(core.term, 5);
      const fromLeader = message.type === "AppendEntries";
      assert.equal(core.leaderId, fromLeader ? 1 : NO_LEADER);
      assert.deepEqual(drain(core).hardState, {
        term: 5,
        votedFor: message.type === "RequestVote" ? 1 : NO_VOTE,
      });
    }
  }
});

Deno.test("5.1: a request with a stale term is refused with the current term", () => {
  const core = loneCore({ term: 4 });
  core.step(requestVote({ term: 3, lastLogIndex: 10, lastLogTerm: 3 }));
  core.step(heartbeat({ term: 3 }));
  core.step({
    type: "InstallSnapshot",
    from: 2,
    to: 0,
    term: 2,
    lastIncludedIndex: 5,
    lastIncludedTerm: 2,
    data: new Uint8Array(1),
    membership: { voters: [0, 1, 2], learners: [], addresses: {} },
  });
  const ready = drain(core);
  assert.deepEqual(ready.messages, [
    { type: "RequestVoteReply", from: 0, to: 1, term: 4, voteGranted: false },
    {
      type: "AppendEntriesReply",
      from: 0,
      to: 1,
      term: 4,
      success: false,
      matchIndex: 0,
      conflictIndex: 0,
      conflictTerm: -1,
      rejectedIndex: 0,
    },
    { type: "InstallSnapshotReply", from: 0, to: 2, term: 4, matchIndex: 0 },
  ]);
  assert.equal(ready.hardState, undefined);
  assert.equal(core.leaderId, NO_LEADER);
  assert.equal(core.log.snapshotIndex, 0);
});

Deno.test("5.1: a reply with a stale term is ignored", () => {
  const core = candidate(3);
  core.step(voteReply(1, 0, true));
  assert.equal(core.role, "candidate");
  assert.equal(drain(core).messages.length, 0);
});

// 5.2: leader election -----------------------------------------------------------------------

Deno.test("5.2: a follower that hears nothing starts an election after its timeout", () => {
  const core = loneCore({ size: 3, terms: [1, 1, 2], term: 2 });
  assert.deepEqual(tickMany(core, 9), []);
  const messages = tickMany(core, 1);
  assert.equal(core.role, "candidate");
  assert.equal(core.term, 3);
  assert.equal(core.votedFor, 0);
  assert.deepEqual(messages, [
    { type: "RequestVote", from: 0, to: 1, term: 3, lastLogIndex: 3, lastLogTerm: 2 },
    { type: "RequestVote", from: 0, to: 2, term: 3, lastLogIndex: 3, lastLogTerm: 2 },
  ]);
});

Deno.test("5.2: the election vote is persisted in the Ready that sends RequestVote", () => {
  const core = loneCore({ size: 3 });
  for (let tick = 0; tick < 10; tick++) core.tick();
  const ready = drain(core);
  assert.deepEqual(ready.hardState, { term: 1, votedFor: 0 });
  assert.equal(ready.messages.length, 2);
});

Deno.test("5.2: election timeouts are drawn from [T, 2T) and differ between peers", () => {
  const timeouts = new Set<number>();
  for (let seed = 1; seed <= 40; seed++) {
    const core = loneCore({ electionTimeoutTicks: 10, random: new SeededRandom(seed) });
    let ticks = 0;
    while (core.role === "follower" && ticks < 100) {
      core.tick();
      ticks++;
    }
    assert.ok(ticks >= 10 && ticks < 20, `seed ${seed} timed out after ${ticks} ticks`);
    timeouts.add(ticks);
  }
  assert.ok(timeouts.size >= 5, `only ${timeouts.size} distinct timeouts over 40 seeds`);
});

Deno.test("5.2: a candidate whose election times out starts another in a new term", () => {
  const core = candidate(3);
  drain(core);
  const messages = tickMany(core, 10);
  assert.equal(core.role, "candidate");
  assert.equal(core.term, 2);
  assert.equal(messages.length, 2);
  assert.ok(messages.every((message) => message.type === "RequestVote" && message.term === 2));
});

Deno.test("5.2: a candidate wins with votes from a majority, counting its own", () => {
  const cases: { size: number; grants: number[]; denials: number[]; role: string }[] = [
    { size: 1, grants: [], denials: [], role: "leader" },
    { size: 3, grants: [1], denials: [], role: "leader" },
    { size: 3, grants: [], denials: [1, 2], role: "candidate" },
    { size: 5, grants: [1], denials: [], role: "candidate" },
    { size: 5, grants: [1, 2], denials: [3, 4], role: "leader" },
    { size: 5, grants: [1, 1, 1], denials: [], role: "candidate" },
  ];
  for (const { size, grants, denials, role } of cases) {
    const core = loneCore({ size });
    tickMany(core, 10);
    for (const peer of grants) core.step(voteReply(peer, 1, true));
    for (const peer of denials) core.step(voteReply(peer, 1, false));
    assert.equal(core.role, role, `size ${size}, grants ${grants}, denials ${denials}`);
  }
});

Deno.test("5.2: a new leader asserts itself at once with AppendEntries to every follower", () => {
  const core = loneCore({ size: 3, terms: [1, 1], term: 1 });
  tickMany(core, 10);
  core.step(voteReply(2, 2, true));
  assert.equal(core.role, "leader");
  assert.equal(core.leaderId, 0);
  const messages = drain(core).messages;
  assert.deepEqual(messages.map((message) => [message.type, message.to]), [
    ["AppendEntries", 1],
    ["AppendEntries", 2],
  ]);
  const append = messages[0] as AppendEntries;
  assert.equal(append.prevLogIndex, 2);
  assert.equal(append.prevLogTerm, 1);
  assert.deepEqual(append.entries, []);
});

Deno.test("5.2: a candidate steps down on AppendEntries from a leader of its term", () => {
  const core = candidate(3);
  drain(core);
  core.step(heartbeat({ from: 2, term: 1 }));
  assert.equal(core.role, "follower");
  assert.equal(core.leaderId, 2);
  assert.equal(core.votedFor, 0, "the vote of the term stays");
  const reply = only(drain(core).messages);
  assert.equal(reply.type, "AppendEntriesReply");
  assert.equal(reply.to, 2);
});

Deno.test("5.2: a leader sends heartbeats every heartbeatTicks and never times out", () => {
  const core = loneCore({ size: 3, heartbeatTicks: 3 });
  tickMany(core, 10);
  core.step(voteReply(1, 1, true));
  drain(core);
  const perTick: number[] = [];
  for (let tick = 0; tick < 60; tick++) perTick.push(tickMany(core, 1).length);
  assert.equal(core.role, "leader");
  assert.equal(core.term, 1);
  assert.deepEqual(perTick.slice(0, 6), [0, 0, 2, 0, 0, 2]);
  assert.equal(perTick.reduce((sum, count) => sum + count, 0), 40);
});

Deno.test("5.2: heartbeats from the leader keep a follower from starting an election", () => {
  const core = loneCore({ term: 1 });
  for (let tick = 0; tick < 100; tick++) {
    core.tick();
    if (tick % 5 === 0) core.step(heartbeat({ term: 1 }));
  }
  assert.equal(core.role, "follower");
  assert.equal(core.term, 1);
  assert.equal(core.leaderId, 1);
});

// 5.2 and 5.4.1: voting rules ----------------------------------------------------------------

Deno.test("5.2: one vote per term, first come first served; a repeated request is granted again", () => {
  const core = loneCore({ size: 3, term: 1 });
  core.step(requestVote({ from: 1, term: 2 }));
  core.step(requestVote({ from: 2, term: 2 }));
  core.step(requestVote({ from: 1, term: 2 }));
  const ready = drain(core);
  assert.deepEqual(
    ready.messages.map((message) => [message.to, (message as RequestVoteReply).voteGranted]),
    [[1, true], [2, false], [1, true]],
  );
  assert.deepEqual(ready.hardState, { term: 2, votedFor: 1 });
  core.step(requestVote({ from: 2, term: 3 }));
  assert.equal(
    (only(drain(core).messages) as RequestVoteReply).voteGranted,
    true,
    "a new term frees the vote",
  );
});

Deno.test("5.2: a vote is persisted in the same Ready as the reply that grants it", () => {
  const core = loneCore({ term: 1 });
  core.step(requestVote({ term: 1 }));
  const ready = drain(core);
  assert.deepEqual(ready.hardState, { term: 1, votedFor: 1 });
  assert.equal((only(ready.messages) as RequestVoteReply).voteGranted, true);
});

Deno.test("5.2: candidates and leaders refuse votes to others in their term", () => {
  const core = candidate(3);
  core.step(requestVote({ from: 2, term: 1 }));
  const replies = drain(core).messages.filter((message) => message.type === "RequestVoteReply");
  assert.equal((only(replies) as RequestVoteReply).voteGranted, false);
  core.step(voteReply(1, 1, true));
  assert.equal(core.role, "leader");
  drain(core);
  core.step(requestVote({ from: 2, term: 1, lastLogIndex: 99, lastLogTerm: 1 }));
  assert.equal((only(drain(core).messages) as RequestVoteReply).voteGranted, false);
  assert.equal(core.role, "leader");
});

Deno.test("5.4.1: a vote goes only to a candidate whose log is at least as up to date", () => {
  // The voter's log ends at index 3 with term 2.
  const cases: { lastLogIndex: number; lastLogTerm: number; granted: boolean }[] = [
    { lastLogIndex: 3, lastLogTerm: 2, granted: true },
    { lastLogIndex: 4, lastLogTerm: 2, granted: true },
    { lastLogIndex: 2, lastLogTerm: 2, granted: false },
    { lastLogIndex: 1, lastLogTerm: 3, granted: true },
    { lastLogIndex: 9, lastLogTerm: 1, granted: false },
    { lastLogIndex: 0, lastLogTerm: 0, granted: false },
  ];
  for (const { lastLogIndex, lastLogTerm, granted } of cases) {
    const core = loneCore({ terms: [1, 2, 2], term: 2 });
    core.step(requestVote({ term: 3, lastLogIndex, lastLogTerm }));
    const ready = drain(core);
    const reply = only(ready.messages) as RequestVoteReply;
    assert.equal(reply.voteGranted, granted, `candidate log ends ${lastLogIndex}/${lastLogTerm}`);
    assert.equal(reply.term, 3);
    assert.deepEqual(ready.hardState, { term: 3, votedFor: granted ? 1 : NO_VOTE });
  }
});

Deno.test("5.4.1: the up-to-date check uses the snapshot when the log is empty", () => {
  const snapshot = { index: 5, term: 3, data: new Uint8Array(1) };
  const core = loneCore({ snapshot, term: 3 });
  core.step(requestVote({ term: 4, lastLogIndex: 4, lastLogTerm: 3 }));
  assert.equal((only(drain(core).messages) as RequestVoteReply).voteGranted, false);
  core.step(requestVote({ from: 2, term: 5, lastLogIndex: 5, lastLogTerm: 3 }));
  assert.equal((only(drain(core).messages) as RequestVoteReply).voteGranted, true);
});

Deno.test("5.2: granting a vote restarts the election timer; refusing does not", () => {
  const granting = loneCore({ term: 1 });
  tickMany(granting, 9);
  granting.step(requestVote({ term: 1 }));
  drain(granting);
  tickMany(granting, 9);
  assert.equal(granting.role, "follower", "the timer restarted when the vote was granted");

  const refusing = loneCore({ terms: [1, 1], term: 1 });
  tickMany(refusing, 9);
  refusing.step(requestVote({ term: 1, lastLogIndex: 1, lastLogTerm: 1 }));
  drain(refusing);
  tickMany(refusing, 1);
  assert.equal(refusing.role, "candidate", "a refused vote did not restart the timer");
});

// 5.2 with a network ---------------------------------------------------------------------------

Deno.test("5.2: a group elects exactly one leader that every peer follows", () => {
  for (const size of [1, 3, 5]) {
    for (let seed = 1; seed <= 10; seed++) {
      const network = new TestNetwork({ size, seed });
      network.run(40);
      const leaders = network.leaders();
      assert.equal(leaders.length, 1, `size ${size} seed ${seed}`);
      for (const id of network.ids) {
        assert.equal(network.core(id).leaderId, leaders[0]);
        assert.equal(network.core(id).term, network.core(leaders[0]).term);
      }
    }
  }
});

Deno.test("5.2: a new leader is elected when the leader is cut off, and the old one steps down on return", () => {
  const network = new TestNetwork({ size: 3, seed: 7 });
  network.run(40);
  const [first] = network.leaders();
  const firstTerm = network.core(first).term;
  network.isolate(first);
  network.run(40);
  const second = network.leaders().find((id) => id !== first);
  assert.ok(second !== undefined, "the majority elected a new leader");
  assert.ok(network.core(second).term > firstTerm);
  assert.equal(network.core(first).role, "leader", "the cut-off leader cannot know yet");
  network.heal(first);
  network.run(10);
  assert.deepEqual(network.leaders(), [second]);
  assert.equal(network.core(first).leaderId, second);
});

Deno.test("5.2: no leader is elected without a majority, and one is once it returns", () => {
  const network = new TestNetwork({ size: 5, seed: 3 });
  for (const id of [0, 1, 2]) network.isolate(id);
  network.run(100);
  assert.deepEqual(network.leaders(), []);
  network.heal(0);
  network.run(60);
  assert.equal(network.leaders().length, 1);
  assert.ok(![1, 2].includes(network.leaders()[0]));
});

Deno.test("5.4.1: a peer with a stale log cannot become leader", () => {
  const restored = new Map([
    [0, stateWithLog([1], 2)],
    [1, stateWithLog([1, 2], 2)],
    [2, stateWithLog([1, 2], 2)],
  ]);
  const network = new TestNetwork({ size: 3, seed: 11, restored });
  network.timeOut(0);
  network.deliverAll();
  assert.equal(network.core(0).role, "candidate", "peers 1 and 2 refused the stale log");
  network.run(60);
  const [leader] = network.leaders();
  assert.ok(leader === 1 || leader === 2);
});

// Section 8 of the paper: a leader's first entry -----------------------------------------------

Deno.test("8: with noOpOnElection a new leader appends an entry of its term, and so commits its predecessors' entries with no write", () => {
  for (const noOpOnElection of [false, true]) {
    // Entries 1 and 2 of term 1, committed by term 1's leader, but this peer never heard so.
    const core = loneCore({ terms: [1, 1], noOpOnElection });
    tickMany(core, 10);
    core.step(voteReply(1, 2, true));
    assert.equal(core.role, "leader");
    drain(core);
    const lastIndex = core.log.lastIndex;
    assert.equal(lastIndex, noOpOnElection ? 3 : 2);
    if (noOpOnElection) {
      assert.equal(core.log.entry(3).command, null);
    }
    // Both followers hold everything the leader holds.
    for (const from of [1, 2]) core.step(appendReply({ from, term: 2, matchIndex: lastIndex }));
    // Entries of term 1 commit only with one of term 2 (section 5.4.2).
    assert.equal(core.commitIndex, noOpOnElection ? 3 : 0);
  }
});
