/**
 * Membership changes (the Raft thesis, chapter 4): single-server changes in force once appended,
 * one at a time, only after the leader committed an entry of its term; learners that receive
 * the log without voting; removed peers that cannot disrupt; a leader that removes itself and
 * steps down once that is committed; memberships in snapshots and across restarts.
 */
import assert from "node:assert/strict";
import type { AppendEntries, Entry, PreVoteReply, RequestVoteReply } from "./messages.ts";
import { NO_LEADER, type RaftCore } from "./core.ts";
import { encode } from "../rpc/codec.ts";
import { type Membership, membershipOfCommand } from "./membership.ts";
import {
  append,
  appendReply,
  drain,
  leader,
  loneCore,
  only,
  TestNetwork,
  tickMany,
} from "./testing/test_network.ts";

/** A network of `size` peers whose first voters are 0..voters-1, with peer 0 leading. */
function groupLedByZero(size: number, voters = size, seed = 1): TestNetwork {
  const network = new TestNetwork({
    size,
    seed,
    voters: Array.from({ length: voters }, (_, id) => id),
  });
  network.timeOut(0);
  network.deliverAll();
  assert.equal(network.core(0).role, "leader");
  // An entry of its term committed: changes are allowed from here.
  network.propose(0, "first");
  network.deliverAll();
  network.run(2);
  return network;
}

function membership(voters: number[], learners: number[] = []): Membership {
  return { voters, learners, addresses: {} };
}

/** Peer 1 of `size` peers (all first voters), restarted in term 1 with `entries` as its log. */
function peerOneWith(size: number, entries: Entry[]): RaftCore {
  const restored = { hardState: { term: 1, votedFor: 0 }, entries };
  return new TestNetwork({ size, seed: 1, restored: new Map([[1, restored]]) }).core(1);
}

/**
 * Peer 1, a learner of a membership where peer 2 is a learner too, following leader 0 (which
 * may since have promoted both and removed itself, unknown to peer 1).
 */
function learnerOfLeaderZero(preVoteAndCheckQuorum = false): RaftCore {
  const stale = membership([0], [1, 2]);
  const snapshot = {
    index: 1,
    term: 1,
    data: encode([{ raftMembership: stale }]),
    membership: stale,
  };
  const core = new TestNetwork({
    size: 3,
    seed: 1,
    preVoteAndCheckQuorum,
    restored: new Map([[1, { hardState: { term: 1, votedFor: -1 }, snapshot, entries: [] }]]),
  }).core(1);
  core.step(append({ from: 0, to: 1, term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1 }));
  drain(core);
  assert.equal(core.leaderId, 0);
  return core;
}

Deno.test("4.1: a change is in force once appended: the leader replicates to a new learner at once", () => {
  const network = groupLedByZero(4, 3);
  assert.equal(network.core(3).peers.length, 0, "peer 3 is joining: it knows no members");
  const proposal = network.proposeMembership(0, { kind: "add-learner", id: 3 });
  assert.equal(proposal.ok, true);
  assert.deepEqual(network.core(0).membership, membership([0, 1, 2], [3]));
  assert.notEqual(network.core(0).followerProgress(3), null, "tracked before the commit");
  network.deliverAll();
  network.run(4);
  const learner = network.core(3);
  assert.deepEqual(learner.membership, membership([0, 1, 2], [3]));
  assert.equal(learner.log.lastIndex, network.core(0).log.lastIndex);
  assert.equal(learner.commitIndex, network.core(0).commitIndex);
  assert.deepEqual(network.applied(3).at(-1), { raftMembership: membership([0, 1, 2], [3]) });
});

Deno.test("4.1: a follower uses a membership as soon as it is in its log, and drops it with the entry", () => {
  const core = loneCore({ terms: [1], term: 1 });
  const added = { raftMembership: membership([0, 1, 2], [5]) };
  core.step(
    append({
      term: 1,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [{ index: 2, term: 1, command: added }],
    }),
  );
  assert.deepEqual(core.membership, membership([0, 1, 2], [5]));
  assert.equal(core.membershipIndex, 2);
  assert.equal(core.commitIndex, 0, "in force though not committed");
  // A leader of term 2 overwrites entry 2: the bootstrap membership is back.
  core.step(
    append({
      term: 2,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [{ index: 2, term: 2, command: "x" }],
    }),
  );
  assert.deepEqual(core.membership, membership([0, 1, 2]));
  assert.equal(core.membershipIndex, 0);
});

