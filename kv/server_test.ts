import assert from "node:assert/strict";
import { Simulation } from "../sim/simulation.ts";
import type { ApplyMessage, RaftState, StartResult } from "../lab_api/lab_raft.ts";
import { KvStateMachine } from "./state_machine.ts";
import type { KvCommand } from "./command.ts";
import { type KvRaft, KvServer, type KvServerConfig } from "./server.ts";
import {
  ERR_TIMEOUT,
  ERR_WRONG_LEADER,
  KV_OPERATION_METHOD,
  type KvReply,
  OK,
} from "./protocol.ts";

/** A Raft peer the test drives by hand: it logs what is started and applies what it is told. */
class FakeRaft implements KvRaft {
  term = 1;
  isLeader = true;
  stateSize = 0;
  lastIndex = 0;
  killed = false;
  readonly started: KvCommand[] = [];
  readonly snapshots: { index: number; bytes: Uint8Array }[] = [];
  /** Read indexes asked for, which the test grants or refuses. */
  readonly reads: {
    lease: boolean;
    grant: (index: number) => void;
    refuse: () => void;
  }[] = [];
  apply: (message: ApplyMessage) => void = () => {};

  readIndex(lease: boolean): Promise<number> {
    return new Promise((grant, refuse) => {
      this.reads.push({ lease, grant, refuse: () => refuse(new Error("refused")) });
    });
  }

  start(command: unknown): StartResult {
    if (!this.isLeader) return { index: -1, term: this.term, isLeader: false };
    this.started.push(command as KvCommand);
    this.lastIndex++;
    return { index: this.lastIndex, term: this.term, isLeader: true };
  }

  getState(): RaftState {
    return { term: this.term, isLeader: this.isLeader };
  }

  snapshot(index: number, bytes: Uint8Array): void {
    this.snapshots.push({ index, bytes });
  }

  raftStateSize(): number {
    return this.stateSize;
  }

  kill(): void {
    this.killed = true;
  }

  commit(index: number, command: KvCommand, term = this.term): void {
    this.apply({ commandValid: true, command, commandIndex: index, commandTerm: term });
  }
}

function setUp(options: Partial<KvServerConfig> = {}) {
  const simulation = new Simulation(1);
  const raft = new FakeRaft();
  const server = new KvServer({
    id: 0,
    clock: simulation,
    maxRaftStateBytes: -1,
    snapshot: null,
    makeRaft: (apply) => {
      raft.apply = apply;
      return raft;
    },
    ...options,
  });
  const call = (command: KvCommand) =>
    Promise.resolve(server.handlers[KV_OPERATION_METHOD](command) as KvReply | Promise<KvReply>);
  return { simulation, raft, server, call };
}

/** A reply's outcome and value, the fields these tests are about. */
function brief(reply: KvReply): { err: string; value: string } {
  return { err: reply.err, value: reply.value };
}

function op(clientId: number, sequence: number, kind: KvCommand["kind"], key: string, value = "") {
  return { clientId, sequence, kind, key, value };
}

Deno.test("the server answers when its own operation is applied at its index", async () => {
  const { simulation, raft, call } = setUp();
  await simulation.run(async () => {
    const put = call(op(1, 1, "put", "k", "v"));
    const append = call(op(2, 1, "append", "k", "w"));
    assert.deepEqual(raft.started.map((command) => command.kind), ["put", "append"]);
    raft.commit(1, raft.started[0]);
    raft.commit(2, raft.started[1]);
    assert.deepEqual(brief(await put), { err: OK, value: "" });
    assert.deepEqual(brief(await append), { err: OK, value: "" });
  });
});

