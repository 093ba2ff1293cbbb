/**
 * Raft paper, section 5.3 (log replication) and 5.4.2's commit rule as far as it concerns
 * counting replicas: AppendEntries receiver rules one by one, then the leader's side, then
 * whole groups built with the logs of the paper's Figure 7.
 */
import assert from "node:assert/strict";
import type { AppendEntries, AppendEntriesReply, RequestVoteReply } from "./messages.ts";
import {
  append,
  appendReply,
  drain,
  entry,
  leader,
  loneCore,
  only,
  stateWithLog,
  termsOf,
  TestNetwork,
  tickMany,
} from "./testing/test_network.ts";
import type { RestoredState } from "./storage.ts";

/** A network of `size` whose peer 0 has been elected and whose messages are all delivered. */
function settledNetwork(size: number, seed = 1): TestNetwork {
  const network = new TestNetwork({ size, seed });
  network.timeOut(0);
  network.deliverAll();
  assert.deepEqual(network.leaders(), [0]);
  return network;
}

// AppendEntries receiver ----------------------------------------------------------------------

Deno.test("5.3: AppendEntries is refused when the follower lacks the previous entry", () => {
  const core = loneCore({ terms: [1, 1], term: 1 });
  core.step(append({ term: 1, prevLogIndex: 4, prevLogTerm: 1, entries: [entry(5, 1)] }));
  const ready = drain(core);
  assert.deepEqual(only(ready.messages), {
    type: "AppendEntriesReply",
    from: 0,
    to: 1,
    term: 1,
    success: false,
    matchIndex: 0,
    conflictIndex: 3,
    conflictTerm: -1,
    rejectedIndex: 4,
  });
  assert.equal(ready.logChange, undefined);
  assert.equal(core.log.lastIndex, 2);
});

Deno.test("5.3: on a term mismatch the hints name the follower's term and its first index", () => {
  const core = loneCore({ terms: [1, 1, 2, 2, 2], term: 3 });
  core.step(append({ term: 3, prevLogIndex: 4, prevLogTerm: 3, entries: [entry(5, 3)] }));
  const reply = only<AppendEntriesReply>(drain(core).messages);
  assert.equal(reply.success, false);
  assert.equal(reply.conflictTerm, 2);
  assert.equal(reply.conflictIndex, 3);
  assert.deepEqual(termsOf(core), [1, 1, 2, 2, 2], "a refused request changes nothing");
});

Deno.test("5.3: accepted entries are appended, persisted and acknowledged with matchIndex", () => {
  const core = loneCore({ terms: [1], term: 1 });
  const entries = [entry(2, 2), entry(3, 2)];
  core.step(append({ term: 2, prevLogIndex: 1, prevLogTerm: 1, entries }));
  const ready = drain(core);
  assert.deepEqual(ready.logChange, { append: entries });
  assert.deepEqual(ready.hardState, { term: 2, votedFor: -1 });
  const reply = only<AppendEntriesReply>(ready.messages);
  assert.equal(reply.success, true);
  assert.equal(reply.matchIndex, 3);
  assert.equal(core.leaderId, 1);
});

Deno.test("5.3: a follower commits up to leaderCommit but not past the last entry it verified", () => {
  const core = loneCore({ terms: [1, 1, 1, 1, 1], term: 1 });
  core.step(append({ term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 5 }));
  let ready = drain(core);
  assert.equal(core.commitIndex, 1, "entries 2 to 5 may not be the leader's");
  assert.deepEqual(ready.committedEntries.map((held) => held.index), [1]);
  core.step(append({ term: 1, prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 2 }));
  ready = drain(core);
  assert.equal(core.commitIndex, 2);
  core.step(append({ term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1 }));
  assert.equal(core.commitIndex, 2, "commitIndex never decreases");
  core.step(append({ term: 1, prevLogIndex: 5, prevLogTerm: 1, leaderCommit: 9 }));
  ready = drain(core);
  assert.equal(core.commitIndex, 5);
  assert.deepEqual(ready.committedEntries.map((held) => held.index), [3, 4, 5]);
});

Deno.test("5.3: a conflicting entry and all that follow it are replaced", () => {
  const core = loneCore({ terms: [1, 1, 1, 1], term: 1 });
  const entries = [entry(2, 1), entry(3, 2)];
  core.step(append({ term: 2, prevLogIndex: 1, prevLogTerm: 1, entries }));
  const ready = drain(core);
  assert.deepEqual(termsOf(core), [1, 1, 2]);
  assert.deepEqual(ready.logChange, { truncateAfter: 2, append: [entries[1]] });
  assert.equal(only<AppendEntriesReply>(ready.messages).matchIndex, 3);
});

