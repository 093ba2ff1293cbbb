import assert from "node:assert/strict";
import type { RpcClient, RpcHandlers } from "../rpc/types.ts";
import { SimNetwork } from "../sim/network.ts";
import { Simulation } from "../sim/simulation.ts";
import type { HardState } from "../raft/ready.ts";
import {
  isRequest,
  type Message,
  REPLY_TYPE_OF,
  type RequestMessage,
  type RequestVoteReply,
} from "../raft/messages.ts";
import { type ApplyMessage, RAFT_STEP_METHOD, RaftNode } from "./node.ts";
import { Persister } from "../lab_api/persister.ts";
import type { PersistRequest, RaftStorage } from "../raft/storage.ts";
import { MemoryStorage } from "../storage/memory_storage.ts";
import { PersisterStorage } from "../lab_api/persister_storage.ts";

const PERSIST_DELAY_MS = 3;

/**
 * Storage that takes a few virtual milliseconds per persist (like fsync), checks that the
 * driver never overlaps two persists, and tells the hard state and the last log index made
 * durable so far.
 */
class SlowStorage implements RaftStorage {
  readonly #inner = new MemoryStorage();
  readonly #simulation: Simulation;
  persisting = false;
  persistCount = 0;
  persistDelayMs = PERSIST_DELAY_MS;

  constructor(simulation: Simulation) {
    this.#simulation = simulation;
  }

  get durable(): HardState {
    return this.#inner.hardState;
  }

  get durableLastIndex(): number {
    return this.#inner.lastIndex;
  }

  load() {
    return this.#inner.load();
  }

  async persist(request: PersistRequest): Promise<void> {
    assert.equal(this.persisting, false, "two persists overlap");
    this.persisting = true;
    this.persistCount++;
    await this.#simulation.sleep(this.persistDelayMs);
    this.#inner.persist(request);
    this.persisting = false;
  }
}

/** Checks what a peer sends against what it has made durable (persist before send). */
function checkDurable(storage: SlowStorage, message: Message): void {
  // A pre-vote and its answer name a term nobody took yet, and promise nothing durable.
  if (message.type === "PreVote" || message.type === "PreVoteReply") return;
  assert.ok(
    storage.durable.term >= message.term,
    `peer ${message.from} sent ${message.type} of term ${message.term} before persisting it`,
  );
  if (message.type === "RequestVote") assert.equal(storage.durable.votedFor, message.from);
  if (message.type === "RequestVoteReply" && message.voteGranted) {
    assert.equal(storage.durable.votedFor, message.to, "a vote was granted before it was durable");
  }
  if (message.type === "AppendEntriesReply" || message.type === "InstallSnapshotReply") {
    assert.ok(
      message.matchIndex <= storage.durableLastIndex,
      `peer ${message.from} acknowledged entry ${message.matchIndex} with ${storage.durableLastIndex} durable`,
    );
  }
}

interface EarlySend {
  /** The last entry an AppendEntries carried. */
  readonly lastIndex: number;
  /** The sender's durable last index when it sent it. */
  readonly durableLastIndex: number;
}

interface Group {
  readonly nodes: RaftNode[];
  readonly storages: SlowStorage[];
  readonly applied: ApplyMessage[][];
  /** AppendEntries sent with entries their sender had not yet made durable. */
  readonly earlySends: EarlySend[];
  /** Every request sent, in order. */
  readonly sent: Message[];
}

/** A group of `size` peers on slow storage, whose sends and replies are checked. */
function startGroup(simulation: Simulation, network: SimNetwork, size: number): Group {
  const group: Group = { nodes: [], storages: [], applied: [], earlySends: [], sent: [] };
  for (let id = 0; id < size; id++) {
    const storage = new SlowStorage(simulation);
    const peers: RpcClient[] = [];
    for (let peer = 0; peer < size; peer++) {
      const name = `${id}-${peer}`;
      const end = network.makeEnd(name);
      network.connect(name, `peer-${peer}`);
      network.enable(name, true);
      peers.push({
        call: <Result>(method: string, args: unknown) => {
          const message = args as Message;
          group.sent.push(message);
          checkDurable(storage, message);
          const lastIndex = message.type === "AppendEntries" ? message.entries.at(-1)?.index : 0;
          if (lastIndex !== undefined && lastIndex > storage.durableLastIndex) {
            group.earlySends.push({ lastIndex, durableLastIndex: storage.durableLastIndex });
          }
          return end.call<Result>(method, args);
        },
        close: () => end.close(),
      });
    }
    const applied: ApplyMessage[] = [];
    const node = new RaftNode({
      id,
      peers,
      storage,
      clock: simulation,
      random: simulation.random,
      apply: (message) => applied.push(message),
    });
    network.addServer(`peer-${id}`, checkedHandlers(storage, node.handlers));
    group.nodes.push(node);
    group.storages.push(storage);
    group.applied.push(applied);
  }
  return group;
}

