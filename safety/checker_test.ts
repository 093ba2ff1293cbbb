import assert from "node:assert/strict";
import { type Role } from "../raft/core.ts";
import { NO_VOTE } from "../raft/ready.ts";
import { RaftLog, type ReadonlyRaftLog } from "../raft/log.ts";
import type { Entry, Message } from "../raft/messages.ts";
import { type InvariantName, type PeerView, SafetyChecker } from "./checker.ts";
import type { PersistedView } from "../storage/memory_storage.ts";

/** A peer whose every field a test sets by hand. */
interface FakePeer extends PeerView {
  role: Role;
  term: number;
  votedFor: number;
  commitIndex: number;
  log: ReadonlyRaftLog;
}

function entries(terms: readonly number[], tag = "x", firstIndex = 1): Entry[] {
  return terms.map((term, position) => ({
    index: firstIndex + position,
    term,
    command: `${tag}${firstIndex + position}`,
  }));
}

function logOf(list: readonly Entry[], snapshotIndex = 0, snapshotTerm = 0): RaftLog {
  return new RaftLog({ snapshotIndex, snapshotTerm, entries: list });
}

function emptyStorage(): PersistedView {
  return {
    hardState: { term: 0, votedFor: NO_VOTE },
    snapshot: { index: 0, term: 0, data: new Uint8Array(0) },
    entries: [],
  };
}

/** A checker watching `count` fresh peers, all followers of term 0 with empty logs. */
function group(count: number): { checker: SafetyChecker; peers: FakePeer[] } {
  const checker = new SafetyChecker();
  const peers: FakePeer[] = [];
  for (let id = 0; id < count; id++) {
    checker.startIncarnation(id, emptyStorage(), []);
    peers.push({
      id,
      role: "follower",
      term: 0,
      votedFor: NO_VOTE,
      commitIndex: 0,
      log: logOf([]),
    });
  }
  return { checker, peers };
}

function invariants(checker: SafetyChecker): InvariantName[] {
  return checker.violations.map((violation) => violation.invariant);
}

Deno.test("election safety: two leaders of one term are caught, even one after the other", () => {
  const { checker, peers } = group(3);
  Object.assign(peers[0], { role: "leader", term: 3, votedFor: 0 });
  checker.checkPeer(peers[0], true);
  checker.checkPeer(peers[0], true);
  Object.assign(peers[0], { role: "follower", term: 4, votedFor: NO_VOTE });
  checker.checkPeer(peers[0], true);
  assert.deepEqual(invariants(checker), []);
  Object.assign(peers[1], { role: "leader", term: 3, votedFor: 1 });
  checker.checkPeer(peers[1], true);
  assert.deepEqual(invariants(checker), ["election safety"]);
  assert.match(checker.violations[0].message, /Peers 0 and 1 both led term 3/);
});

Deno.test("log matching: one index and term must mean one command after one term", () => {
  const { checker, peers } = group(3);
  peers[0].log = logOf(entries([1, 1, 2], "a"));
  peers[1].log = logOf(entries([1, 1], "a"));
  checker.checkPeer(peers[0], true);
  checker.checkPeer(peers[1], true);
  assert.deepEqual(invariants(checker), []);
  peers[2].log = logOf([...entries([1], "a"), ...entries([1], "b", 2)]);
  checker.checkPeer(peers[2], true);
  assert.deepEqual(invariants(checker), ["log matching"]);
  assert.match(checker.violations[0].message, /Peer 2 holds entry 2 of term 1 as "b2"/);
});

Deno.test("log matching: the same entry after a different previous term is caught", () => {
  const { checker, peers } = group(2);
  peers[0].log = logOf([{ index: 1, term: 1, command: "a1" }, { index: 2, term: 3, command: "c" }]);
  peers[1].log = logOf([{ index: 1, term: 2, command: "b1" }, { index: 2, term: 3, command: "c" }]);
  checker.checkPeer(peers[0], true);
  checker.checkPeer(peers[1], true);
  assert.deepEqual(invariants(checker), ["log matching"]);
});