Deno.test("a get takes no log entry: it answers once its read index is applied", async () => {
  const { simulation, raft, call } = setUp();
  await simulation.run(async () => {
    const put = call(op(1, 1, "put", "k", "v"));
    const get = call(op(2, 1, "get", "k"));
    const leased = call({ ...op(2, 2, "get", "k"), consistency: "lease" });
    assert.deepEqual(raft.started.map((command) => command.kind), ["put"]);
    assert.deepEqual(raft.reads.map((read) => read.lease), [false, true]);
    raft.reads[0].grant(1);
    raft.reads[1].grant(1);
    // Granted, but the put at index 1 is not applied yet: both wait for it.
    await simulation.sleep(10);
    raft.commit(1, raft.started[0]);
    assert.deepEqual(brief(await put), { err: OK, value: "" });
    assert.deepEqual(brief(await get), { err: OK, value: "v" });
    assert.deepEqual(brief(await leased), { err: OK, value: "v" });
    // Already applied: answered as soon as it is granted.
    const again = call(op(2, 3, "get", "k"));
    await simulation.sleep(1);
    raft.reads[2].grant(1);
    assert.deepEqual(brief(await again), { err: OK, value: "v" });
  });
});

Deno.test("a refused read index answers wrong leader; serializable gets answer at once", async () => {
  const { simulation, raft, call } = setUp();
  raft.isLeader = false;
  await simulation.run(async () => {
    const get = call(op(2, 1, "get", "k"));
    await simulation.sleep(1);
    raft.reads[0].refuse();
    assert.deepEqual(brief(await get), { err: ERR_WRONG_LEADER, value: "" });
    raft.commit(1, op(1, 1, "put", "k", "local"));
    const local = await call({ ...op(2, 2, "get", "k"), consistency: "serializable" });
    assert.deepEqual(brief(local), { err: OK, value: "local" });
    assert.equal(raft.reads.length, 1);
  });
});

Deno.test("a get whose read index is not applied in time answers timeout", async () => {
  const { simulation, raft, call } = setUp({ applyTimeoutMs: 500 });
  await simulation.run(async () => {
    const get = call(op(2, 1, "get", "k"));
    await simulation.sleep(1);
    raft.reads[0].grant(7);
    assert.deepEqual(brief(await get), { err: ERR_TIMEOUT, value: "" });
    assert.equal(simulation.now(), 501);
  });
});

Deno.test("another operation or another term at the index means wrong leader", async () => {
  const { simulation, raft, call } = setUp();
  await simulation.run(async () => {
    const first = call(op(1, 1, "put", "k", "mine"));
    raft.commit(1, op(9, 1, "put", "k", "theirs"));
    assert.deepEqual(brief(await first), { err: ERR_WRONG_LEADER, value: "" });
    const second = call(op(1, 1, "put", "k", "mine"));
    raft.commit(2, raft.started[1], raft.term + 1);
    assert.deepEqual(brief(await second), { err: ERR_WRONG_LEADER, value: "" });
  });
});

Deno.test("a follower answers wrong leader at once, and nothing is started", async () => {
  const { simulation, raft, call } = setUp();
  raft.isLeader = false;
  const reply = await simulation.run(() => call(op(1, 1, "put", "k", "v")));
  assert.deepEqual(reply, { err: ERR_WRONG_LEADER, value: "" });
  assert.equal(raft.started.length, 0);
});

Deno.test("a waiting operation times out, or fails sooner when leadership is lost", async () => {
  const { simulation, raft, call } = setUp({ applyTimeoutMs: 500, leadershipCheckMs: 100 });
  await simulation.run(async () => {
    const timedOut = await call(op(1, 1, "append", "k", "x"));
    assert.deepEqual(timedOut, { err: ERR_TIMEOUT, value: "" });
    assert.equal(simulation.now(), 500);
    const lost = call(op(1, 2, "append", "k", "y"));
    await simulation.sleep(150);
    raft.term++;
    assert.deepEqual(brief(await lost), { err: ERR_WRONG_LEADER, value: "" });
    assert.equal(simulation.now(), 700);
  });
});

