/**
 * The core's contract with its driver: construction and restoring, the Ready/advance cycle,
 * what may be called when, and the checks on what it is given. The paper's rules are tested in
 * core_election_test.ts, core_replication_test.ts, core_safety_test.ts and
 * core_snapshot_test.ts.
 */
import assert from "node:assert/strict";
import { decode, encode } from "../rpc/codec.ts";
import { AssertionError } from "../util/assert.ts";
import { NO_LEADER, RaftCore } from "./core.ts";
import { NO_VOTE } from "./ready.ts";
import { type RaftCoreConfig } from "./config.ts";
import type { AppendEntries, Message, RequestVoteReply } from "./messages.ts";
import { drain, loneCore, lowestRandom, TestNetwork, tickMany } from "./testing/test_network.ts";

function config(fields: Partial<RaftCoreConfig> = {}): RaftCoreConfig {
  return {
    id: 0,
    peers: [0, 1, 2],
    electionTimeoutTicks: 10,
    heartbeatTicks: 2,
    random: lowestRandom,
    ...fields,
  };
}

function heartbeat(term: number, leaderCommit = 0, prevLogIndex = 0): AppendEntries {
  return {
    type: "AppendEntries",
    from: 1,
    to: 0,
    term,
    prevLogIndex,
    prevLogTerm: prevLogIndex === 0 ? 0 : term,
    entries: [],
    leaderCommit,
  };
}

Deno.test("a new core is a follower of term 0 with nothing to do", () => {
  const core = new RaftCore(config());
  assert.equal(core.id, 0);
  assert.deepEqual(core.peers, [0, 1, 2]);
  assert.equal(core.role, "follower");
  assert.equal(core.term, 0);
  assert.equal(core.votedFor, NO_VOTE);
  assert.equal(core.leaderId, NO_LEADER);
  assert.equal(core.commitIndex, 0);
  assert.equal(core.appliedIndex, 0);
  assert.equal(core.log.lastIndex, 0);
  assert.equal(core.hasReady(), false);
  assert.equal(core.followerProgress(1), null);
});

Deno.test("a restored core keeps its term and vote and does not vote twice", () => {
  const core = loneCore({ terms: [1, 2], term: 3, votedFor: 2 });
  assert.equal(core.term, 3);
  assert.equal(core.votedFor, 2);
  assert.equal(core.commitIndex, 0, "commitIndex is volatile");
  assert.equal(core.hasReady(), false, "the restored state is already persisted");
  core.step({ type: "RequestVote", from: 1, to: 0, term: 3, lastLogIndex: 5, lastLogTerm: 3 });
  assert.equal((drain(core).messages[0] as RequestVoteReply).voteGranted, false);
});

Deno.test("a core refuses a configuration that cannot work", () => {
  const cases: [Partial<RaftCoreConfig>, RegExp][] = [
    [{ id: 3 }, /not in peers/],
    [{ peers: [0, 1, 1] }, /repeat/],
    [{ heartbeatTicks: 10 }, /below the election timeout/],
    [{ electionTimeoutTicks: 0 }, /not a positive whole number/],
    [{ hardState: { term: 1, votedFor: -5 } }, /voted for -5, not a peer id/],
    [
      { hardState: { term: 1, votedFor: -1 }, entries: [{ index: 1, term: 2, command: 0 }] },
      /past its term/,
    ],
    [{ entries: [{ index: 2, term: 0, command: 0 }] }, /Cannot append entry 2: log ends at 0/],
    [{ maxEntriesPerAppend: 0 }, /not a positive whole number/],
  ];
  for (const [fields, message] of cases) {
    assert.throws(() => new RaftCore(config(fields)), message);
  }
});

Deno.test("step refuses messages not meant for this peer", () => {
  const core = new RaftCore(config());
  assert.throws(() => core.step({ ...heartbeat(1), to: 2 }), {
    message: "Peer 0 cannot step a AppendEntries addressed to peer 2",
  });
  assert.throws(() => core.step({ ...heartbeat(1), from: -2 }), AssertionError);
  assert.throws(() => core.step({ ...heartbeat(1), from: 0 }), AssertionError);
});

