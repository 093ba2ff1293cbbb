/**
 * Streaming replication, leader side: each follower's progress state (probe, replicate,
 * snapshot) and its transitions, the window of appends in flight, heartbeats without entries,
 * and refusals of superseded appends ignored (etcd-io/raft's tracker is the model; the paper's
 * section 5.3 allows any number of AppendEntries in flight).
 */
import assert from "node:assert/strict";
import { RaftCore } from "./core.ts";
import type { AppendEntries, AppendEntriesReply, Message } from "./messages.ts";
import { appendReply, drain, lowestRandom } from "./testing/test_network.ts";

const HEARTBEAT_TICKS = 2;
const ELECTION_TIMEOUT_TICKS = 10;

/** Peer 0, leader of term 2 in a group of three, log of `entryCount` entries of term 1. */
function streamingLeader(entryCount: number, window = { appends: 4, bytes: 1 << 20 }): RaftCore {
  const entries = Array.from({ length: entryCount }, (_, position) => ({
    index: position + 1,
    term: 1,
    command: `c${position + 1}`,
  }));
  const core = new RaftCore({
    id: 0,
    peers: [0, 1, 2],
    electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
    heartbeatTicks: HEARTBEAT_TICKS,
    random: lowestRandom,
    hardState: { term: 1, votedFor: -1 },
    entries,
    maxEntriesPerAppend: 2,
    maxInflightAppends: window.appends,
    maxInflightBytes: window.bytes,
    preVote: false,
    checkQuorum: false,
  });
  for (let tick = 0; tick < ELECTION_TIMEOUT_TICKS; tick++) core.tick();
  core.step({ type: "RequestVoteReply", from: 1, to: 0, term: 2, voteGranted: true });
  assert.equal(core.role, "leader");
  return core;
}

function reply(from: number, fields: Partial<AppendEntriesReply>): AppendEntriesReply {
  return appendReply({ from, ...fields });
}

/** The appends in `messages` to `peer`, as [prevLogIndex, first index, last index]. */
function appendsTo(peer: number, messages: readonly Message[]): number[][] {
  return messages
    .filter((message): message is AppendEntries =>
      message.type === "AppendEntries" && message.to === peer
    )
    .map((message) => [
      message.prevLogIndex,
      message.entries[0]?.index ?? 0,
      message.entries.at(-1)?.index ?? 0,
    ]);
}

/** Drains and returns every message of the Readies until none is left. */
function sent(core: RaftCore): Message[] {
  const messages: Message[] = [];
  // Bounded: each Ready advanced leaves less to hand out.
  for (let round = 0; round < 100 && core.hasReady(); round++) {
    const ready = drain(core);
    messages.push(...ready.messagesBeforePersist, ...ready.messages);
  }
  return messages;
}

function heartbeat(core: RaftCore): Message[] {
  for (let tick = 0; tick < HEARTBEAT_TICKS; tick++) core.tick();
  return sent(core);
}

Deno.test("a new leader probes every follower at the end of its log, without entries", () => {
  const core = streamingLeader(20);
  const messages = sent(core);
  assert.deepEqual(appendsTo(1, messages), [[20, 0, 0]]);
  assert.deepEqual(appendsTo(2, messages), [[20, 0, 0]]);
  assert.equal(core.followerProgress(1)?.state, "probe");
});

Deno.test("probe: a refusal of the current probe backs up and probes again, one append at a time", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { success: false, conflictIndex: 5, rejectedIndex: 20 }));
  assert.deepEqual(appendsTo(1, sent(core)), [[4, 5, 6]], "two entries per append");
  assert.deepEqual(core.followerProgress(1), {
    state: "probe",
    nextIndex: 5,
    matchIndex: 0,
    inflight: true,
    inflightAppends: 0,
    windowAppends: 4,
  });
  core.propose("new");
  assert.deepEqual(appendsTo(1, sent(core)), [], "a probe in flight holds back new entries");
});

Deno.test("probe → replicate: a success streams a window of appends at once", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { success: false, conflictIndex: 5, rejectedIndex: 20 }));
  sent(core);
  core.step(reply(1, { matchIndex: 6 }));
  assert.deepEqual(appendsTo(1, sent(core)), [[6, 7, 8], [8, 9, 10], [10, 11, 12], [12, 13, 14]]);
  assert.deepEqual(core.followerProgress(1), {
    state: "replicate",
    nextIndex: 15,
    matchIndex: 6,
    inflight: true,
    inflightAppends: 4,
    windowAppends: 4,
  });
});

Deno.test("replicate: the window bounds appends in flight; each acknowledgement frees room", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { matchIndex: 0, success: false, conflictIndex: 1, rejectedIndex: 20 }));
  sent(core);
  core.step(reply(1, { matchIndex: 2 }));
  assert.equal(appendsTo(1, sent(core)).length, 4);
  for (let more = 0; more < 3; more++) core.propose(`more ${more}`);
  assert.deepEqual(appendsTo(1, sent(core)), [], "the window is full");
  core.step(reply(1, { matchIndex: 6 }));
  assert.deepEqual(appendsTo(1, sent(core)), [[10, 11, 12], [12, 13, 14]]);
  assert.equal(core.followerProgress(1)?.inflightAppends, 4);
});

