/**
 * Raft paper, section 7 (log compaction): the service's snapshots, InstallSnapshot on both
 * sides, and restarting from a snapshot.
 */
import assert from "node:assert/strict";
import { decode, encode } from "../rpc/codec.ts";
import { AssertionError } from "../util/assert.ts";
import type { RaftCore } from "./core.ts";
import type { AppendEntries, InstallSnapshot, InstallSnapshotReply } from "./messages.ts";
import { NO_VOTE } from "./ready.ts";
import {
  drain,
  leader,
  loneCore,
  only,
  termsOf,
  TestNetwork,
  tickMany,
} from "./testing/test_network.ts";

const BYTES = new Uint8Array([1, 2, 3]);
/** The membership of the three-peer groups these tests build. */
const MEMBERSHIP = { voters: [0, 1, 2], learners: [], addresses: {} };

function installSnapshot(
  fields: Partial<InstallSnapshot> & { lastIncludedIndex: number; lastIncludedTerm: number },
): InstallSnapshot {
  return {
    type: "InstallSnapshot",
    from: 1,
    to: 0,
    term: 2,
    data: BYTES,
    membership: MEMBERSHIP,
    ...fields,
  };
}

/** A follower of term 1 that has applied its whole log of `terms`. */
function appliedFollower(terms: number[]): RaftCore {
  const core = loneCore({ terms, term: 1 });
  core.step({
    type: "AppendEntries",
    from: 1,
    to: 0,
    term: 1,
    prevLogIndex: terms.length,
    prevLogTerm: terms.at(-1) ?? 0,
    entries: [],
    leaderCommit: terms.length,
  });
  drain(core);
  assert.equal(core.appliedIndex, terms.length);
  return core;
}

// The service's snapshots ---------------------------------------------------------------------

Deno.test("7: compact drops applied entries and hands the snapshot out for persistence", () => {
  const core = appliedFollower([1, 1, 1, 1]);
  core.compact(3, BYTES);
  assert.equal(core.log.snapshotIndex, 3);
  assert.equal(core.log.snapshotTerm, 1);
  assert.equal(core.log.lastIndex, 4);
  assert.deepEqual(core.snapshotData, BYTES);
  const ready = drain(core);
  assert.deepEqual(ready.snapshot, { index: 3, term: 1, data: BYTES, membership: MEMBERSHIP });
  assert.equal(ready.snapshotToApply, undefined, "the service already has this state");
  assert.equal(ready.logChange, undefined);
  assert.equal(core.hasReady(), false);
});

Deno.test("7: compact may run while the Ready that handed the entries out is being applied", () => {
  const core = loneCore({ terms: [1, 1, 1], term: 1 });
  core.step({
    type: "AppendEntries",
    from: 1,
    to: 0,
    term: 1,
    prevLogIndex: 3,
    prevLogTerm: 1,
    entries: [],
    leaderCommit: 3,
  });
  const ready = core.ready();
  assert.equal(ready.committedEntries.length, 3);
  core.compact(2, BYTES);
  core.advance(ready);
  assert.equal(core.appliedIndex, 3);
  assert.deepEqual(drain(core).snapshot, {
    index: 2,
    term: 1,
    data: BYTES,
    membership: MEMBERSHIP,
  });
});

Deno.test("7: compact refuses entries not yet handed out and ignores old indexes", () => {
  const core = loneCore({ terms: [1, 1, 1], term: 1 });
  assert.throws(() => core.compact(1, BYTES), {
    message: "Cannot snapshot up to entry 1: only entries up to 0 were handed out to apply",
  });
  const applied = appliedFollower([1, 1, 1]);
  applied.compact(2, BYTES);
  drain(applied);
  applied.compact(1, new Uint8Array([9]));
  applied.compact(2, new Uint8Array([9]));
  assert.equal(applied.hasReady(), false);
  assert.deepEqual(applied.snapshotData, BYTES);
  assert.throws(() => applied.compact(4, BYTES), AssertionError);
});

Deno.test("7: a restarted peer starts commit and applied at its snapshot", () => {
  const core = loneCore({ snapshot: { index: 5, term: 2, data: BYTES }, terms: [2, 3], term: 3 });
  assert.equal(core.commitIndex, 5);
  assert.equal(core.appliedIndex, 5);
  assert.equal(core.log.firstIndex, 6);
  assert.equal(core.log.lastIndex, 7);
  assert.equal(core.hasReady(), false, "nothing to persist or apply yet");
  core.step({
    type: "AppendEntries",
    from: 1,
    to: 0,
    term: 3,
    prevLogIndex: 7,
    prevLogTerm: 3,
    entries: [],
    leaderCommit: 7,
  });
  assert.deepEqual(drain(core).committedEntries.map((entry) => entry.index), [6, 7]);
});