/** Handlers whose replies must answer their request, and be durable when returned. */
function checkedHandlers(storage: SlowStorage, handlers: RpcHandlers): RpcHandlers {
  return {
    [RAFT_STEP_METHOD]: async (args: unknown) => {
      const request = args as RequestMessage;
      const reply = await handlers[RAFT_STEP_METHOD](args) as Message;
      assert.ok(!isRequest(reply));
      assert.equal(reply.type, REPLY_TYPE_OF[request.type], "a reply answers another request");
      assert.equal(reply.to, request.from, "a reply goes to another requester");
      checkDurable(storage, reply);
      return reply;
    },
  };
}

/** A peer client for tests that run one node without a network: every call fails. */
const offline: RpcClient = {
  call: () => Promise.reject(new Error("no network in this test")),
  close: () => {},
};

function leaderOf(group: Group): RaftNode | undefined {
  return group.nodes.find((node) => node.role === "leader");
}

async function waitFor(simulation: Simulation, condition: () => boolean): Promise<void> {
  // Bounded by the simulation's virtual time limit.
  while (!condition()) await simulation.sleep(10);
}

/** What a test run by `withLeader` gets: a reliable group of three and its first leader. */
interface LeaderRun {
  readonly simulation: Simulation;
  readonly network: SimNetwork;
  readonly group: Group;
  readonly leader: RaftNode;
}

/**
 * Starts a group of three on a reliable network, runs `body` once it has elected a leader, then
 * kills every peer and cleans up the network so no timer outlives the test.
 */
async function withLeader(seed: number, body: (run: LeaderRun) => Promise<void>): Promise<void> {
  const simulation = new Simulation(seed);
  const network = new SimNetwork(simulation);
  const group = startGroup(simulation, network, 3);
  await simulation.run(async () => {
    await waitFor(simulation, () => leaderOf(group) !== undefined);
    await body({ simulation, network, group, leader: leaderOf(group) as RaftNode });
    for (const node of group.nodes) node.kill();
    network.cleanup();
  }, { maxVirtualMs: 60_000 });
}

Deno.test("a group on slow, lossy storage and network persists before it replies or votes, one persist at a time, and applies in order", async () => {
  const simulation = new Simulation(7);
  const network = new SimNetwork(simulation);
  network.setReliable(false);
  const group = startGroup(simulation, network, 3);
  await simulation.run(async () => {
    for (let command = 1; command <= 30; command++) {
      await waitFor(simulation, () => leaderOf(group) !== undefined);
      (leaderOf(group) as RaftNode).propose(command);
      await simulation.sleep(5);
    }
    // Whatever was committed reaches every peer, in the same order.
    await waitFor(simulation, () => {
      const lengths = group.applied.map((applied) => applied.length);
      return lengths[0] > 0 && lengths.every((length) => length === lengths[0]) &&
        group.nodes.every((node) => node.commitIndex === lengths[0]);
    });
    for (const node of group.nodes) node.kill();
    network.cleanup();
  }, { maxVirtualMs: 60_000 });
  assert.ok(group.earlySends.length > 0, "the leader sent entries while it persisted them");
  const expected = group.applied[0];
  for (const applied of group.applied) assert.deepEqual(applied, expected);
  expected.forEach((message, position) => {
    assert.ok("commandValid" in message);
    assert.equal(message.commandIndex, position + 1);
  });
});

Deno.test("proposals made while a persist runs share the next persist (group commit)", async () => {
  await withLeader(5, async ({ simulation, group, leader }) => {
    const storage = group.storages[leader.id];
    await waitFor(simulation, () => !storage.persisting);
    const before = storage.persistCount;
    let last = leader.propose(0).index;
    // The peer starts its persist once the proposing task is done.
    await Promise.resolve();
    assert.equal(storage.persisting, true);
    for (let command = 1; command < 20; command++) last = leader.propose(command).index;
    await waitFor(simulation, () => group.nodes.every((node) => node.commitIndex >= last));
    // The first proposal's persist was running while the other 19 came in: one more for them.
    assert.equal(storage.persistCount - before, 2);
  });
});

Deno.test("proposals made in one task leave in one persist", async () => {
  await withLeader(5, async ({ simulation, group, leader }) => {
    const storage = group.storages[leader.id];
    await waitFor(simulation, () => !storage.persisting);
    const before = storage.persistCount;
    let last = 0;
    for (let command = 0; command < 20; command++) last = leader.propose(command).index;
    await waitFor(simulation, () => group.nodes.every((node) => node.commitIndex >= last));
    assert.equal(storage.persistCount - before, 1);
  });
});