Deno.test("replicate: the window also bounds bytes in flight", () => {
  const core = streamingLeader(20, { appends: 100, bytes: 50 });
  sent(core);
  core.step(reply(1, { matchIndex: 20 }));
  sent(core);
  const big = "x".repeat(40);
  for (let command = 0; command < 4; command++) core.propose(big);
  // Two entries of about 56 bytes each go in one append, which alone fills the window.
  assert.deepEqual(appendsTo(1, sent(core)), [[20, 21, 22]]);
  core.step(reply(1, { matchIndex: 22 }));
  assert.deepEqual(appendsTo(1, sent(core)), [[22, 23, 24]]);
});

Deno.test("replicate: heartbeats carry no entries and vouch for the end of what was sent", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { matchIndex: 20 }));
  core.propose("a");
  core.propose("b");
  assert.deepEqual(appendsTo(1, sent(core)), [[20, 21, 22]]);
  const beat = appendsTo(1, heartbeat(core));
  assert.deepEqual(beat, [[22, 0, 0]], "no entries, prevLogIndex at the window's end");
  core.step(reply(1, { matchIndex: 22 }));
  assert.deepEqual(core.followerProgress(1)?.inflightAppends, 0);
});

Deno.test("replicate → probe: a lost append revealed by a refused heartbeat", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { matchIndex: 20 }));
  core.propose("a");
  sent(core); // lost on the way
  heartbeat(core);
  core.step(reply(1, { success: false, conflictIndex: 21, rejectedIndex: 21 }));
  assert.deepEqual(appendsTo(1, sent(core)), [[20, 21, 21]]);
  assert.equal(core.followerProgress(1)?.state, "probe");
});

Deno.test("replicate ignores refusals of appends the follower has since acknowledged past", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { matchIndex: 20 }));
  for (let command = 0; command < 4; command++) core.propose(command);
  sent(core);
  core.step(reply(1, { matchIndex: 24 }));
  // A refusal of an older append (duplicated, or delayed behind the success) changes nothing.
  core.step(reply(1, { success: false, conflictIndex: 19, rejectedIndex: 22 }));
  assert.deepEqual(sent(core), []);
  assert.equal(core.followerProgress(1)?.state, "replicate");
  assert.equal(core.followerProgress(1)?.nextIndex, 25);
});

Deno.test("probe ignores refusals of probes other than the current one", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { success: false, conflictIndex: 15, rejectedIndex: 20 }));
  sent(core);
  // The refusal of the first probe again (a duplicate): next stays at the current probe.
  core.step(reply(1, { success: false, conflictIndex: 15, rejectedIndex: 20 }));
  assert.deepEqual(sent(core), []);
  assert.equal(core.followerProgress(1)?.nextIndex, 15);
});

Deno.test("replicate → probe after an election timeout of silence; then one probe per heartbeat", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { matchIndex: 20 }));
  core.propose("a");
  sent(core);
  const heartbeats = Math.ceil(ELECTION_TIMEOUT_TICKS / HEARTBEAT_TICKS);
  for (let beat = 1; beat < heartbeats; beat++) heartbeat(core);
  assert.equal(core.followerProgress(1)?.state, "replicate");
  assert.deepEqual(appendsTo(1, heartbeat(core)), [[20, 21, 21]], "the probe carries entries");
  assert.equal(core.followerProgress(1)?.state, "probe");
  core.propose("b");
  assert.deepEqual(appendsTo(1, sent(core)), [], "nothing more until the probe is answered");
});

Deno.test("snapshot: nothing else is sent until it is acknowledged, then replicate", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { matchIndex: 20 }));
  core.propose("x");
  assert.deepEqual(appendsTo(2, sent(core)), [[20, 21, 21]], "follower 2 is probed with entries");
  core.step(reply(1, { matchIndex: 21 }));
  sent(core);
  assert.equal(core.commitIndex, 21);
  core.compact(21, new Uint8Array([7]));
  core.step(reply(1, { success: false, conflictIndex: 3, rejectedIndex: 20 }));
  assert.equal(core.followerProgress(1)?.state, "replicate", "a stale refusal: match is 21");
  // Follower 2 never answered; its next entry is now compacted, so the next probe is the snapshot.
  const types = heartbeat(core).filter((message) => message.to === 2).map((message) =>
    message.type
  );
  assert.deepEqual(types, ["InstallSnapshot"]);
  assert.equal(core.followerProgress(2)?.state, "snapshot");
  core.propose("y");
  assert.deepEqual(appendsTo(2, sent(core)), [], "paused while the snapshot travels");
  assert.deepEqual(appendsTo(2, heartbeat(core)), [], "no heartbeat append either");
  core.step({ type: "InstallSnapshotReply", from: 2, to: 0, term: 2, matchIndex: 21 });
  assert.deepEqual(appendsTo(2, sent(core)), [[21, 22, 22]]);
  assert.equal(core.followerProgress(2)?.state, "replicate");
});

Deno.test("replicate: while appends are in flight a partial batch waits for an acknowledgement; a full one goes at once", () => {
  const core = streamingLeader(20);
  sent(core);
  core.step(reply(1, { matchIndex: 20 }));
  core.propose("a");
  assert.deepEqual(appendsTo(1, sent(core)), [[20, 21, 21]], "nothing in flight: at once");
  core.propose("b");
  assert.deepEqual(appendsTo(1, sent(core)), [], "one entry, under the cap of two: held back");
  core.propose("c");
  assert.deepEqual(appendsTo(1, sent(core)), [[21, 22, 23]], "two entries fill a batch");
  core.propose("d");
  sent(core);
  core.step(reply(1, { matchIndex: 23 }));
  assert.deepEqual(appendsTo(1, sent(core)), [[23, 24, 24]], "the acknowledgement sends it");
});