Deno.test("5.3: a stale, shorter AppendEntries arriving late does not truncate", () => {
  const core = loneCore({ term: 1 });
  const older = append({ term: 1, prevLogIndex: 0, entries: [entry(1, 1)] });
  const newer = append({
    term: 1,
    prevLogIndex: 0,
    entries: [entry(1, 1), entry(2, 1), entry(3, 1)],
  });
  core.step(newer);
  drain(core);
  core.step(older);
  const ready = drain(core);
  assert.deepEqual(termsOf(core), [1, 1, 1]);
  assert.equal(ready.logChange, undefined, "nothing to persist");
  const reply = only<AppendEntriesReply>(ready.messages);
  assert.equal(reply.success, true);
  assert.equal(reply.matchIndex, 1, "the reply speaks only for what the request carried");
});

Deno.test("5.3: a duplicated AppendEntries is acknowledged again without changes", () => {
  const core = loneCore({ term: 1 });
  const request = append({ term: 1, prevLogIndex: 0, entries: [entry(1, 1), entry(2, 1)] });
  core.step(request);
  const first = drain(core);
  core.step(request);
  const second = drain(core);
  assert.deepEqual(second.messages, first.messages);
  assert.equal(second.logChange, undefined);
});

Deno.test("5.2: AppendEntries from the leader restarts the follower's election timer", () => {
  const core = loneCore({ term: 1 });
  tickMany(core, 9);
  core.step(append({ term: 1, prevLogIndex: 0 }));
  drain(core);
  tickMany(core, 9);
  assert.equal(core.role, "follower");
  tickMany(core, 1);
  assert.equal(core.role, "candidate");
});

// Leader ---------------------------------------------------------------------------------------

Deno.test("5.3: only a leader accepts proposals", () => {
  const follower = loneCore({ terms: [1], term: 1 });
  assert.deepEqual(follower.propose("x"), { index: -1, term: 1, isLeader: false });
  assert.equal(follower.log.lastIndex, 1);
  assert.equal(drain(follower).logChange, undefined);
});

Deno.test("5.3: a proposal goes out at once to every follower with no append in flight", () => {
  const core = leader(3, [1], 1);
  assert.deepEqual(core.propose("x"), { index: 2, term: 2, isLeader: true });
  let ready = drain(core);
  assert.deepEqual(ready.logChange, { append: [{ index: 2, term: 2, command: "x" }] });
  assert.deepEqual(ready.messages.map((message) => message.to), [1, 2]);
  const request = ready.messages[0] as AppendEntries;
  assert.equal(request.prevLogIndex, 1);
  assert.equal(request.prevLogTerm, 1);
  assert.deepEqual(request.entries, [{ index: 2, term: 2, command: "x" }]);

  // Both followers now have an append in flight: the next proposal waits for their replies.
  core.propose("y");
  core.propose("z");
  assert.deepEqual(drain(core).messages, []);
  core.step(appendReply({ matchIndex: 2 }));
  ready = drain(core);
  assert.equal(core.commitIndex, 2);
  const batch = only<AppendEntries>(ready.messages);
  assert.equal(batch.to, 1);
  assert.deepEqual(batch.entries.map((held) => held.command), ["y", "z"]);
  assert.equal(batch.leaderCommit, 2);
});

Deno.test("5.3: an idle group commits a proposal in one round trip", () => {
  const network = settledNetwork(3);
  network.run(5);
  const before = network.delivered.length;
  const { index } = network.propose(0, "one trip");
  network.deliverAll();
  const traffic = network.delivered.slice(before).map((message) => message.type);
  assert.deepEqual(traffic.sort(), [
    "AppendEntries",
    "AppendEntries",
    "AppendEntriesReply",
    "AppendEntriesReply",
  ]);
  assert.equal(network.core(0).commitIndex, index);
  assert.deepEqual(network.applied(0), ["one trip"]);
  network.run(2);
  for (const id of network.ids) assert.deepEqual(network.applied(id), ["one trip"]);
});

