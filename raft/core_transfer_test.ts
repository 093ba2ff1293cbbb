/**
 * Leadership transfer (the Raft thesis, section 3.10): the leader stops taking proposals,
 * catches the target up, sends it TimeoutNow; the target campaigns at once, past PreVote and its
 * voters' lease, and wins. Given up after an election timeout.
 */
import assert from "node:assert/strict";
import type { AppendEntries, AppendEntriesReply, RequestVote, TimeoutNow } from "./messages.ts";
import { NO_LEADER } from "./core.ts";
import {
  appendReply,
  drain,
  loneCore,
  only,
  TestNetwork,
  tickMany,
} from "./testing/test_network.ts";

const ELECTION_TIMEOUT_TICKS = 10;

/** Peer 0, leader of term 2 over entries 1..3 of term 1, with PreVote and CheckQuorum on. */
function transferringLeader() {
  const core = loneCore({ terms: [1, 1, 1], term: 1, preVoteAndCheckQuorum: true });
  tickMany(core, ELECTION_TIMEOUT_TICKS);
  core.step({ type: "PreVoteReply", from: 1, to: 0, term: 2, voteGranted: true });
  core.step({ type: "RequestVoteReply", from: 1, to: 0, term: 2, voteGranted: true });
  assert.equal(core.role, "leader");
  drain(core);
  return core;
}

function ack(from: number, matchIndex: number): AppendEntriesReply {
  return appendReply({ from, matchIndex });
}

Deno.test("3.10: a leader whose target holds its whole log sends TimeoutNow at once, and takes no proposal meanwhile", () => {
  const core = transferringLeader();
  core.step(ack(1, 3));
  drain(core);
  core.transferLeadership(1);
  assert.deepEqual(only<TimeoutNow>(drain(core).messages), {
    type: "TimeoutNow",
    from: 0,
    to: 1,
    term: 2,
  });
  assert.equal(core.transferTarget, 1);
  assert.deepEqual(core.propose("x"), { index: -1, term: 2, isLeader: false });
});

Deno.test("3.10: a leader first catches the target up, then sends TimeoutNow", () => {
  const core = transferringLeader();
  core.transferLeadership(2);
  assert.deepEqual(drain(core).messages, [], "the probe at the log's end is out: wait for it");
  // Peer 2 lacks entry 3: the leader sends it, and only once it is held hands over.
  core.step(appendReply({ from: 2, success: false, conflictIndex: 3, rejectedIndex: 3 }));
  const sent = drain(core).messages as AppendEntries[];
  assert.deepEqual(sent.map((message) => [message.type, message.entries.length]), [
    ["AppendEntries", 1],
  ]);
  core.step(ack(2, 3));
  assert.deepEqual(only(drain(core).messages).type, "TimeoutNow");
});

Deno.test("3.10: a transfer not done within an election timeout is given up, and proposals are taken again", () => {
  const core = transferringLeader();
  core.step(ack(1, 3)); // a majority hears from the leader: CheckQuorum keeps it
  core.transferLeadership(2);
  tickMany(core, ELECTION_TIMEOUT_TICKS - 1);
  assert.equal(core.propose("x").isLeader, false);
  core.step(ack(1, 3));
  tickMany(core, 1);
  assert.deepEqual([core.role, core.transferTarget], ["leader", NO_LEADER]);
  assert.equal(core.propose("x").isLeader, true);
});

Deno.test("3.10: on TimeoutNow a follower campaigns at once, without PreVote, flagging its votes as a transfer", () => {
  const core = loneCore({ id: 1, terms: [1, 1], term: 2, preVoteAndCheckQuorum: true });
  core.step({ type: "TimeoutNow", from: 0, to: 1, term: 2 });
  assert.deepEqual([core.role, core.term, core.votedFor], ["candidate", 3, 1]);
  const messages = drain(core).messages;
  assert.deepEqual(messages[0], {
    type: "TimeoutNowReply",
    from: 1,
    to: 0,
    term: 2,
    accepted: true,
  });
  const votes = messages.slice(1) as RequestVote[];
  assert.deepEqual(votes.map((vote) => [vote.type, vote.term, vote.leadershipTransfer]), [
    ["RequestVote", 3, true],
    ["RequestVote", 3, true],
  ]);
});

Deno.test("3.10: a voter in its lease still votes for a transfer's candidate, and for no other", () => {
  const voter = loneCore({ id: 2, terms: [1, 1], term: 2, preVoteAndCheckQuorum: true });
  voter.step({
    type: "AppendEntries",
    from: 0,
    to: 2,
    term: 2,
    prevLogIndex: 2,
    prevLogTerm: 1,
    entries: [],
    leaderCommit: 0,
  });
  drain(voter);
  const request: RequestVote = {
    type: "RequestVote",
    from: 1,
    to: 2,
    term: 3,
    lastLogIndex: 2,
    lastLogTerm: 1,
  };
  voter.step(request);
  assert.deepEqual([voter.term, only(drain(voter).messages).term], [2, 2], "the lease holds");
  voter.step({ ...request, leadershipTransfer: true });
  assert.deepEqual([voter.term, voter.votedFor], [3, 1]);
});

Deno.test("3.10: a stale TimeoutNow is refused", () => {
  const core = loneCore({ id: 1, terms: [1], term: 4, preVoteAndCheckQuorum: true });
  core.step({ type: "TimeoutNow", from: 0, to: 1, term: 3 });
  assert.deepEqual(only(drain(core).messages), {
    type: "TimeoutNowReply",
    from: 1,
    to: 0,
    term: 4,
    accepted: false,
  });
  assert.deepEqual([core.role, core.term], ["follower", 4]);
});

Deno.test("3.10: in a group, the target wins the next term and the old leader follows it", () => {
  const network = new TestNetwork({ size: 5, seed: 8, preVoteAndCheckQuorum: true });
  network.run(60);
  const [first] = network.leaders();
  const term = network.core(first).term;
  network.propose(first, "before");
  network.run(5);
  const target = (first + 3) % 5;
  network.core(first).transferLeadership(target);
  network.processReadies();
  network.run(3);
  assert.deepEqual(network.leaders(), [target]);
  assert.equal(network.core(target).term, term + 1);
  assert.equal(network.core(first).role, "follower");
  const { isLeader } = network.propose(target, "after");
  assert.equal(isLeader, true);
  network.run(5);
  for (const id of network.ids) {
    assert.deepEqual(network.applied(id).slice(-2), ["before", "after"], `peer ${id}`);
  }
});

Deno.test("3.10: only a leader hands over, and only to another peer of the group", () => {
  const core = transferringLeader();
  assert.throws(() => core.transferLeadership(0), /cannot hand leadership to 0/);
  assert.throws(() => core.transferLeadership(7), /cannot hand leadership to 7/);
  const follower = loneCore({ terms: [1], term: 1 });
  assert.throws(() => follower.transferLeadership(1), /it is follower of term 1/);
});