// InstallSnapshot, follower side --------------------------------------------------------------

Deno.test("7: a follower installs a newer snapshot, persists it, applies it and acknowledges", () => {
  const core = loneCore({ terms: [1, 1, 1], term: 1 });
  core.step(installSnapshot({ lastIncludedIndex: 5, lastIncludedTerm: 2 }));
  const ready = drain(core);
  assert.deepEqual(ready.snapshot, { index: 5, term: 2, data: BYTES, membership: MEMBERSHIP });
  assert.deepEqual(ready.snapshotToApply, ready.snapshot);
  assert.deepEqual(ready.committedEntries, []);
  assert.equal(ready.logChange, undefined, "entries 1 to 3 go with the snapshot");
  assert.deepEqual(only(ready.messages), {
    type: "InstallSnapshotReply",
    from: 0,
    to: 1,
    term: 2,
    matchIndex: 5,
  });
  assert.equal(core.log.snapshotIndex, 5);
  assert.equal(core.log.lastIndex, 5);
  assert.equal(core.commitIndex, 5);
  assert.equal(core.appliedIndex, 5);
  assert.equal(core.leaderId, 1);
});

Deno.test("7: a snapshot that matches the log keeps the entries after it", () => {
  const core = loneCore({ terms: [1, 1, 2, 2, 2], term: 2 });
  core.step(installSnapshot({ lastIncludedIndex: 3, lastIncludedTerm: 2 }));
  const ready = drain(core);
  assert.deepEqual(termsOf(core), [2, 2]);
  assert.equal(core.log.firstIndex, 4);
  assert.equal(ready.logChange, undefined, "entries 4 and 5 are already persisted");
  assert.equal(core.commitIndex, 3);
});

Deno.test("7: a snapshot that conflicts with the log discards it, persisted entries included", () => {
  const core = loneCore({ terms: [1, 1, 1, 1, 1], term: 1 });
  core.step(installSnapshot({ lastIncludedIndex: 3, lastIncludedTerm: 2 }));
  const ready = drain(core);
  assert.equal(core.log.lastIndex, 3);
  assert.deepEqual(ready.logChange, { truncateAfter: 3, append: [] });
  assert.deepEqual(ready.snapshot, { index: 3, term: 2, data: BYTES, membership: MEMBERSHIP });
});

Deno.test("7: an old InstallSnapshot never rolls back committed state", () => {
  const core = appliedFollower([1, 1, 1, 1]);
  core.step(installSnapshot({ term: 1, lastIncludedIndex: 3, lastIncludedTerm: 1 }));
  const ready = drain(core);
  assert.equal(ready.snapshot, undefined);
  assert.equal(ready.snapshotToApply, undefined);
  assert.equal(core.log.snapshotIndex, 0);
  assert.equal(core.log.lastIndex, 4);
  assert.equal(core.commitIndex, 4);
  assert.equal(only<InstallSnapshotReply>(ready.messages).matchIndex, 3);
});

// InstallSnapshot, leader side ----------------------------------------------------------------

Deno.test("7: a leader sends its snapshot to a follower that needs compacted entries", () => {
  const core = loneCore({ snapshot: { index: 5, term: 1, data: BYTES }, terms: [1], term: 1 });
  tickMany(core, 10);
  core.step({ type: "RequestVoteReply", from: 1, to: 0, term: 2, voteGranted: true });
  drain(core);
  core.step({
    type: "AppendEntriesReply",
    from: 1,
    to: 0,
    term: 2,
    success: false,
    matchIndex: 0,
    conflictIndex: 2,
    conflictTerm: -1,
    rejectedIndex: 6,
  });
  assert.deepEqual(only(drain(core).messages), {
    type: "InstallSnapshot",
    from: 0,
    to: 1,
    term: 2,
    lastIncludedIndex: 5,
    lastIncludedTerm: 1,
    data: BYTES,
    membership: MEMBERSHIP,
  });
  assert.equal(core.followerProgress(1)?.inflight, true);
  core.step({ type: "InstallSnapshotReply", from: 1, to: 0, term: 2, matchIndex: 0 });
  assert.equal(core.followerProgress(1)?.matchIndex, 0, "a refusal carries no progress");
  core.step({ type: "InstallSnapshotReply", from: 1, to: 0, term: 2, matchIndex: 5 });
  // The entries after the snapshot follow at once, so an append is in flight again.
  assert.deepEqual(core.followerProgress(1), {
    state: "replicate",
    nextIndex: 7,
    matchIndex: 5,
    inflight: true,
    inflightAppends: 1,
    windowAppends: 64,
  });
  const rest = only<AppendEntries>(drain(core).messages);
  assert.equal(rest.prevLogIndex, 5);
  assert.deepEqual(rest.entries.map((entry) => entry.index), [6]);
});