Deno.test("a killed peer never applies, persists or answers again", async () => {
  await withLeader(3, async ({ simulation, group, leader }) => {
    const victim = group.nodes.find((node) => node !== leader) as RaftNode;
    victim.kill();
    const persistsBefore = group.storages[victim.id].persistCount;
    const appliedBefore = group.applied[victim.id].length;
    const { index } = leader.propose("after the kill");
    await waitFor(simulation, () => leader.commitIndex >= index);
    await simulation.sleep(1000);
    assert.equal(group.storages[victim.id].persistCount, persistsBefore);
    assert.equal(group.applied[victim.id].length, appliedBefore);
    assert.equal(victim.propose("refused").isLeader, false);
    const request: RequestMessage = {
      type: "RequestVote",
      from: leader.id,
      to: victim.id,
      term: leader.term + 1,
      lastLogIndex: 0,
      lastLogTerm: 0,
    };
    assert.throws(() => victim.handlers[RAFT_STEP_METHOD](request), /was killed/);
  });
});

Deno.test("a peer refuses malformed, misaddressed and reply messages as requests", async () => {
  const simulation = new Simulation(1);
  const storage = new PersisterStorage(new Persister());
  const node = new RaftNode({
    id: 0,
    peers: [offline, offline, offline],
    storage,
    clock: simulation,
    random: simulation.random,
    apply: () => {},
  });
  const step = node.handlers[RAFT_STEP_METHOD];
  const vote = { type: "RequestVote", from: 1, to: 0, term: 1, lastLogIndex: 0, lastLogTerm: 0 };
  assert.throws(() => step({ type: "Nonsense" }), /refused a message/);
  assert.throws(() => step({ ...vote, to: 2 }), /addressed to peer 2/);
  assert.throws(() => step({ ...vote, from: 0 }), /this peer itself/);
  // A peer outside the membership is answered. Following no leader, this peer answers its vote
  // request in full, since its own membership may be out of date (raft/core_membership_test.ts).
  const outsider = await step({ ...vote, from: 7 }) as RequestVoteReply;
  assert.deepEqual([outsider.type, outsider.to, outsider.term], ["RequestVoteReply", 7, 1]);
  assert.throws(
    () => step({ type: "RequestVoteReply", from: 1, to: 0, term: 1, voteGranted: true }),
    /not a request/,
  );
  node.kill();
});

Deno.test("a peer whose storage fails stops and reports it instead of going on", async () => {
  const simulation = new Simulation(2);
  const failures: unknown[] = [];
  const failing: RaftStorage = {
    load: () => ({ entries: [] }),
    persist: () => {
      throw new Error("disk full");
    },
  };
  const node = new RaftNode({
    id: 0,
    peers: [offline, offline, offline],
    storage: failing,
    clock: simulation,
    random: simulation.random,
    apply: () => {},
    onFatal: (error) => failures.push(error),
    // Without PreVote, which no offline peer would answer, the first timeout starts an election.
    elections: { preVote: false },
  });
  // The first election timeout makes the peer a candidate, whose vote must be persisted.
  await simulation.run(() => simulation.sleep(1000));
  assert.equal(node.killed, true);
  assert.equal(failures.length, 1);
  assert.match(String(failures[0]), /disk full/);
});

Deno.test("a vote survives a restart: the new incarnation refuses a second candidate of the term", async () => {
  const simulation = new Simulation(4);
  const persister = new Persister();
  const start = (from: Persister) =>
    new RaftNode({
      id: 0,
      peers: [offline, offline, offline],
      storage: new PersisterStorage(from),
      clock: simulation,
      random: simulation.random,
      apply: () => {},
    });
  const vote = (node: RaftNode, candidate: number) =>
    node.handlers[RAFT_STEP_METHOD]({
      type: "RequestVote",
      from: candidate,
      to: 0,
      term: 1,
      lastLogIndex: 0,
      lastLogTerm: 0,
    }) as Promise<Message>;
  const first = start(persister);
  assert.deepEqual(await vote(first, 1), {
    type: "RequestVoteReply",
    from: 0,
    to: 1,
    term: 1,
    voteGranted: true,
  });
  first.kill();
  const second = start(persister.copy());
  const reply = await vote(second, 2);
  assert.equal(reply.type === "RequestVoteReply" && reply.voteGranted, false);
  second.kill();
});