Deno.test("ready hands each thing out once; advance acknowledges it", () => {
  const core = loneCore({ terms: [1, 1], term: 1 });
  core.step(heartbeat(1, 2, 2));
  assert.equal(core.hasReady(), true);
  const ready = core.ready();
  assert.deepEqual(ready.committedEntries.map((entry) => entry.index), [1, 2]);
  assert.equal(ready.messages.length, 1);
  assert.equal(core.hasReady(), false, "nothing new while the Ready is outstanding");
  assert.equal(core.appliedIndex, 0, "applied only once advanced");
  core.advance(ready);
  assert.equal(core.appliedIndex, 2);
  assert.equal(core.hasReady(), false);
});

Deno.test("inputs between ready and advance go into the next Ready", () => {
  const core = loneCore({ terms: [1, 1, 1], term: 1 });
  core.step(heartbeat(1, 1, 1));
  const first = core.ready();
  core.step(heartbeat(1, 3, 3));
  assert.throws(() => core.ready(), /before the last one is advanced/);
  core.advance(first);
  const second = core.ready();
  assert.deepEqual(first.committedEntries.map((entry) => entry.index), [1]);
  assert.deepEqual(second.committedEntries.map((entry) => entry.index), [2, 3]);
  assert.equal(second.messages.length, 1);
  assert.throws(() => core.advance(first), /did not hand out last/);
  core.advance(second);
  assert.equal(core.appliedIndex, 3);
});

Deno.test("committed entries come out at most maxEntriesPerReady at a time", () => {
  const entries = Array.from({ length: 25 }, (_, position) => ({
    index: position + 1,
    term: 1,
    command: position,
  }));
  const core = new RaftCore(
    config({ hardState: { term: 1, votedFor: NO_VOTE }, entries, maxEntriesPerReady: 10 }),
  );
  core.step(heartbeat(1, 25, 25));
  const sizes: number[] = [];
  while (core.hasReady()) sizes.push(drain(core).committedEntries.length);
  assert.deepEqual(sizes, [10, 10, 5]);
  assert.equal(core.appliedIndex, 25);
});

Deno.test("a hard state appears only when term or vote changed", () => {
  const core = loneCore({ term: 1 });
  core.step(heartbeat(1));
  assert.equal(drain(core).hardState, undefined);
  core.step(heartbeat(2));
  assert.deepEqual(drain(core).hardState, { term: 2, votedFor: NO_VOTE });
  core.step(heartbeat(2));
  assert.equal(drain(core).hardState, undefined);
});

Deno.test("a group of one elects itself and commits a proposal once it is persisted", () => {
  const core = loneCore({ size: 1 });
  tickMany(core, 10);
  assert.equal(core.role, "leader");
  assert.equal(core.propose("alone").index, 1);
  const persisting = core.ready();
  assert.deepEqual(persisting.logChange?.append.map((entry) => entry.command), ["alone"]);
  assert.deepEqual(persisting.committedEntries, []);
  assert.equal(core.commitIndex, 0, "its only copy is not durable yet");
  core.advance(persisting);
  assert.equal(core.commitIndex, 1);
  const applying = drain(core);
  assert.deepEqual(applying.committedEntries.map((entry) => entry.command), ["alone"]);
  assert.equal(applying.logChange, undefined);
  assert.deepEqual(applying.messages, []);
});

Deno.test("every message a core emits survives the codec unchanged", () => {
  const network = new TestNetwork({ size: 3, seed: 31, snapshotEveryEntries: 3 });
  network.timeOut(0);
  network.deliverAll();
  network.isolate(2);
  for (let command = 0; command < 8; command++) {
    network.propose(0, { key: `k${command}`, value: new Uint8Array([command]), n: command });
  }
  network.deliverAll();
  network.heal(2);
  network.run(6);
  const types = new Set<string>();
  for (const message of network.delivered) {
    types.add(message.type);
    assert.deepEqual(decode(encode(message)) as Message, message);
  }
  assert.equal(types.size, 6, `saw ${[...types].join(", ")}`);
});

Deno.test("a stuck driver is reported rather than letting messages pile up", () => {
  const core = new RaftCore(config({ maxPendingMessages: 5 }));
  assert.throws(() => {
    for (let round = 0; round < 10; round++) core.step(heartbeat(1));
  }, /the driver stopped calling ready/);
});

Deno.test("the same seed gives the same run", () => {
  const trace = (seed: number) => {
    const network = new TestNetwork({ size: 5, seed });
    network.run(60);
    network.propose(network.leaders()[0], "x");
    network.run(5);
    return JSON.stringify(network.delivered);
  };
  assert.equal(trace(4), trace(4));
  assert.notEqual(trace(4), trace(5));
});