Deno.test("7: a follower cut off while the leader compacted catches up through InstallSnapshot", () => {
  const network = new TestNetwork({ size: 3, seed: 21, snapshotEveryEntries: 5 });
  network.timeOut(0);
  network.deliverAll();
  network.isolate(2);
  for (let command = 0; command < 12; command++) network.propose(0, `command ${command}`);
  network.deliverAll();
  network.run(3);
  assert.equal(network.core(0).log.snapshotIndex, 10);
  network.heal(2);
  network.run(4);
  const snapshots = network.delivered.filter((message) => message.type === "InstallSnapshot");
  assert.ok(snapshots.length >= 1 && snapshots.every((message) => message.to === 2));
  assert.deepEqual(network.applied(2), network.applied(0));
  assert.equal(network.applied(2).length, 12);
  assert.ok(network.core(2).log.snapshotIndex >= 10);
});

Deno.test("7: a crashed follower restarts from its snapshot and catches up", () => {
  const network = new TestNetwork({ size: 3, seed: 22, snapshotEveryEntries: 4 });
  network.timeOut(0);
  network.deliverAll();
  for (let command = 0; command < 9; command++) network.propose(0, command);
  network.deliverAll();
  network.run(2);
  assert.equal(network.persisted(1).snapshot.index, 8);
  assert.deepEqual(decode(network.persisted(1).snapshot.data), [0, 1, 2, 3, 4, 5, 6, 7]);
  network.crash(1);
  for (let command = 9; command < 20; command++) network.propose(0, command);
  network.deliverAll();
  network.restart(1);
  assert.equal(network.core(1).commitIndex, 8);
  assert.deepEqual(
    network.applied(1),
    [0, 1, 2, 3, 4, 5, 6, 7],
    "the service restarts from the snapshot",
  );
  network.run(4);
  assert.deepEqual(network.applied(1), Array.from({ length: 20 }, (_, command) => command));
  assert.deepEqual(network.persisted(1).snapshot.data, encode(network.applied(1).slice(0, 20)));
});

// A leader heard from through a snapshot chunk ----------------------------------------------

Deno.test("7: word from the leader through a snapshot chunk keeps a follower from campaigning", () => {
  const core = loneCore({ terms: [1], term: 1 });
  core.heardFromLeader(1, 1);
  // The base election timeout is 10 ticks (jitter 0): 9 ticks, word, 9 more, and no election.
  tickMany(core, 9);
  core.heardFromLeader(1, 1);
  tickMany(core, 9);
  assert.deepEqual([core.role, core.term, core.leaderId], ["follower", 1, 1]);
  tickMany(core, 1);
  assert.equal(core.role, "candidate", "silence for a whole timeout still starts an election");
});

Deno.test("7: word from a leader of a newer term makes a follower of it; of an older term, nothing", () => {
  const candidate = loneCore({ terms: [1], term: 1 });
  tickMany(candidate, 10);
  assert.deepEqual([candidate.role, candidate.term], ["candidate", 2]);
  candidate.heardFromLeader(2, 2);
  assert.deepEqual([candidate.role, candidate.term, candidate.leaderId], ["follower", 2, 2]);
  candidate.heardFromLeader(1, 5);
  assert.deepEqual([candidate.term, candidate.votedFor, candidate.leaderId], [5, NO_VOTE, 1]);
  assert.deepEqual(drain(candidate).hardState, { term: 5, votedFor: NO_VOTE });
  candidate.heardFromLeader(2, 4);
  assert.deepEqual([candidate.term, candidate.leaderId], [5, 1], "a stale term changes nothing");
});

Deno.test("7: a pre-candidate that hears from the leader of its own term follows it", () => {
  // A follower whose election timeout passes while a long snapshot arrives slowly pre-campaigns
  // in its term; the next chunk comes from that term's leader (seen once in the real crash loop).
  const core = loneCore({ terms: [1], term: 1, preVoteAndCheckQuorum: true });
  tickMany(core, 10);
  assert.deepEqual([core.role, core.term], ["precandidate", 1]);
  core.heardFromLeader(1, 1);
  assert.deepEqual([core.role, core.term, core.leaderId], ["follower", 1, 1]);
  assert.equal(drain(core).hardState, undefined, "pre-campaigning took neither term nor vote");
  tickMany(core, 9);
  assert.equal(core.role, "follower", "the word restarts the election timer");
});

Deno.test("7: a leader never hears from another leader of its own term", () => {
  const core = leader(3, [1], 1);
  assert.throws(() => core.heardFromLeader(1, core.term), /leads term 2 but heard from leader 1/);
  assert.throws(() => core.heardFromLeader(0, core.term + 1), /not another peer/);
});