Deno.test("a leader sends an entry while it persists it, and commits it with one follower only once its own copy is durable", async () => {
  await withLeader(6, async ({ simulation, network, group, leader }) => {
    const leaderStorage = group.storages[leader.id];
    const [follower, cutOff] = group.nodes.filter((node) => node !== leader).map((node) => node.id);
    for (let peer = 0; peer < 3; peer++) {
      network.enable(`${peer}-${cutOff}`, false);
      network.enable(`${cutOff}-${peer}`, false);
    }
    await waitFor(simulation, () => !leaderStorage.persisting);
    leaderStorage.persistDelayMs = 40;
    const { index } = leader.propose("slow leader");
    // The follower's persist (3 ms) ends long before the leader's (40 ms).
    await waitFor(simulation, () => group.storages[follower].durableLastIndex >= index);
    assert.ok(leaderStorage.durableLastIndex < index, "the follower had it before the leader");
    assert.ok(leader.commitIndex < index, "one durable copy of three committed it");
    await waitFor(simulation, () => leader.commitIndex >= index);
    assert.ok(leaderStorage.durableLastIndex >= index);
    assert.ok(group.earlySends.some((send) => send.lastIndex === index));
  });
});

Deno.test("a leader whose followers both persist first commits before its own persist ends", async () => {
  await withLeader(8, async ({ simulation, group, leader }) => {
    const leaderStorage = group.storages[leader.id];
    await waitFor(simulation, () => !leaderStorage.persisting);
    leaderStorage.persistDelayMs = 40;
    const { index } = leader.propose("slow leader");
    await waitFor(simulation, () => leader.commitIndex >= index);
    // Two durable copies of three, both on followers: committed, applied after the persist.
    assert.ok(leaderStorage.durableLastIndex < index);
    assert.ok(
      !group.applied[leader.id].some((message) =>
        "commandValid" in message && message.commandIndex === index
      ),
    );
    await waitFor(simulation, () => group.applied[leader.id].length >= index);
    assert.ok(leaderStorage.durableLastIndex >= index, "applied only once persisted");
  });
});

Deno.test("reads at the leader and at a follower get a read index that covers every commit before them", async () => {
  await withLeader(11, async ({ simulation, group, leader }) => {
    const { index } = leader.propose("written");
    await waitFor(simulation, () => leader.commitIndex >= index);
    const follower = group.nodes.find((node) => node !== leader) as RaftNode;
    const reads = await Promise.all([
      leader.readIndex(),
      leader.readIndex(true),
      follower.readIndex(),
    ]);
    for (const read of reads) assert.ok(read >= index, `read index ${read} is below ${index}`);
  });
});

Deno.test("a read no leader confirms is refused with a one-line error", async () => {
  await withLeader(12, async ({ simulation, network, group, leader }) => {
    // Cut the leader off: CheckQuorum deposes it, and its read is refused, never served.
    for (let peer = 0; peer < group.nodes.length; peer++) {
      network.enable(`${leader.id}-${peer}`, false);
      network.enable(`${peer}-${leader.id}`, false);
    }
    const refused = leader.readIndex().then(() => "served", (error: Error) => error.message);
    await simulation.sleep(2_000);
    assert.match(
      await refused,
      /^Raft peer \d could not confirm a read index: it is \w+ of term \d+/,
    );
    leader.kill();
    await assert.rejects(leader.readIndex(), /was killed/);
  });
});

Deno.test("a peer without CheckQuorum refuses lease reads", async () => {
  const simulation = new Simulation(1);
  await simulation.run(async () => {
    const node = new RaftNode({
      id: 0,
      peers: [offline],
      storage: new MemoryStorage(),
      clock: simulation,
      random: simulation.random,
      apply: () => {},
      elections: { checkQuorum: false },
    });
    await assert.rejects(node.readIndex(true), /refuses lease reads: CheckQuorum is off/);
    node.kill();
  });
});

Deno.test("reads cost no log entry: concurrent reads at the leader share one round of appends; a follower's read adds one request", async () => {
  await withLeader(13, async ({ simulation, group, leader }) => {
    const { index } = leader.propose("written");
    await waitFor(simulation, () => group.nodes.every((node) => node.commitIndex >= index));
    const follower = group.nodes.find((node) => node !== leader) as RaftNode;
    const sentBefore = group.sent.length;
    const lastIndex = leader.commitIndex;
    const reads = await Promise.all(Array.from({ length: 100 }, () => leader.readIndex()));
    assert.ok(reads.every((read) => read === lastIndex));
    const forLeaderReads = group.sent.slice(sentBefore);
    assert.deepEqual(
      forLeaderReads.map((message) => message.type),
      ["AppendEntries", "AppendEntries"],
      "one round: an append to each follower",
    );
    const sentBeforeFollower = group.sent.length;
    assert.equal(await follower.readIndex(), lastIndex);
    const forFollowerRead = group.sent.slice(sentBeforeFollower).map((message) => message.type);
    assert.deepEqual(forFollowerRead, ["ReadIndex", "AppendEntries", "AppendEntries"]);
    assert.equal(leader.commitIndex, lastIndex, "no entry was written for the reads");
  });
});
