/**
 * Reads without log writes (the Raft thesis, section 6.4): ReadIndex confirmed by a round of
 * appends, the wait for a commit of the leader's term, followers' reads forwarded to the leader,
 * and lease reads (section 6.4.1) with CheckQuorum.
 */
import assert from "node:assert/strict";
import type {
  AppendEntries,
  AppendEntriesReply,
  ReadIndex,
  ReadIndexReply,
  RequestVoteReply,
} from "./messages.ts";
import { RaftCore } from "./core.ts";
import type { ReadState } from "./ready.ts";
import {
  append,
  appendReply,
  drain,
  leader,
  loneCore,
  lowestRandom,
  only,
  termsOf,
  tickMany,
} from "./testing/test_network.ts";

const ELECTION_TIMEOUT_TICKS = 10;

/** Peer 0, leader of term 2 in a group of 3, with entry 2 of its term committed. */
function committedLeader(checkQuorum = false): RaftCore {
  const core = loneCore({ terms: [1], term: 1, preVoteAndCheckQuorum: checkQuorum });
  tickMany(core, ELECTION_TIMEOUT_TICKS);
  if (checkQuorum) core.step({ type: "PreVoteReply", from: 1, to: 0, term: 2, voteGranted: true });
  core.step({ type: "RequestVoteReply", from: 1, to: 0, term: 2, voteGranted: true });
  assert.equal(core.role, "leader");
  core.propose("x");
  drain(core);
  core.step(appendReply({ from: 1, matchIndex: 2 }));
  drain(core);
  assert.equal(core.commitIndex, 2);
  return core;
}

/** The acknowledgement of a round's append by `from`. */
function echo(from: number, readRound: number, matchIndex = 0): AppendEntriesReply {
  return appendReply({ from, matchIndex, readRound });
}

/** The read outcomes `core` hands out now (none: an empty list). */
function outcomes(core: RaftCore): readonly ReadState[] {
  return drain(core).readStates ?? [];
}

/** The round each append of `messages` carries, by receiver. */
function rounds(messages: readonly unknown[]): [number, number | undefined][] {
  return (messages as AppendEntries[]).map((message) => [message.to, message.readRound]);
}

Deno.test("6.4: a leader confirms a read with one round of appends; the read index is its commit index", () => {
  const core = committedLeader();
  core.readIndex(1);
  const ready = drain(core);
  assert.equal(ready.readStates, undefined);
  assert.deepEqual(rounds(ready.messages), [[1, 1], [2, 1]]);
  assert.ok(ready.messages.every((message) => (message as AppendEntries).entries.length === 0));
  core.step(echo(2, 1));
  assert.deepEqual(outcomes(core), [{ id: 1, index: 2 }]);
});

Deno.test("6.4: reads asked before a round's appends leave share it; a later read needs a new round", () => {
  const core = committedLeader();
  core.readIndex(1);
  core.readIndex(2);
  assert.deepEqual(rounds(drain(core).messages), [[1, 1], [2, 1]]);
  core.readIndex(3);
  assert.deepEqual(rounds(drain(core).messages), [[1, 2], [2, 2]]);
  // An answer without a round, or to an earlier round, confirms nothing more.
  core.step(appendReply({ from: 1, matchIndex: 2 }));
  assert.deepEqual(outcomes(core), []);
  core.step(echo(1, 1, 2));
  assert.deepEqual(outcomes(core), [{ id: 1, index: 2 }, { id: 2, index: 2 }]);
  core.step(echo(1, 1, 2));
  assert.deepEqual(outcomes(core), []);
  core.step(echo(2, 2));
  assert.deepEqual(outcomes(core), [{ id: 3, index: 2 }]);
});

Deno.test("6.4: a new leader serves no read before it commits an entry of its term, and appends a no-op to get there", () => {
  const core = leader(3, [1, 1]);
  core.readIndex(1);
  core.readIndex(2);
  assert.deepEqual(outcomes(core), []);
  // One no-op for both: its membership, unchanged.
  assert.deepEqual(termsOf(core), [1, 1, 2]);
  assert.deepEqual(core.log.entry(3).command, { raftMembership: core.membership });
  core.step(appendReply({ from: 1, matchIndex: 3 }));
  const ready = drain(core);
  assert.equal(core.commitIndex, 3);
  assert.equal(ready.readStates, undefined);
  const round = (ready.messages as AppendEntries[]).filter((message) => message.readRound === 1);
  assert.deepEqual(round.map((message) => message.to), [1, 2]);
  core.step(echo(1, 1, 3));
  assert.deepEqual(outcomes(core), [{ id: 1, index: 3 }, { id: 2, index: 3 }]);
});