Deno.test("log matching: a log whose terms go down or whose indexes skip is caught", () => {
  const { checker, peers } = group(2);
  const broken: ReadonlyRaftLog = {
    snapshotIndex: 0,
    snapshotTerm: 0,
    firstIndex: 1,
    lastIndex: 2,
    lastTerm: 1,
    term: (index) => [0, 2, 1][index],
    entry: (index) => ({ index, term: [0, 2, 1][index], command: index }),
    slice: () => [{ index: 1, term: 2, command: 1 }, { index: 2, term: 1, command: 2 }],
  };
  peers[0].log = broken;
  checker.checkPeer(peers[0], true);
  assert.deepEqual(invariants(checker), ["log matching"]);
  assert.match(checker.violations[0].message, /entry 2 of term 1 at position 2, after term 2/);
});

Deno.test("log matching: an untouched peer's log is not rescanned, a touched one is", () => {
  const { checker, peers } = group(2);
  peers[0].log = logOf(entries([1, 1], "a"));
  checker.checkPeer(peers[0], true);
  peers[1].log = logOf(entries([1, 1], "b"));
  checker.checkPeer(peers[1], false);
  assert.deepEqual(invariants(checker), []);
  checker.checkPeer(peers[1], true);
  assert.deepEqual(invariants(checker), ["log matching"]);
});

Deno.test("leader completeness: a later leader without a committed entry is caught", () => {
  const { checker, peers } = group(3);
  Object.assign(peers[0], { role: "leader", term: 1, votedFor: 0, commitIndex: 1 });
  peers[0].log = logOf(entries([1], "a"));
  checker.checkPeer(peers[0], true);
  Object.assign(peers[1], { role: "leader", term: 2, votedFor: 1 });
  peers[1].log = logOf(entries([2], "b"));
  checker.checkPeer(peers[1], true);
  assert.deepEqual(invariants(checker), ["leader completeness"]);
  assert.match(checker.violations[0].message, /Leader 1 of term 2 lacks entry 1 of term 1/);
});

Deno.test("leader completeness: an entry inside the leader's snapshot counts as held", () => {
  const { checker, peers } = group(3);
  Object.assign(peers[0], { role: "follower", term: 1, commitIndex: 2 });
  peers[0].log = logOf(entries([1, 1], "a"));
  checker.checkPeer(peers[0], true);
  Object.assign(peers[1], { role: "leader", term: 2, votedFor: 1, commitIndex: 1 });
  peers[1].log = logOf(entries([1], "a", 2), 1, 1);
  checker.checkPeer(peers[1], true);
  assert.deepEqual(invariants(checker), []);
});

Deno.test("leader completeness: a commit in an older term checks the leaders already elected", () => {
  const { checker, peers } = group(3);
  Object.assign(peers[2], { role: "leader", term: 3, votedFor: 2 });
  peers[2].log = logOf(entries([1], "a"));
  checker.checkPeer(peers[2], true);
  // A stale peer in term 1 learns that entry 2 (which leader 2 lacks) committed.
  Object.assign(peers[0], { term: 1, commitIndex: 2 });
  peers[0].log = logOf(entries([1, 1], "a"));
  checker.checkPeer(peers[0], true);
  assert.deepEqual(invariants(checker), ["leader completeness"]);
});

Deno.test("state machine safety: different commands applied or committed at one index are caught", () => {
  const { checker } = group(3);
  checker.checkApplyEntry(0, { index: 1, term: 1, command: "a" });
  checker.checkApplyEntry(1, { index: 1, term: 1, command: "a" });
  assert.deepEqual(invariants(checker), []);
  checker.checkApplyEntry(2, { index: 1, term: 2, command: "b" });
  assert.deepEqual(invariants(checker), ["state machine safety"]);

  const second = group(2);
  Object.assign(second.peers[0], { term: 1, commitIndex: 1, log: logOf(entries([1], "a")) });
  Object.assign(second.peers[1], { term: 2, commitIndex: 1, log: logOf(entries([2], "b")) });
  second.checker.checkPeer(second.peers[0], true);
  second.checker.checkPeer(second.peers[1], true);
  assert.ok(invariants(second.checker).includes("state machine safety"));
});

