/**
 * Section 10.2.1 of the Raft thesis: a leader sends its entries while it writes them to its own
 * disk, and counts itself toward a commit only for what it has persisted. What may go before
 * the persist (a leader's requests in a Ready that keeps the hard state) and what must wait
 * (every reply and vote, every request of a Ready that changes the hard state), and how the
 * durable index follows persists, truncations and snapshots.
 */
import assert from "node:assert/strict";
import type { RaftCore } from "./core.ts";
import type { Ready } from "./ready.ts";
import type {
  AppendEntries,
  AppendEntriesReply,
  InstallSnapshot,
  RequestVote,
  RequestVoteReply,
} from "./messages.ts";
import { append, drain, entry, leader, loneCore } from "./testing/test_network.ts";

function ack(core: RaftCore, from: number, matchIndex: number): void {
  const reply: AppendEntriesReply = {
    type: "AppendEntriesReply",
    from,
    to: core.id,
    term: core.term,
    success: true,
    matchIndex,
    conflictIndex: 0,
    conflictTerm: -1,
    rejectedIndex: 0,
  };
  core.step(reply);
}

/** The leader proposes one command and hands out the Ready that persists it. */
function proposeAndHandOut(core: RaftCore): Ready {
  const { index } = core.propose("x");
  const ready = core.ready();
  assert.deepEqual(ready.logChange?.append.map((held) => held.index), [index]);
  assert.equal(core.durableLastIndex, index - 1, "the new entry is not durable yet");
  return ready;
}

// The leader's own copy ----------------------------------------------------------------------

Deno.test("a leader's entries go to followers before its own persist", () => {
  const core = leader(3);
  const ready = proposeAndHandOut(core);
  assert.equal(ready.hardState, undefined);
  assert.deepEqual(ready.messagesBeforePersist.map((message) => message.to), [1, 2]);
  for (const message of ready.messagesBeforePersist) {
    assert.equal(message.type, "AppendEntries");
    assert.deepEqual((message as AppendEntries).entries.map((held) => held.index), [1]);
  }
  assert.deepEqual(ready.messages, []);
});

Deno.test("3 peers: one follower's ack does not commit until the leader persisted", () => {
  const core = leader(3);
  const ready = proposeAndHandOut(core);
  ack(core, 1, 1);
  assert.equal(core.commitIndex, 0, "one durable copy of three is no majority");
  core.advance(ready);
  assert.equal(core.durableLastIndex, 1);
  assert.equal(core.commitIndex, 1, "the leader's and the follower's copies are a majority");
  assert.deepEqual(drain(core).committedEntries.map((held) => held.index), [1]);
});

Deno.test("3 peers: both followers' acks commit before the leader persisted", () => {
  const core = leader(3);
  const ready = proposeAndHandOut(core);
  ack(core, 1, 1);
  ack(core, 2, 1);
  assert.equal(core.commitIndex, 1, "two durable copies of three, on the followers");
  assert.equal(core.durableLastIndex, 0);
  core.advance(ready);
  assert.deepEqual(drain(core).committedEntries.map((held) => held.index), [1]);
});

Deno.test("3 peers: the leader's persist alone commits nothing", () => {
  const core = leader(3);
  core.advance(proposeAndHandOut(core));
  assert.equal(core.durableLastIndex, 1);
  assert.equal(core.commitIndex, 0);
  ack(core, 2, 1);
  assert.equal(core.commitIndex, 1);
});

Deno.test("5 peers: the leader counts itself only once its entry is durable", () => {
  const waiting = leader(5);
  const ready = proposeAndHandOut(waiting);
  ack(waiting, 1, 1);
  ack(waiting, 2, 1);
  assert.equal(waiting.commitIndex, 0, "two durable copies of five");
  waiting.advance(ready);
  assert.equal(waiting.commitIndex, 1, "with the leader's, three of five");

  const outvoted = leader(5);
  proposeAndHandOut(outvoted);
  for (const follower of [1, 2, 3]) ack(outvoted, follower, 1);
  assert.equal(outvoted.commitIndex, 1, "three followers are a majority without the leader");
});

Deno.test("acks that arrive during the persist of a later entry count only durable copies", () => {
  const core = leader(3);
  core.advance(proposeAndHandOut(core));
  const second = proposeAndHandOut(core);
  ack(core, 1, 2);
  assert.equal(core.commitIndex, 1, "entry 1 is on two disks, entry 2 on one");
  core.advance(second);
  assert.equal(core.commitIndex, 2);
});

// What waits for the persist -----------------------------------------------------------------

Deno.test("a RequestVote waits for the persist of the candidacy", () => {
  const core = loneCore({ size: 3 });
  for (let tick = 0; tick < 10 && !core.hasReady(); tick++) core.tick();
  const ready = core.ready();
  assert.deepEqual(ready.hardState, { term: 1, votedFor: 0 });
  assert.deepEqual(ready.messagesBeforePersist, []);
  assert.deepEqual(ready.messages.map((message) => message.type), ["RequestVote", "RequestVote"]);
});

Deno.test("votes, granted or refused, wait for the persist", () => {
  const request: RequestVote = {
    type: "RequestVote",
    from: 1,
    to: 0,
    term: 3,
    lastLogIndex: 0,
    lastLogTerm: 0,
  };
  const core = loneCore({ size: 3, term: 3, votedFor: 2 });
  core.step(request);
  const refusal = core.ready();
  assert.equal(refusal.hardState, undefined, "refusing changes no hard state");
  assert.deepEqual(refusal.messagesBeforePersist, []);
  assert.equal((refusal.messages[0] as RequestVoteReply).voteGranted, false);
  core.advance(refusal);

  const voter = loneCore({ size: 3 });
  voter.step(request);
  const grant = voter.ready();
  assert.deepEqual(grant.messagesBeforePersist, []);
  assert.equal((grant.messages[0] as RequestVoteReply).voteGranted, true);
});

