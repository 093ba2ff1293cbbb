/**
 * The Raft thesis's defences against disruptive peers: PreVote (section 9.6) and CheckQuorum
 * with its vote lease (sections 6.2 and 4.2.3), both on by default in the core.
 */
import assert from "node:assert/strict";
import type { Message, PreVote, PreVoteReply, RequestVote } from "./messages.ts";
import { NO_VOTE } from "./ready.ts";
import { append, drain, loneCore, only, TestNetwork, tickMany } from "./testing/test_network.ts";

const ELECTION_TIMEOUT_TICKS = 10;

function preVoteReply(fields: Partial<PreVoteReply>): PreVoteReply {
  return { type: "PreVoteReply", from: 1, to: 0, term: 2, voteGranted: true, ...fields };
}

/** Peer 0, leader of term 2 in a group of three, with PreVote and CheckQuorum on. */
function checkingLeader() {
  const core = loneCore({ terms: [1], term: 1, preVoteAndCheckQuorum: true });
  tickMany(core, ELECTION_TIMEOUT_TICKS);
  core.step(preVoteReply({}));
  core.step({ type: "RequestVoteReply", from: 1, to: 0, term: 2, voteGranted: true });
  assert.equal(core.role, "leader");
  drain(core);
  return core;
}

function vote(type: "RequestVote" | "PreVote", term: number, lastLogIndex = 5): Message {
  const request: RequestVote | PreVote = {
    type,
    from: 1,
    to: 0,
    term,
    lastLogIndex,
    lastLogTerm: 1,
  };
  return request;
}

Deno.test("9.6: an election timeout starts a pre-vote: no new term, no vote, a PreVote for the next term", () => {
  const core = loneCore({ terms: [1, 1], term: 1, preVoteAndCheckQuorum: true });
  const messages = tickMany(core, ELECTION_TIMEOUT_TICKS);
  assert.deepEqual([core.role, core.term, core.votedFor], ["precandidate", 1, NO_VOTE]);
  assert.deepEqual(
    messages.map((message) => [message.type, message.to, message.term]),
    [["PreVote", 1, 2], ["PreVote", 2, 2]],
  );
  assert.equal(drain(core).hardState, undefined, "nothing to persist: no term, no vote");
});

Deno.test("9.6: a majority of pre-votes starts the real election in the next term", () => {
  const core = loneCore({ terms: [1], term: 1, preVoteAndCheckQuorum: true });
  tickMany(core, ELECTION_TIMEOUT_TICKS);
  core.step(preVoteReply({ voteGranted: false, term: 1 }));
  assert.equal(core.role, "precandidate", "a refusal in its own term changes nothing");
  core.step(preVoteReply({ from: 2 }));
  assert.deepEqual([core.role, core.term, core.votedFor], ["candidate", 2, 0]);
  const requests = drain(core).messages.filter((message) => message.type === "RequestVote");
  assert.deepEqual(requests.map((message) => message.term), [2, 2]);
});

Deno.test("9.6: a peer grants a pre-vote without taking its term or a vote, and refuses a shorter log", () => {
  const core = loneCore({ terms: [1, 1, 1, 1, 1], term: 1, preVoteAndCheckQuorum: true });
  tickMany(core, ELECTION_TIMEOUT_TICKS + 5); // long past any lease: it heard from no leader
  drain(core);
  core.step(vote("PreVote", 2));
  assert.deepEqual(only(drain(core).messages), {
    type: "PreVoteReply",
    from: 0,
    to: 1,
    term: 2,
    voteGranted: true,
  });
  assert.equal(core.term, 1);
  core.step(vote("PreVote", 2, 3));
  assert.deepEqual(
    only<PreVoteReply>(drain(core).messages),
    { type: "PreVoteReply", from: 0, to: 1, term: 1, voteGranted: false },
    "a shorter log cannot win: refused with this peer's own term",
  );
});

Deno.test("9.6: a refusal from a later term makes the pre-candidate a follower of that term", () => {
  const core = loneCore({ terms: [1], term: 1, preVoteAndCheckQuorum: true });
  tickMany(core, ELECTION_TIMEOUT_TICKS);
  core.step(preVoteReply({ voteGranted: false, term: 7 }));
  assert.deepEqual([core.role, core.term], ["follower", 7]);
});

Deno.test("9.6: a pre-candidate that hears from a leader of its term follows it", () => {
  const core = loneCore({ terms: [1], term: 1, preVoteAndCheckQuorum: true });
  tickMany(core, ELECTION_TIMEOUT_TICKS);
  core.step(append({ from: 2, term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1 }));
  assert.deepEqual([core.role, core.leaderId, core.term], ["follower", 2, 1]);
});

Deno.test("9.6: a peer cut off for many timeouts keeps its term and cannot depose the leader when it returns", () => {
  const network = new TestNetwork({ size: 3, seed: 3, preVoteAndCheckQuorum: true });
  network.run(40);
  const [first] = network.leaders();
  const term = network.core(first).term;
  const loner = (first + 1) % 3;
  network.isolate(loner);
  network.run(20 * ELECTION_TIMEOUT_TICKS);
  assert.equal(network.core(loner).term, term, "its pre-votes failed: no term was taken");
  network.heal(loner);
  network.run(5 * ELECTION_TIMEOUT_TICKS);
  assert.deepEqual(network.leaders(), [first]);
  assert.equal(network.core(first).term, term);
});

Deno.test("4.2.3: a peer that heard from its leader within an election timeout refuses votes of later terms, keeping its term", () => {
  const core = loneCore({ terms: [1], term: 1, preVoteAndCheckQuorum: true });
  core.step(append({ from: 2, term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 0 }));
  drain(core);
  for (const type of ["RequestVote", "PreVote"] as const) {
    core.step(vote(type, 5));
    const reply = only(drain(core).messages) as Message & { voteGranted: boolean };
    assert.deepEqual([reply.type, reply.term, reply.voteGranted], [`${type}Reply`, 1, false]);
  }
  assert.deepEqual([core.term, core.votedFor, core.leaderId], [1, NO_VOTE, 2]);
  // One tick short of an election timeout of silence the lease still holds; then it is over.
  tickMany(core, ELECTION_TIMEOUT_TICKS - 1);
  core.step(vote("RequestVote", 5));
  assert.deepEqual([core.term, core.votedFor], [1, NO_VOTE]);
  drain(core);
  tickMany(core, 1);
  core.step(vote("RequestVote", 5));
  assert.deepEqual([core.term, core.votedFor], [5, 1]);
});

Deno.test("6.2: a leader that hears from no majority for an election timeout steps down in its term", () => {
  const core = checkingLeader();
  const term = core.term;
  tickMany(core, ELECTION_TIMEOUT_TICKS - 1);
  assert.equal(core.role, "leader");
  tickMany(core, 1);
  assert.deepEqual([core.role, core.term, core.leaderId], ["follower", term, -1]);
});

Deno.test("6.2: a leader that hears from a majority every election timeout stays", () => {
  const core = checkingLeader();
  for (let period = 0; period < 5; period++) {
    tickMany(core, ELECTION_TIMEOUT_TICKS - 1);
    core.step({
      type: "AppendEntriesReply",
      from: 1,
      to: 0,
      term: core.term,
      success: true,
      matchIndex: 1,
      conflictIndex: 0,
      conflictTerm: -1,
      rejectedIndex: 0,
    });
    tickMany(core, 1);
    assert.equal(core.role, "leader", `period ${period}`);
  }
});