Deno.test("state machine safety: a snapshot that disagrees with what was applied is caught", () => {
  const { checker } = group(2);
  checker.checkApplyEntry(0, { index: 1, term: 1, command: "a" });
  checker.checkApplyEntry(0, { index: 2, term: 1, command: "b" });
  checker.checkApplySnapshot(1, 2, ["a", "b"]);
  assert.deepEqual(invariants(checker), []);
  checker.checkApplySnapshot(1, 3, ["a", "c", "d"]);
  assert.deepEqual(invariants(checker), ["state machine safety"]);
});

Deno.test("apply order: a skipped index or a snapshot that goes back is caught", () => {
  const { checker } = group(2);
  checker.checkApplyEntry(0, { index: 1, term: 1, command: "a" });
  checker.checkApplySnapshot(1, 1, ["a"]);
  checker.checkApplyEntry(1, { index: 2, term: 1, command: "b" });
  assert.deepEqual(invariants(checker), []);
  checker.checkApplySnapshot(1, 1, ["a"]);
  assert.deepEqual(invariants(checker), ["apply order"]);
  checker.checkApplyEntry(0, { index: 3, term: 1, command: "c" });
  assert.deepEqual(invariants(checker), ["apply order", "apply order"]);
});

Deno.test("commit monotonicity: the commit index may not go back within one incarnation", () => {
  const { checker, peers } = group(1);
  Object.assign(peers[0], { term: 1, commitIndex: 2, log: logOf(entries([1, 1])) });
  checker.checkPeer(peers[0], true);
  peers[0].commitIndex = 1;
  checker.checkPeer(peers[0], true);
  assert.deepEqual(invariants(checker), ["commit monotonicity"]);
  // A restart starts again from the snapshot: no violation.
  checker.endIncarnation(0);
  checker.startIncarnation(0, emptyStorage(), []);
  peers[0].commitIndex = 0;
  checker.checkPeer(peers[0], true);
  assert.deepEqual(invariants(checker), ["commit monotonicity"]);
});

Deno.test("term monotonicity: memory within an incarnation, storage across crashes", () => {
  const { checker, peers } = group(1);
  Object.assign(peers[0], { term: 5, votedFor: NO_VOTE });
  checker.checkPeer(peers[0], false);
  // Term 5 was never persisted: after a crash the peer is back in term 0, which is fine.
  checker.endIncarnation(0);
  checker.startIncarnation(0, emptyStorage(), []);
  Object.assign(peers[0], { term: 0 });
  checker.checkPeer(peers[0], false);
  assert.deepEqual(invariants(checker), []);
  Object.assign(peers[0], { term: 2, votedFor: 0 });
  checker.checkPeer(peers[0], false);
  Object.assign(peers[0], { votedFor: NO_VOTE });
  checker.checkPeer(peers[0], false);
  Object.assign(peers[0], { term: 1 });
  checker.checkPeer(peers[0], false);
  assert.deepEqual(invariants(checker), ["term monotonicity", "term monotonicity"]);
});

Deno.test("term monotonicity: stored term going back or stored vote changing is caught", () => {
  const { checker } = group(1);
  const storage = (term: number, votedFor: number): PersistedView => ({
    ...emptyStorage(),
    hardState: { term, votedFor },
  });
  checker.checkStorage(0, storage(3, NO_VOTE));
  checker.checkStorage(0, storage(3, 2));
  checker.checkStorage(0, storage(4, NO_VOTE));
  assert.deepEqual(invariants(checker), []);
  checker.checkStorage(0, storage(4, 1));
  checker.checkStorage(0, storage(4, 2));
  checker.checkStorage(0, storage(3, 2));
  assert.deepEqual(invariants(checker), ["term monotonicity", "term monotonicity"]);
});