Deno.test("a follower's acknowledgement waits for the persist of what it acknowledges", () => {
  const core = loneCore({ size: 3, term: 1 });
  core.step(append({ term: 1, prevLogIndex: 0, entries: [entry(1, 1)] }));
  const ready = core.ready();
  assert.equal(ready.hardState, undefined);
  assert.deepEqual(ready.messagesBeforePersist, []);
  assert.equal((ready.messages[0] as AppendEntriesReply).matchIndex, 1);
});

Deno.test("a leader's requests wait in a Ready that changes the hard state", () => {
  const core = leader(3);
  // A heartbeat sends the probes again; deposed before the driver took the Ready, the term in
  // it must be durable before anything leaves.
  core.tick();
  core.tick();
  core.step({ type: "RequestVoteReply", from: 2, to: 0, term: 9, voteGranted: false });
  assert.equal(core.role, "follower");
  const ready = core.ready();
  assert.equal(ready.hardState?.term, 9);
  assert.deepEqual(ready.messagesBeforePersist, []);
  assert.deepEqual(ready.messages.map((message) => message.type), [
    "AppendEntries",
    "AppendEntries",
  ]);
});

Deno.test("a leader's InstallSnapshot may go before the persist", () => {
  const core = leader(3, [1, 1, 1]);
  core.advance(proposeAndHandOut(core));
  drain(core);
  ack(core, 2, 4);
  drain(core);
  core.compact(4, new Uint8Array([4]));
  // Follower 1 lags behind the snapshot: its refusal sends it back to entry 1.
  core.step({
    type: "AppendEntriesReply",
    from: 1,
    to: 0,
    term: core.term,
    success: false,
    matchIndex: 0,
    conflictIndex: 1,
    conflictTerm: -1,
    rejectedIndex: 3,
  });
  const ready = core.ready();
  assert.equal(ready.snapshot?.index, 4);
  const early = ready.messagesBeforePersist;
  assert.deepEqual(early.map((message) => message.type), ["InstallSnapshot"]);
  assert.equal((early[0] as InstallSnapshot).lastIncludedIndex, 4);
});

// The durable index --------------------------------------------------------------------------

Deno.test("a truncation lowers the durable index at once, and its persist raises it", () => {
  const core = loneCore({ size: 3, terms: [1, 1, 1], term: 2 });
  assert.equal(core.durableLastIndex, 3);
  core.step(append({ term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 2)] }));
  assert.equal(core.durableLastIndex, 1, "storage still holds entries 2 and 3 of term 1");
  const ready = core.ready();
  assert.equal(ready.logChange?.truncateAfter, 1);
  core.advance(ready);
  assert.equal(core.durableLastIndex, 2);
});

Deno.test("a truncation while a Ready is persisted caps what that persist makes durable", () => {
  const core = loneCore({ size: 3, term: 1 });
  core.step(append({ term: 1, prevLogIndex: 0, entries: [entry(1, 1), entry(2, 1), entry(3, 1)] }));
  const persisting = core.ready();
  // A new leader's entry conflicts with entry 2 while entries 1 to 3 are being written.
  core.step(append({ from: 2, term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 2)] }));
  core.advance(persisting);
  assert.equal(core.durableLastIndex, 1, "entries 2 and 3 on disk are of term 1, memory's not");
  const next = core.ready();
  assert.equal(next.logChange?.truncateAfter, 1);
  core.advance(next);
  assert.equal(core.durableLastIndex, 2);
});

Deno.test("a snapshot from the leader sets the durable index when persisted", () => {
  const core = loneCore({ size: 3, terms: [1, 1, 1], term: 2 });
  core.step({
    type: "InstallSnapshot",
    from: 1,
    to: 0,
    term: 2,
    lastIncludedIndex: 5,
    lastIncludedTerm: 2,
    data: new Uint8Array([5]),
    membership: { voters: [0, 1, 2], learners: [], addresses: {} },
  });
  assert.equal(core.durableLastIndex, 0, "entries 1 to 3 on disk were never committed");
  const ready = core.ready();
  assert.equal(ready.snapshot?.index, 5);
  core.advance(ready);
  assert.equal(core.durableLastIndex, 5);
  assert.equal(core.log.lastIndex, 5);
});

Deno.test("the durable index survives a restart as the persisted log", () => {
  const core = loneCore({ size: 3, terms: [1, 2], term: 2 });
  assert.equal(core.durableLastIndex, 2);
  assert.equal(core.log.lastIndex, 2);
});

Deno.test("an acknowledgement waiting for the persist promises no entry a later truncation removed", () => {
  const core = loneCore({ size: 3, term: 1 });
  const persisting = core.ready();
  // While the driver persists, the old leader's entries arrive, then a new leader's conflict.
  core.step(append({ term: 1, prevLogIndex: 0, entries: [entry(1, 1), entry(2, 1), entry(3, 1)] }));
  core.step(append({ from: 2, term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 2)] }));
  core.advance(persisting);
  const ready = core.ready();
  assert.equal(ready.logChange?.append.at(-1)?.index, 2);
  const replies = ready.messages as AppendEntriesReply[];
  assert.deepEqual(
    replies.map((reply) => [reply.to, reply.term, reply.success, reply.matchIndex]),
    [
      [1, 1, true, 1],
      [2, 2, true, 2],
    ],
  );
});