Deno.test("4.1: one change at a time: a second is refused until the first is committed", () => {
  const network = groupLedByZero(5, 3);
  assert.equal(network.proposeMembership(0, { kind: "add-learner", id: 3 }).ok, true);
  const second = network.proposeMembership(0, { kind: "add-learner", id: 4 });
  assert.equal(second.ok, false);
  assert.match(!second.ok ? second.reason : "", /not committed yet/);
  network.deliverAll();
  network.run(2);
  assert.equal(network.proposeMembership(0, { kind: "add-learner", id: 4 }).ok, true);
});

Deno.test("4.1 (raft-dev, 2015): a new leader changes nothing before an entry of its term commits; it appends its membership unchanged", () => {
  const core = leader(3, [1]);
  assert.equal(core.term, 2);
  const refused = core.proposeMembership({ kind: "add-learner", id: 3 });
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? refused.reason : "", /committed no entry of term 2/);
  const sent = drain(core).messages as AppendEntries[];
  const carried = sent.flatMap((message) => message.entries);
  // One copy to each follower: the unchanged membership, as entry 2.
  assert.deepEqual(carried.map((entry) => [entry.index, membershipOfCommand(entry.command)]), [
    [2, membership([0, 1, 2])],
    [2, membership([0, 1, 2])],
  ]);
  core.step(appendReply({ matchIndex: 2 }));
  drain(core);
  assert.equal(core.commitIndex, 2);
  assert.equal(core.proposeMembership({ kind: "add-learner", id: 3 }).ok, true);
});

Deno.test("4.1: a learner never campaigns, and its acknowledgement does not count toward a commit", () => {
  const network = groupLedByZero(4, 3);
  network.proposeMembership(0, { kind: "add-learner", id: 3 });
  network.deliverAll();
  network.run(3);
  // Cut voters 1 and 2 off: the learner's copy alone cannot commit anything.
  network.isolate(1);
  network.isolate(2);
  const { index } = network.propose(0, "only the learner holds it");
  network.deliverAll();
  assert.equal(network.core(3).log.lastIndex, index);
  assert.ok(network.core(0).commitIndex < index);
  const learner = network.core(3);
  const messages = tickMany(learner, 100);
  assert.deepEqual(messages, [], "a learner asks for no vote");
  assert.equal(learner.role, "follower");
});

Deno.test("4.1: a promoted learner votes, and the leader counts it", () => {
  const network = groupLedByZero(4, 3);
  network.proposeMembership(0, { kind: "add-learner", id: 3 });
  network.deliverAll();
  network.run(3);
  assert.equal(network.proposeMembership(0, { kind: "promote", id: 3 }).ok, true);
  network.deliverAll();
  network.run(3);
  assert.deepEqual(network.core(2).membership, membership([0, 1, 2, 3]));
  // Four voters: a commit needs three of them. With 1 and 2 cut off, 0 and 3 are not enough.
  network.isolate(1);
  network.isolate(2);
  const { index } = network.propose(0, "needs three of four");
  network.run(3);
  assert.ok(network.core(0).commitIndex < index);
  network.heal(1);
  network.run(3);
  assert.ok(network.core(0).commitIndex >= index);
});

Deno.test("4.2.3: a removed peer neither wins nor forces an election", () => {
  const network = groupLedByZero(3);
  assert.equal(network.proposeMembership(0, { kind: "remove", id: 2 }).ok, true);
  network.deliverAll();
  network.run(3);
  const term = network.core(0).term;
  // Peer 2 still believes in its old membership when it missed the entry; make sure it did.
  network.crash(2);
  network.restart(2);
  const removed = network.core(2);
  removed.step({
    type: "AppendEntries",
    from: 0,
    to: 2,
    term,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [],
    leaderCommit: 0,
  });
  drain(removed);
  const peer1 = network.core(1);
  peer1.step({
    type: "RequestVote",
    from: 2,
    to: 1,
    term: term + 5,
    lastLogIndex: 100,
    lastLogTerm: term + 4,
  });
  const reply = only<RequestVoteReply>(drain(peer1).messages);
  assert.equal(reply.voteGranted, false);
  assert.equal(peer1.term, term, "a removed peer's term is not taken");
  assert.equal(network.core(0).role, "leader");
});