Deno.test("durability: a message may not promise what storage does not hold", () => {
  const { checker } = group(3);
  const stored: PersistedView = {
    hardState: { term: 2, votedFor: 1 },
    snapshot: { index: 0, term: 0, data: new Uint8Array(0) },
    entries: entries([1, 1]),
  };
  const base = { from: 0, to: 1, term: 2 };
  const good: Message[] = [
    { type: "RequestVoteReply", ...base, voteGranted: true },
    {
      type: "AppendEntriesReply",
      ...base,
      success: true,
      matchIndex: 2,
      conflictIndex: 0,
      conflictTerm: -1,
      rejectedIndex: 0,
    },
    { type: "InstallSnapshotReply", ...base, matchIndex: 0 },
  ];
  for (const message of good) checker.checkSend(0, message, stored);
  assert.deepEqual(invariants(checker), []);
  const bad: Message[] = [
    { type: "RequestVoteReply", ...base, to: 2, voteGranted: true },
    {
      type: "AppendEntriesReply",
      ...base,
      success: true,
      matchIndex: 3,
      conflictIndex: 0,
      conflictTerm: -1,
      rejectedIndex: 0,
    },
    { type: "RequestVote", ...base, lastLogIndex: 2, lastLogTerm: 1 },
    { type: "InstallSnapshotReply", ...base, term: 3, matchIndex: 0 },
  ];
  for (const message of bad) checker.checkSend(0, message, stored);
  assert.deepEqual(invariants(checker), Array(4).fill("durability"));
});

Deno.test("durability: a vote or candidacy of a term storage has left behind may still go out", () => {
  const { checker } = group(3);
  // Group commit: a vote of term 2 is sent in the Ready that persists term 3 first.
  const stored: PersistedView = {
    hardState: { term: 3, votedFor: NO_VOTE },
    snapshot: { index: 0, term: 0, data: new Uint8Array(0) },
    entries: [],
  };
  const base = { from: 0, to: 1, term: 2 };
  checker.checkSend(0, { type: "RequestVoteReply", ...base, voteGranted: true }, stored);
  checker.checkSend(0, { type: "RequestVote", ...base, lastLogIndex: 0, lastLogTerm: 0 }, stored);
  assert.deepEqual(invariants(checker), []);
  const current = { from: 0, to: 1, term: 3 };
  checker.checkSend(0, { type: "RequestVoteReply", ...current, voteGranted: true }, stored);
  checker.checkSend(
    0,
    { type: "RequestVote", ...current, lastLogIndex: 0, lastLogTerm: 0 },
    stored,
  );
  assert.deepEqual(invariants(checker), ["durability", "durability"]);
});

Deno.test("durability: only a leader's requests may leave before the persist of their Ready", () => {
  const { checker } = group(3);
  const stored: PersistedView = {
    hardState: { term: 2, votedFor: 0 },
    snapshot: { index: 0, term: 0, data: new Uint8Array(0) },
    entries: entries([1]),
  };
  const base = { from: 0, to: 1, term: 2 };
  // Entries 2 and 3 are not durable yet: the leader may send them all the same.
  checker.checkSendBeforePersist(0, {
    type: "AppendEntries",
    ...base,
    prevLogIndex: 1,
    prevLogTerm: 1,
    entries: entries([2, 2], "x", 2),
    leaderCommit: 1,
  }, stored);
  checker.checkSendBeforePersist(0, {
    type: "InstallSnapshot",
    ...base,
    lastIncludedIndex: 1,
    lastIncludedTerm: 1,
    data: new Uint8Array(0),
    membership: { voters: [0, 1, 2], learners: [], addresses: {} },
  }, stored);
  assert.deepEqual(invariants(checker), []);
  const early: Message[] = [
    { type: "RequestVoteReply", ...base, voteGranted: false },
    {
      type: "AppendEntriesReply",
      ...base,
      success: true,
      matchIndex: 1,
      conflictIndex: 0,
      conflictTerm: -1,
      rejectedIndex: 0,
    },
    { type: "InstallSnapshotReply", ...base, matchIndex: 0 },
    { type: "RequestVote", ...base, lastLogIndex: 1, lastLogTerm: 1 },
    {
      type: "AppendEntries",
      ...base,
      term: 3,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [],
      leaderCommit: 1,
    },
  ];
  for (const message of early) checker.checkSendBeforePersist(0, message, stored);
  assert.deepEqual(invariants(checker), Array(5).fill("durability"));
});