Deno.test("6.4: a deposed leader refuses the reads it has not confirmed", () => {
  const core = committedLeader();
  core.readIndex(1);
  drain(core);
  core.step(append({ from: 1, term: 3, prevLogIndex: 0 }));
  assert.equal(core.role, "follower");
  assert.deepEqual(outcomes(core), [{ id: 1, index: -1 }]);
});

Deno.test("a read left unconfirmed for an election timeout is refused", () => {
  const core = committedLeader();
  core.readIndex(1);
  drain(core);
  const seen: ReadState[] = [];
  for (let tick = 1; tick <= ELECTION_TIMEOUT_TICKS; tick++) {
    core.tick();
    for (const state of outcomes(core)) seen.push(state);
    if (tick < ELECTION_TIMEOUT_TICKS) assert.deepEqual(seen, [], `after ${tick} ticks`);
  }
  assert.deepEqual(seen, [{ id: 1, index: -1 }]);
});

Deno.test("6.4: a follower forwards a read to its leader and hands out the index the leader confirms", () => {
  const core = loneCore({ terms: [1], term: 1 });
  core.step(append({ from: 1, term: 1, prevLogIndex: 1, prevLogTerm: 1 }));
  drain(core);
  core.readIndex(5);
  assert.deepEqual(only<ReadIndex>(drain(core).messages), {
    type: "ReadIndex",
    from: 0,
    to: 1,
    term: 1,
    readId: 5,
  });
  const reply: ReadIndexReply = {
    type: "ReadIndexReply",
    from: 1,
    to: 0,
    term: 1,
    readId: 5,
    index: 7,
  };
  core.step(reply);
  assert.deepEqual(outcomes(core), [{ id: 5, index: 7 }]);
  // A duplicate of the answer changes nothing.
  core.step(reply);
  assert.deepEqual(outcomes(core), []);
});

Deno.test("a follower refuses a read when it knows no leader, or when its leader changes before answering", () => {
  const alone = loneCore();
  alone.readIndex(1);
  const ready = drain(alone);
  assert.deepEqual(ready.readStates, [{ id: 1, index: -1 }]);
  assert.deepEqual(ready.messages, []);
  const core = loneCore({ terms: [1], term: 1 });
  core.step(append({ from: 1, term: 1, prevLogIndex: 1, prevLogTerm: 1 }));
  drain(core);
  core.readIndex(2, true);
  assert.equal(only<ReadIndex>(drain(core).messages).lease, true);
  core.step(append({ from: 2, term: 2, prevLogIndex: 1, prevLogTerm: 1 }));
  assert.deepEqual(outcomes(core), [{ id: 2, index: -1 }]);
});

Deno.test("6.4: a leader answers a forwarded read after its round; a peer that does not lead refuses it", () => {
  const core = committedLeader();
  const request: ReadIndex = { type: "ReadIndex", from: 2, to: 0, term: 2, readId: 9 };
  core.step(request);
  assert.deepEqual(rounds(drain(core).messages), [[1, 1], [2, 1]]);
  core.step(echo(1, 1, 2));
  assert.deepEqual(only<ReadIndexReply>(drain(core).messages), {
    type: "ReadIndexReply",
    from: 0,
    to: 2,
    term: 2,
    readId: 9,
    index: 2,
  });
  const follower = loneCore({ terms: [1], term: 2 });
  follower.step({ ...request, to: 0, from: 1 });
  assert.equal(only<ReadIndexReply>(drain(follower).messages).index, -1);
});

Deno.test("a follower echoes the read round of the append it answers, success or mismatch", () => {
  const core = loneCore({ terms: [1], term: 1 });
  core.step(append({ from: 1, term: 1, prevLogIndex: 1, prevLogTerm: 1, readRound: 4 }));
  assert.equal(only<AppendEntriesReply>(drain(core).messages).readRound, 4);
  core.step(append({ from: 1, term: 1, prevLogIndex: 5, prevLogTerm: 1, readRound: 5 }));
  const refusal = only<AppendEntriesReply>(drain(core).messages);
  assert.equal(refusal.success, false);
  assert.equal(refusal.readRound, 5);
});