Deno.test("a replaced index answers the older operation wrong leader", async () => {
  const { simulation, raft, call } = setUp();
  await simulation.run(async () => {
    const older = call(op(1, 1, "put", "k", "a"));
    raft.lastIndex = 0;
    raft.term++;
    const newer = call(op(2, 1, "put", "k", "b"));
    assert.deepEqual(brief(await older), { err: ERR_WRONG_LEADER, value: "" });
    raft.commit(1, raft.started[1]);
    assert.deepEqual(brief(await newer), { err: OK, value: "" });
  });
});

Deno.test("the server snapshots near the limit, once per persisted size", async () => {
  const { simulation, raft, call } = setUp({ maxRaftStateBytes: 1000 });
  await simulation.run(async () => {
    const replies = [call(op(1, 1, "put", "a", "1")), call(op(1, 2, "put", "b", "2"))];
    raft.stateSize = 899;
    raft.commit(1, raft.started[0]);
    assert.equal(raft.snapshots.length, 0);
    raft.stateSize = 950;
    raft.commit(2, raft.started[1]);
    assert.deepEqual(raft.snapshots.map((snapshot) => snapshot.index), [2]);
    await Promise.all(replies);
    // Raft has not persisted the trimmed log yet: the size it reports is the old one.
    const third = call(op(1, 3, "put", "c", "3"));
    raft.commit(3, raft.started[2]);
    assert.equal(raft.snapshots.length, 1);
    await third;
    const restored = new KvStateMachine();
    restored.restoreSnapshot(raft.snapshots[0].bytes);
    assert.equal(restored.appliedIndex, 2);
    assert.equal(restored.get("b"), "2");
  });
});

Deno.test("with maxraftstate -1 the server never snapshots", async () => {
  const { simulation, raft, call } = setUp({ maxRaftStateBytes: -1 });
  await simulation.run(async () => {
    raft.stateSize = 1_000_000;
    const reply = call(op(1, 1, "put", "a", "1"));
    raft.commit(1, raft.started[0]);
    await reply;
  });
  assert.equal(raft.snapshots.length, 0);
});

Deno.test("a restarted server starts from its snapshot; an installed one replaces its state", async () => {
  const before = new KvStateMachine();
  before.apply(1, op(1, 1, "put", "a", "old"));
  before.apply(2, op(1, 2, "append", "a", "+"));
  const { simulation, raft, server, call } = setUp({ snapshot: before.encodeSnapshot() });
  assert.equal(server.appliedIndex, 2);
  await simulation.run(async () => {
    raft.lastIndex = 2;
    const waiting = call(op(3, 1, "append", "a", "!"));
    const leader = new KvStateMachine();
    for (let index = 1; index <= 3; index++) leader.apply(index, op(2, index, "append", "a", "n"));
    raft.apply({
      snapshotValid: true,
      snapshot: leader.encodeSnapshot(),
      snapshotTerm: 1,
      snapshotIndex: 3,
    });
    assert.deepEqual(brief(await waiting), { err: ERR_WRONG_LEADER, value: "" });
    assert.equal(server.appliedIndex, 3);
    const read = call(op(3, 2, "get", "a"));
    await simulation.sleep(1);
    raft.reads[0].grant(3);
    assert.deepEqual(brief(await read), { err: OK, value: "nnn" });
  });
});

Deno.test("kill stops Raft and answers waiting operations", async () => {
  const { simulation, raft, server, call } = setUp();
  await simulation.run(async () => {
    const waiting = call(op(1, 1, "put", "k", "v"));
    const reading = call(op(2, 1, "get", "k"));
    await simulation.sleep(1);
    raft.reads[0].grant(5);
    await simulation.sleep(1);
    server.kill();
    assert.deepEqual(brief(await waiting), { err: ERR_WRONG_LEADER, value: "" });
    assert.deepEqual(brief(await reading), { err: ERR_WRONG_LEADER, value: "" });
  });
  assert.ok(raft.killed);
  assert.ok(server.killed);
  assert.throws(() => server.handlers[KV_OPERATION_METHOD]({ key: 1 }), /refused an operation/);
});