Deno.test("persistence: storage that differs from memory after a whole Ready is caught", () => {
  const { checker, peers } = group(1);
  Object.assign(peers[0], { term: 2, votedFor: 0, log: logOf(entries([1, 2])) });
  const stored: PersistedView = {
    hardState: { term: 2, votedFor: 0 },
    snapshot: { index: 0, term: 0, data: new Uint8Array(0) },
    entries: entries([1, 2]),
  };
  checker.checkStorageMatchesMemory(peers[0], stored);
  assert.deepEqual(invariants(checker), []);
  checker.checkStorageMatchesMemory(peers[0], {
    ...stored,
    hardState: { term: 2, votedFor: NO_VOTE },
  });
  checker.checkStorageMatchesMemory(peers[0], { ...stored, entries: entries([1]) });
  assert.deepEqual(invariants(checker), ["persistence", "persistence"]);
});

Deno.test("skip: silenced invariants are not reported, the others still are", () => {
  const checker = new SafetyChecker({ skip: ["durability"] });
  checker.startIncarnation(0, emptyStorage(), []);
  checker.checkSend(0, {
    type: "RequestVote",
    from: 0,
    to: 1,
    term: 1,
    lastLogIndex: 0,
    lastLogTerm: 0,
  }, emptyStorage());
  checker.checkApplyEntry(0, { index: 2, term: 1, command: "a" });
  assert.deepEqual(invariants(checker), ["apply order"]);
});

Deno.test("log matching, pairwise: logs that agree at a high index must agree below it", () => {
  const { checker, peers } = group(3);
  peers[0].log = logOf(entries([1, 1, 2], "a"));
  peers[1].log = logOf(entries([1, 1, 3], "a"));
  peers[2].log = logOf(entries([1, 1], "b", 2), 1, 1);
  checker.checkLogsPairwise(peers.slice(0, 2));
  assert.deepEqual(invariants(checker), [], "logs that differ only after their last match agree");
  checker.checkLogsPairwise(peers);
  assert.deepEqual(invariants(checker), ["log matching", "log matching"]);
  assert.match(checker.violations[0].message, /Peers 0 and 2 .* differ at entry 2/);
});

Deno.test("a term a lone voter led but never persisted is forgotten when it restarts, not one it sent", () => {
  const { checker, peers } = group(1);
  Object.assign(peers[0], { role: "leader", term: 2, votedFor: 0, log: logOf(entries([2], "a")) });
  checker.checkPeer(peers[0], true);
  // A crash before the Ready of term 2 was persisted: the peer is back in term 0, leads term 2
  // again and appends another entry at index 1.
  checker.endIncarnation(0);
  checker.startIncarnation(0, emptyStorage(), []);
  Object.assign(peers[0], { log: logOf(entries([2], "b")) });
  checker.checkPeer(peers[0], true);
  assert.deepEqual(invariants(checker), []);
  // Consenting to a pre-vote for term 2 names the term without taking it: still forgotten.
  const consent = { type: "PreVoteReply", from: 0, to: 1, term: 2, voteGranted: true } as const;
  checker.checkSend(0, consent, emptyStorage());
  checker.endIncarnation(0);
  checker.startIncarnation(0, emptyStorage(), []);
  Object.assign(peers[0], { log: logOf(entries([2], "d")) });
  checker.checkPeer(peers[0], true);
  assert.deepEqual(invariants(checker), []);
  // Had it sent a message of term 2, the term would have been seen: the entry stays known.
  checker.checkSend(0, { type: "TimeoutNowReply", from: 0, to: 1, term: 2, accepted: false }, {
    ...emptyStorage(),
    hardState: { term: 2, votedFor: 0 },
  });
  checker.endIncarnation(0);
  checker.startIncarnation(0, emptyStorage(), []);
  Object.assign(peers[0], { log: logOf(entries([2], "c")) });
  checker.checkPeer(peers[0], true);
  assert.deepEqual(invariants(checker), ["log matching"]);
});