/** A leader with CheckQuorum whose first round peer 1 answered: its lease started at that round. */
function leasedLeader(): RaftCore {
  const core = committedLeader(true);
  core.readIndex(1, true);
  assert.deepEqual(rounds(drain(core).messages), [[1, 1], [2, 1]]);
  core.step(echo(1, 1, 2));
  assert.deepEqual(outcomes(core), [{ id: 1, index: 2 }]);
  return core;
}

Deno.test("6.4.1: within its lease a leader answers a lease read at once; after it, with a round", () => {
  const core = leasedLeader();
  core.readIndex(2, true);
  const ready = drain(core);
  assert.deepEqual(ready.readStates, [{ id: 2, index: 2 }]);
  assert.deepEqual(ready.messages, []);
  // Election timeout 10 ticks, drift 10 %: a lease of floor(9 / 1.1) - 1 = 7 ticks.
  tickMany(core, 6);
  core.readIndex(3, true);
  assert.deepEqual(outcomes(core), [{ id: 3, index: 2 }]);
  tickMany(core, 1);
  core.readIndex(4, true);
  assert.deepEqual(outcomes(core), []);
  // A linearizable read never uses the lease.
  const fresh = leasedLeader();
  fresh.readIndex(5);
  assert.deepEqual(outcomes(fresh), []);
});

Deno.test("6.4.1: no lease without CheckQuorum, nor while handing leadership over", () => {
  const core = committedLeader();
  core.readIndex(1, true);
  drain(core);
  core.step(echo(1, 1, 2));
  assert.deepEqual(outcomes(core), [{ id: 1, index: 2 }]);
  core.readIndex(2, true);
  assert.deepEqual(outcomes(core), []);
  const handing = leasedLeader();
  handing.transferLeadership(2);
  handing.readIndex(2, true);
  assert.deepEqual(outcomes(handing), []);
});

Deno.test("6.4.1: with CheckQuorum a restarted peer grants no vote for an election timeout: a leader's lease may count on it", () => {
  const vote = { type: "RequestVote", from: 1, to: 0, lastLogIndex: 1, lastLogTerm: 1 } as const;
  const core = loneCore({ terms: [1], term: 1, preVoteAndCheckQuorum: true });
  core.step({ ...vote, term: 2 });
  assert.deepEqual(only(drain(core).messages), {
    type: "RequestVoteReply",
    from: 0,
    to: 1,
    term: 1,
    voteGranted: false,
  });
  tickMany(core, ELECTION_TIMEOUT_TICKS);
  core.step({ ...vote, term: 3 });
  assert.equal(only<RequestVoteReply>(drain(core).messages).voteGranted, true);
  const paper = loneCore({ terms: [1], term: 1 });
  paper.step({ ...vote, term: 2 });
  assert.equal(only<RequestVoteReply>(drain(paper).messages).voteGranted, true);
});

Deno.test("a read's no-op repeats the membership: a peer whose removal is not committed may still stand", () => {
  const removal = { raftMembership: { voters: [1, 2], learners: [], addresses: {} } };
  const core = new RaftCore({
    id: 0,
    peers: [0, 1, 2],
    electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
    heartbeatTicks: 2,
    random: lowestRandom,
    hardState: { term: 1, votedFor: 0 },
    entries: [{ index: 1, term: 1, command: "x" }, { index: 2, term: 1, command: removal }],
  });
  // Removed, uncommitted: it may hold the only log that can win, so it stands (asking first
  // whether it could win), and wins.
  tickMany(core, ELECTION_TIMEOUT_TICKS);
  assert.equal(core.role, "precandidate");
  for (const peer of [1, 2]) {
    core.step({ type: "PreVoteReply", from: peer, to: 0, term: 2, voteGranted: true });
  }
  for (const peer of [1, 2]) {
    core.step({ type: "RequestVoteReply", from: peer, to: 0, term: 2, voteGranted: true });
  }
  assert.equal(core.role, "leader");
  core.readIndex(1);
  drain(core);
  assert.deepEqual(core.log.entry(3).command, removal);
  // Deposed before the removal commits: it must still be able to stand.
  core.step(append({ from: 1, term: 3, prevLogIndex: 0 }));
  drain(core);
  tickMany(core, 2 * ELECTION_TIMEOUT_TICKS);
  assert.equal(core.role, "precandidate");
});