Deno.test("5.3: a leader caps the entries one AppendEntries carries and keeps sending", () => {
  const restored = new Map<number, RestoredState>([
    [0, stateWithLog(new Array(20).fill(1), 1)],
    [1, stateWithLog([], 1)],
    [2, stateWithLog(new Array(20).fill(1), 1)],
  ]);
  const network = new TestNetwork({ size: 3, seed: 5, restored, maxEntriesPerAppend: 3 });
  network.timeOut(0);
  network.deliverAll();
  assert.equal(network.core(1).log.lastIndex, 20, "caught up without waiting for heartbeats");
  const toLagging = network.delivered.filter((message): message is AppendEntries =>
    message.type === "AppendEntries" && message.to === 1
  );
  assert.ok(toLagging.every((request) => request.entries.length <= 3));
  assert.ok(toLagging.length >= 7);
});

Deno.test("5.3: entries lost on the way are sent again with the next heartbeat", () => {
  const network = settledNetwork(3);
  let dropped = 0;
  network.dropIf = (message) => {
    const lost = message.type === "AppendEntries" && message.to === 1 &&
      message.entries.length > 0 && dropped < 1;
    if (lost) dropped++;
    return lost;
  };
  network.propose(0, "a");
  network.deliverAll();
  assert.equal(dropped, 1);
  assert.equal(network.core(1).log.lastIndex, 0);
  assert.equal(network.core(0).followerProgress(1)?.inflight, true);
  network.run(2);
  assert.equal(network.core(1).log.lastIndex, 1);
  assert.equal(network.core(0).followerProgress(1)?.matchIndex, 1);
});

Deno.test("5.3: late and duplicated replies never move a follower's progress back", () => {
  const core = leader(3, [1, 1, 1], 1);
  core.propose("a");
  core.propose("b");
  const reply = appendReply;
  core.step(reply({ matchIndex: 5 }));
  assert.deepEqual(core.followerProgress(1), {
    state: "replicate",
    nextIndex: 6,
    matchIndex: 5,
    inflight: false,
    inflightAppends: 0,
    windowAppends: 64,
  });
  drain(core);
  core.step(reply({ matchIndex: 3 }));
  core.step(reply({ matchIndex: 5 }));
  core.step(
    reply({ success: false, matchIndex: 0, conflictIndex: 2, conflictTerm: -1, rejectedIndex: 3 }),
  );
  core.step(reply({ success: false, matchIndex: 0, conflictIndex: 0, conflictTerm: -1 }));
  assert.deepEqual(core.followerProgress(1), {
    state: "replicate",
    nextIndex: 6,
    matchIndex: 5,
    inflight: false,
    inflightAppends: 0,
    windowAppends: 64,
  });
  assert.deepEqual(drain(core).messages, [], "stale replies trigger no sends");
  assert.equal(core.commitIndex, 5);
  assert.equal(core.role, "leader");
});

Deno.test("5.3: a refusal without a hint (a stale request's) leaves the follower's progress", () => {
  const core = leader(3, [1, 1, 1], 1);
  assert.deepEqual(core.followerProgress(1), {
    state: "probe",
    nextIndex: 4,
    matchIndex: 0,
    inflight: false,
    inflightAppends: 0,
    windowAppends: 64,
  });
  core.step({
    type: "AppendEntriesReply",
    from: 1,
    to: 0,
    term: 2,
    success: false,
    matchIndex: 0,
    conflictIndex: 0,
    conflictTerm: -1,
    rejectedIndex: 0,
  });
  assert.deepEqual(core.followerProgress(1), {
    state: "probe",
    nextIndex: 4,
    matchIndex: 0,
    inflight: false,
    inflightAppends: 0,
    windowAppends: 64,
  });
  assert.deepEqual(drain(core).messages, []);
});

Deno.test("5.3: a leader backs up over a whole conflicting term per round trip", () => {
  // Figure 7's leader and its follower (f), whose terms 2 and 3 the leader never saw.
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const restored = new Map<number, RestoredState>([
    [0, stateWithLog(leaderTerms, 7)],
    [1, stateWithLog([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], 7)],
    [2, stateWithLog(leaderTerms, 7)],
  ]);
  const network = new TestNetwork({ size: 3, seed: 2, restored });
  network.timeOut(0);
  network.deliverAll();
  const toFollower = network.delivered.filter((message): message is AppendEntries =>
    message.type === "AppendEntries" && message.to === 1
  );
  // Heartbeat at 10 refused (term 3 from index 7), then at 6 refused (term 2 from index 4), then
  // entries 4 to 10 after index 3 accepted: one round per term, not one per entry.
  assert.deepEqual(toFollower.map((request) => request.prevLogIndex), [10, 6, 3]);
  assert.deepEqual(termsOf(network.core(1)), leaderTerms);
});