Deno.test("4.2.2: a leader that removes itself leads until the change commits, not counting itself, then steps down", () => {
  const network = groupLedByZero(3);
  assert.equal(network.proposeMembership(0, { kind: "remove", id: 0 }).ok, true);
  const leader = network.core(0);
  assert.equal(leader.role, "leader", "still leads while the change is uncommitted");
  network.deliverAll();
  network.run(2);
  assert.equal(leader.role, "follower");
  assert.equal(leader.leaderId, NO_LEADER);
  assert.deepEqual(tickMany(leader, 100), [], "a removed peer asks for no vote");
  network.run(60);
  const leaders = network.leaders();
  assert.equal(leaders.length, 1);
  assert.ok([1, 2].includes(leaders[0]), "peers 1 and 2 elect one of themselves");
});

Deno.test("4.2.2: a peer whose own removal is not committed still campaigns: it may hold the only log that can win", () => {
  // Peer 1 holds its removal (entry 2) and an entry after it, both uncommitted: the leader that
  // appended them lost them in a crash. Peer 0 cannot win without peer 1's vote, which its
  // shorter log does not get; only peer 1 can lead, and commit its removal.
  const removal = { raftMembership: membership([0]) };
  const network = new TestNetwork({
    size: 2,
    seed: 1,
    restored: new Map([
      [0, { hardState: { term: 1, votedFor: 0 }, entries: [{ index: 1, term: 1, command: "a" }] }],
      [1, {
        hardState: { term: 1, votedFor: 0 },
        entries: [
          { index: 1, term: 1, command: "a" },
          { index: 2, term: 1, command: removal },
          { index: 3, term: 1, command: "b" },
        ],
      }],
    ]),
  });
  assert.deepEqual(network.core(1).membership, membership([0]));
  network.run(40);
  assert.deepEqual(network.leaders(), [1], "peer 1 won with peer 0's vote, its own not counted");
  // An entry of its term commits the removal before it.
  network.propose(1, "c");
  network.run(40);
  assert.equal(network.core(1).role, "follower", "peer 1 stepped down once its removal committed");
  assert.deepEqual(network.leaders(), [0]);
  network.propose(0, "d");
  network.run(2);
  assert.deepEqual(network.applied(0), ["a", removal, "b", "c", "d"]);
  assert.deepEqual(tickMany(network.core(1), 100), [], "removed for good, it asks for no vote");
});

Deno.test("4.2.3: a voter refuses a removed peer's vote request outright only while it follows a leader", () => {
  // Peer 1 holds the removal of peer 0 (entry 1) and knows no leader: peer 0 may hold the log
  // the group needs, so its request is answered in full (its term taken, the vote granted).
  const removal = { raftMembership: membership([1, 2]) };
  const core = peerOneWith(3, [{ index: 1, term: 1, command: removal }]);
  const request = (term: number) => ({
    type: "RequestVote" as const,
    from: 0,
    to: 1,
    term,
    lastLogIndex: 5,
    lastLogTerm: 1,
  });
  core.step(request(2));
  assert.equal(only<RequestVoteReply>(drain(core).messages).voteGranted, true);
  assert.equal(core.term, 2);
  // Following leader 2, it needs no other: peer 0 cannot disrupt the group.
  core.step(append({ from: 2, to: 1, term: 3, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1 }));
  drain(core);
  core.step(request(9));
  assert.equal(only<RequestVoteReply>(drain(core).messages).voteGranted, false);
  assert.equal(core.term, 3, "the removed peer's term is not taken");
});

Deno.test("4.2.3: a learner answers a vote request in full, even one from a learner: it may have been promoted with the asker", () => {
  // Leader 0 promoted peers 1 and 2 and removed itself; peer 2 needs peer 1's vote. A learner
  // never campaigns, so it would follow leader 0, gone, for ever.
  const core = learnerOfLeaderZero();
  core.step({ type: "RequestVote", from: 2, to: 1, term: 4, lastLogIndex: 9, lastLogTerm: 3 });
  assert.equal(only<RequestVoteReply>(drain(core).messages).voteGranted, true);
  assert.equal(core.term, 4);
});

Deno.test("4.2.2: a peer that stands only because its removal may be lost asks first whether it could win, even without PreVote", () => {
  const core = peerOneWith(2, [{
    index: 1,
    term: 1,
    command: { raftMembership: membership([0]) },
  }]);
  const sent = tickMany(core, 20);
  assert.ok(sent.length > 0 && sent.every((message) => message.type === "PreVote"));
  assert.deepEqual(new Set(sent.map((message) => message.to)), new Set([0]));
  assert.equal(core.term, 1, "a candidacy that may not win raises no term");
});