Deno.test("5.3: when the leader holds the conflicting term it resumes after its last entry of it", () => {
  const restored = new Map<number, RestoredState>([
    [0, stateWithLog([1, 1, 1, 2, 2, 3, 3], 3)],
    [1, stateWithLog([1, 1, 1, 2, 2, 2, 2], 3)],
    [2, stateWithLog([1, 1, 1, 2, 2, 3, 3], 3)],
  ]);
  const network = new TestNetwork({ size: 3, seed: 4, restored });
  network.timeOut(0);
  network.deliverAll();
  const replies = network.delivered.filter((message): message is AppendEntriesReply =>
    message.type === "AppendEntriesReply" && message.from === 1
  );
  assert.deepEqual(
    replies.map((
      { success, conflictIndex, conflictTerm },
    ) => [success, conflictIndex, conflictTerm]),
    [[false, 4, 2], [true, 0, -1]],
  );
  const toFollower = network.delivered.filter((message): message is AppendEntries =>
    message.type === "AppendEntries" && message.to === 1
  );
  assert.deepEqual(toFollower.map((request) => request.prevLogIndex), [7, 5]);
  assert.deepEqual(termsOf(network.core(1)), [1, 1, 1, 2, 2, 3, 3]);
});

Deno.test("5.3: every follower of Figure 7 ends with the leader's log", () => {
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers = [
    [1, 1, 1, 4, 4, 5, 5, 6, 6],
    [1, 1, 1, 4],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    [1, 1, 1, 4, 4, 4, 4],
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  ];
  const restored = new Map<number, RestoredState>([[0, stateWithLog(leaderTerms, 7)]]);
  followers.forEach((terms, position) => restored.set(position + 1, stateWithLog(terms, 7)));
  const network = new TestNetwork({ size: 7, seed: 8, restored });
  network.timeOut(0);
  network.deliverAll();
  assert.equal(network.core(0).role, "leader");
  const { index, term } = network.propose(0, "from term 8");
  assert.deepEqual([index, term], [11, 8]);
  network.deliverAll();
  network.run(2);
  const expected = [...leaderTerms, 8];
  for (const id of network.ids) {
    assert.deepEqual(termsOf(network.core(id)), expected, `peer ${id}`);
    assert.equal(network.core(id).commitIndex, 11, `peer ${id}`);
    assert.equal(network.applied(id).at(-1), "from term 8");
  }
});

Deno.test("5.3: a leader commits only once a majority holds the entry", () => {
  const network = settledNetwork(5);
  for (const id of [2, 3, 4]) network.isolate(id);
  const { index } = network.propose(0, "needs three");
  // Fewer ticks than an election timeout, so the cut-off peers do not start elections.
  network.run(5);
  assert.equal(network.core(0).commitIndex, 0);
  assert.equal(network.core(1).log.lastIndex, index);
  assert.deepEqual(network.applied(0), []);
  network.heal(2);
  network.run(3);
  assert.equal(network.core(0).commitIndex, index);
  assert.deepEqual(network.applied(0), ["needs three"]);
});

Deno.test("5.3: followers learn the commit index and apply in order", () => {
  const network = settledNetwork(3);
  for (const command of ["a", "b", "c"]) network.propose(0, command);
  network.deliverAll();
  network.run(3);
  for (const id of network.ids) {
    assert.equal(network.core(id).commitIndex, 3);
    assert.equal(network.core(id).appliedIndex, 3);
    assert.deepEqual(network.applied(id), ["a", "b", "c"]);
  }
});

Deno.test("5.3: every request yields one reply, in the order the requests were stepped", () => {
  const core = loneCore({ term: 5 });
  core.step(append({ term: 5, prevLogIndex: 3, prevLogTerm: 5 }));
  core.step({
    type: "RequestVote",
    from: 2,
    to: 0,
    term: 5,
    lastLogIndex: 0,
    lastLogTerm: 0,
  });
  const messages = drain(core).messages;
  assert.deepEqual(messages.map((message) => [message.type, message.to]), [
    ["AppendEntriesReply", 1],
    ["RequestVoteReply", 2],
  ]);
  assert.equal((messages[1] as RequestVoteReply).voteGranted, true);
});