Deno.test("6.2: a learner whose leader falls silent forgets it, and its vote lease with it", () => {
  // Peer 1 may have been promoted by entries it lacks; a candidate may need its vote.
  const core = learnerOfLeaderZero(true);
  assert.deepEqual(tickMany(core, 20), [], "a learner still never campaigns");
  assert.equal(core.leaderId, NO_LEADER);
  core.step({ type: "PreVote", from: 2, to: 1, term: 2, lastLogIndex: 9, lastLogTerm: 1 });
  assert.equal(only<PreVoteReply>(drain(core).messages).voteGranted, true);
});

Deno.test("a peer stands back an election timeout for a candidate it refuses only for its term or its vote", () => {
  // Peer 0, in term 5, would campaign at its next tick; candidate 1 asks in term `term`.
  const standsBack = (term: number, lastLogTerm: number, votedFor = -1) => {
    const core = loneCore({ terms: [2, 2], term: 5, votedFor });
    tickMany(core, 9);
    core.step({ type: "RequestVote", from: 1, to: 0, term, lastLogIndex: 2, lastLogTerm });
    assert.equal(only<RequestVoteReply>(drain(core).messages).voteGranted, false);
    return tickMany(core, 1).length === 0;
  };
  assert.equal(standsBack(3, 2), true, "a stale term, a log as up to date: it gets a chance");
  assert.equal(standsBack(5, 2, 2), true, "a vote given to another, a log as up to date");
  assert.equal(standsBack(3, 1), false, "a candidate with an older log changes nothing");
  assert.equal(standsBack(5, 1, 2), false);
});

Deno.test("4.4: a snapshot records the membership at its index, and a follower that installs it takes it", () => {
  const network = new TestNetwork({ size: 4, seed: 3, voters: [0, 1, 2], snapshotEveryEntries: 2 });
  network.timeOut(0);
  network.deliverAll();
  network.propose(0, "a");
  network.deliverAll();
  network.run(2);
  network.proposeMembership(0, { kind: "add-learner", id: 3 });
  network.propose(0, "b");
  network.deliverAll();
  network.run(4);
  assert.ok(network.core(0).log.snapshotIndex >= network.core(0).membershipIndex);
  assert.deepEqual(network.persisted(0).snapshot.membership, membership([0, 1, 2], [3]));
  assert.deepEqual(network.core(3).membership, membership([0, 1, 2], [3]));
  network.crash(3);
  network.restart(3);
  assert.deepEqual(
    network.core(3).membership,
    membership([0, 1, 2], [3]),
    "restored from its files",
  );
});

Deno.test("4.1: a peer restarted from its log takes the latest membership in it", () => {
  const network = groupLedByZero(3);
  network.proposeMembership(0, { kind: "add-learner", id: 7 });
  network.deliverAll();
  network.crash(1);
  network.restart(1);
  assert.deepEqual(network.core(1).membership, membership([0, 1, 2], [7]));
});

Deno.test("3.10: leadership goes only to a voter", () => {
  const network = groupLedByZero(4, 3);
  network.proposeMembership(0, { kind: "add-learner", id: 3 });
  assert.throws(() => network.core(0).transferLeadership(3), /not another voter/);
});

Deno.test("changes that cannot be made are refused with the reason", () => {
  const network = groupLedByZero(3);
  const cases: [Parameters<TestNetwork["proposeMembership"]>[1], RegExp][] = [
    [{ kind: "add-learner", id: 1 }, /member already/],
    [{ kind: "promote", id: 1 }, /not a learner/],
    [{ kind: "remove", id: 9 }, /not a member/],
    [{ kind: "add-learner", id: -1 }, /not a whole number/],
  ];
  for (const [change, reason] of cases) {
    const proposal = network.proposeMembership(0, change);
    assert.equal(proposal.ok, false);
    assert.match(!proposal.ok ? proposal.reason : "", reason);
  }
  assert.match(
    (() => {
      const proposal = network.core(1).proposeMembership({ kind: "add-learner", id: 5 });
      return proposal.ok ? "" : proposal.reason;
    })(),
    /does not lead/,
  );
});
