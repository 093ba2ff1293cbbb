import assert from "node:assert/strict";
import { encode } from "../rpc/codec.ts";
import type { RpcClient } from "../rpc/types.ts";
import { SimNetwork } from "../sim/network.ts";
import { Simulation } from "../sim/simulation.ts";
import { MemoryStorage } from "../storage/memory_storage.ts";
import type { InstallSnapshot, InstallSnapshotReply, Message } from "../raft/messages.ts";
import {
  type ApplyMessage,
  DEFAULT_ELECTION_TIMEOUT_TICKS,
  DEFAULT_TICK_MS,
  RAFT_STEP_METHOD,
  RaftNode,
  type RaftNodeConfig,
} from "./node.ts";
import type { ChunkMessage, InstallSnapshotChunk } from "../snapshot_transfer/chunk_messages.ts";
import {
  type ChunkOutcome,
  SNAPSHOT_CHUNK_ENVELOPE_BYTES,
  SnapshotAssembler,
} from "../snapshot_transfer/snapshot_chunks.ts";
import {
  chunksOf,
  patternBytes,
  snapshotRequest,
} from "../snapshot_transfer/testing/snapshot_fixtures.ts";

/** Anything a `Raft.Step` call carries. */
type WireMessage = Message | ChunkMessage;

const CHUNK_BYTES = 1000;
/** Frames the transport would carry in these tests: room for a chunk and its envelope, twice. */
const FRAME_BYTES = 4096;
/** Snapshots of three chunks: 1000, 1000 and 500 bytes. */
const SNAPSHOT_BYTES = 2500;

/** A peer client for tests that run one node without a network: every call fails. */
const offline: RpcClient = {
  call: () => Promise.reject(new Error("no network in this test")),
  close: () => {},
};

/**
 * A scripted follower behind a client: it answers votes and appends like a peer whose log is
 * empty (up to the snapshot it installed), and chunks through `onChunk`, which by default joins
 * them with a real assembler. It records every call, and how many chunk calls overlap.
 */
class FakeFollower implements RpcClient {
  readonly calls: WireMessage[] = [];
  online = true;
  installed: InstallSnapshot | null = null;
  chunksOutstanding = 0;
  chunksOutstandingMax = 0;
  readonly assembler = new SnapshotAssembler(1_000_000);
  onChunk: (chunk: InstallSnapshotChunk) => unknown = (chunk) => this.answer(chunk);

  constructor(readonly id: number, readonly grantsVotes: boolean) {}

  call<Result>(_method: string, args: unknown): Promise<Result> {
    if (!this.online) return Promise.reject(new Error(`peer ${this.id} is offline`));
    const message = structuredClone(args) as WireMessage;
    this.calls.push(message);
    if (message.type !== "InstallSnapshotChunk") {
      return Promise.resolve(this.#reply(message) as Result);
    }
    this.chunksOutstanding++;
    this.chunksOutstandingMax = Math.max(this.chunksOutstandingMax, this.chunksOutstanding);
    return Promise.resolve(this.onChunk(message)).finally(() =>
      this.chunksOutstanding--
    ) as Promise<
      Result
    >;
  }

  close(): void {}

  /** What a follower answers to `chunk`: an ack, the reply for the whole snapshot, or a refusal. */
  answer(chunk: InstallSnapshotChunk): WireMessage {
    const base = { from: this.id, to: chunk.from, term: chunk.term };
    const outcome: ChunkOutcome = this.assembler.accept(chunk);
    if (outcome.kind === "partial") {
      return { type: "InstallSnapshotChunkAck", ...base, receivedBytes: outcome.receivedBytes };
    }
    if (outcome.kind === "refused") return { type: "InstallSnapshotReply", ...base, matchIndex: 0 };
    this.installed = outcome.snapshot;
    return { type: "InstallSnapshotReply", ...base, matchIndex: chunk.lastIncludedIndex };
  }

  /** The chunks received so far, as [snapshot index, offset, bytes, done]. */
  chunkLog(): [number, number, number, boolean][] {
    return this.calls.filter((call) => call.type === "InstallSnapshotChunk").map((chunk) => [
      chunk.lastIncludedIndex,
      chunk.offset,
      chunk.data.length,
      chunk.done,
    ]);
  }

  #reply(message: WireMessage): WireMessage {
    const base = { from: this.id, to: message.from, term: message.term };
    const held = this.installed?.lastIncludedIndex ?? 0;
    switch (message.type) {
      case "PreVote":
        return { type: "PreVoteReply", ...base, voteGranted: this.grantsVotes };
      case "RequestVote":
        return { type: "RequestVoteReply", ...base, voteGranted: this.grantsVotes };
      case "AppendEntries": {
        const holds = this.grantsVotes || message.prevLogIndex <= held;
        const reply = {
          type: "AppendEntriesReply",
          ...base,
          success: holds,
          matchIndex: 0,
          conflictIndex: 0,
          conflictTerm: -1,
          rejectedIndex: 0,
        } as const;
        if (holds) return { ...reply, matchIndex: message.prevLogIndex + message.entries.length };
        return { ...reply, conflictIndex: held + 1, rejectedIndex: message.prevLogIndex };
      }
      case "InstallSnapshot":
        this.installed = message;
        return { type: "InstallSnapshotReply", ...base, matchIndex: message.lastIncludedIndex };
      default:
        throw new Error(`peer ${this.id} got a ${message.type} as a request`);
    }
  }
}

/** A promise the test settles by hand: the reply to a chunk it holds back. */
interface Held {
  readonly chunk: InstallSnapshotChunk;
  readonly release: () => void;
  readonly fail: () => void;
}

/**
 * Makes `follower` take the first chunk that `matches` but hold back its reply until the test
 * releases it (or fails the call); returns a getter for the held chunk.
 */
function holdChunk(
  follower: FakeFollower,
  matches: (chunk: InstallSnapshotChunk) => boolean,
): () => Held | null {
  let held: Held | null = null;
  const answer = follower.onChunk;
  follower.onChunk = (chunk) => {
    if (held !== null || !matches(chunk)) return answer(chunk);
    // The follower took the chunk; its reply is what the test delays.
    const reply = answer(chunk);
    return new Promise((resolve, reject) => {
      held = {
        chunk,
        release: () => resolve(reply),
        fail: () => reject(new Error("lost chunk")),
      };
    });
  };
  return () => held;
}

/** Peer `id` on `simulation`, in memory, with this file's chunk size and frame limit. */
function chunkingNode(
  simulation: Simulation,
  config: Pick<RaftNodeConfig, "id" | "peers" | "apply" | "maxSnapshotBytes">,
): RaftNode {
  return new RaftNode({
    storage: new MemoryStorage(),
    clock: simulation,
    random: simulation.random,
    snapshotChunkBytes: CHUNK_BYTES,
    maxFrameBytes: FRAME_BYTES,
    ...config,
  });
}

/** What a test run by `withLaggingFollower` gets. */
interface LaggerRun {
  readonly simulation: Simulation;
  /** Peer 0, the leader, which snapshots every five entries. */
  readonly leader: RaftNode;
  /** Peer 2, empty, online once the leader holds a snapshot up to entry 5. */
  readonly lagger: FakeFollower;
  readonly waitFor: (condition: () => boolean) => Promise<void>;
  /** Proposes commands until the leader has snapshotted up to `index`. */
  readonly snapshotUpTo: (index: number) => Promise<void>;
}

/** The service's snapshot up to `index`: `snapshotBytes` bytes, different for every index. */
function serviceSnapshot(index: number, snapshotBytes: number): Uint8Array {
  return patternBytes(snapshotBytes, index);
}

/**
 * A leader (peer 0) elected with the vote of a scripted peer 1, whose service snapshots every
 * five entries; runs `body` once it holds a snapshot up to entry 5 and the empty peer 2 comes
 * online, then kills the leader.
 */
async function withLaggingFollower(
  snapshotBytes: number,
  body: (run: LaggerRun) => Promise<void>,
): Promise<void> {
  const simulation = new Simulation(11);
  const voter = new FakeFollower(1, true);
  const lagger = new FakeFollower(2, false);
  lagger.online = false;
  let snapshotIndex = 0;
  const leader: RaftNode = chunkingNode(simulation, {
    id: 0,
    peers: [offline, voter, lagger],
    apply: (message) => {
      if (!("commandValid" in message) || message.commandIndex % 5 !== 0) return;
      snapshotIndex = message.commandIndex;
      leader.snapshot(snapshotIndex, serviceSnapshot(snapshotIndex, snapshotBytes));
    },
  });
  const waitFor = async (condition: () => boolean) => {
    // Bounded by the run's virtual time limit.
    while (!condition()) await simulation.sleep(10);
  };
  const snapshotUpTo = async (index: number) => {
    while (snapshotIndex < index) {
      leader.propose(`command ${snapshotIndex}`);
      await simulation.sleep(10);
    }
  };
  await simulation.run(async () => {
    await waitFor(() => leader.role === "leader");
    await snapshotUpTo(5);
    lagger.online = true;
    await body({ simulation, leader, lagger, waitFor, snapshotUpTo });
    leader.kill();
  }, { maxVirtualMs: 60_000 });
}

Deno.test("a leader sends a snapshot above the chunk size in ordered chunks, one at a time, and carries on after the last one's reply", async () => {
  await withLaggingFollower(SNAPSHOT_BYTES, async ({ lagger, waitFor }) => {
    await waitFor(() => lagger.installed !== null);
    assert.deepEqual(lagger.chunkLog(), [
      [5, 0, 1000, false],
      [5, 1000, 1000, false],
      [5, 2000, 500, true],
    ]);
    assert.deepEqual(lagger.installed?.data, serviceSnapshot(5, SNAPSHOT_BYTES));
    assert.equal(lagger.chunksOutstandingMax, 1);
    assert.ok(!lagger.calls.some((call) => call.type === "InstallSnapshot"));
    for (const call of lagger.calls) {
      const frameBytes = encode([0, 0, RAFT_STEP_METHOD, call]).length;
      assert.ok(frameBytes <= CHUNK_BYTES + SNAPSHOT_CHUNK_ENVELOPE_BYTES, `${frameBytes} bytes`);
    }
    // The core heard the last reply: it replicates from just after the snapshot.
    await waitFor(() =>
      lagger.calls.some((call) => call.type === "AppendEntries" && call.prevLogIndex === 5)
    );
  });
});

Deno.test("a snapshot that fits in one chunk goes whole, as one InstallSnapshot", async () => {
  await withLaggingFollower(CHUNK_BYTES, async ({ lagger, waitFor }) => {
    await waitFor(() => lagger.installed !== null);
    assert.deepEqual(lagger.chunkLog(), []);
    assert.equal(lagger.calls.filter((call) => call.type === "InstallSnapshot").length, 1);
    assert.deepEqual(lagger.installed?.data, serviceSnapshot(5, CHUNK_BYTES));
  });
});

Deno.test("while a transfer is under way, the core's resends of the same snapshot start no second one", async () => {
  await withLaggingFollower(SNAPSHOT_BYTES, async ({ simulation, lagger, waitFor }) => {
    const held = holdChunk(lagger, (chunk) => chunk.offset === 1000);
    await waitFor(() => held() !== null);
    const callsBefore = lagger.calls.length;
    // Ten heartbeats: the core hears nothing past its silence timeout and sends it again.
    await simulation.sleep(1000);
    assert.equal(lagger.calls.length, callsBefore);
    held()?.release();
    await waitFor(() => lagger.installed !== null);
    assert.deepEqual(lagger.chunkLog().map(([, offset]) => offset), [0, 1000, 2000]);
  });
});

Deno.test("a failed chunk call ends the transfer, and the core's next resend starts it again from offset 0", async () => {
  await withLaggingFollower(SNAPSHOT_BYTES, async ({ lagger, waitFor }) => {
    const held = holdChunk(lagger, (chunk) => chunk.offset === 1000);
    await waitFor(() => held() !== null);
    held()?.fail();
    await waitFor(() => lagger.installed !== null);
    assert.deepEqual(lagger.chunkLog().map(([, offset]) => offset), [0, 1000, 0, 1000, 2000]);
  });
});

Deno.test("a refusal in a later term deposes the leader and ends the transfer", async () => {
  await withLaggingFollower(SNAPSHOT_BYTES, async ({ leader, lagger, waitFor }) => {
    const term = leader.term;
    lagger.onChunk = (chunk): InstallSnapshotReply => ({
      type: "InstallSnapshotReply",
      from: 2,
      to: 0,
      term: chunk.term + 3,
      matchIndex: 0,
    });
    await waitFor(() => leader.role !== "leader");
    assert.equal(leader.term, term + 3);
    assert.deepEqual(lagger.chunkLog().map(([, offset]) => offset), [0]);
  });
});

Deno.test("a leader that steps down sends no further chunk", async () => {
  await withLaggingFollower(SNAPSHOT_BYTES, async ({ simulation, leader, lagger, waitFor }) => {
    const held = holdChunk(lagger, (chunk) => chunk.offset === 0);
    await waitFor(() => held() !== null);
    // A leader of a later term (a vote request would be refused: the leader is in its lease).
    const heartbeat = { type: "AppendEntries", from: 1, to: 0, prevLogIndex: 0, prevLogTerm: 0 };
    await leader.handlers[RAFT_STEP_METHOD]({
      ...heartbeat,
      term: leader.term + 1,
      entries: [],
      leaderCommit: 0,
    });
    assert.equal(leader.role, "follower");
    held()?.release();
    await simulation.sleep(100);
    assert.deepEqual(lagger.chunkLog().map(([, offset]) => offset), [0]);
  });
});

Deno.test("a newer snapshot replaces a transfer under way; the old one's late acknowledgement sends nothing", async () => {
  await withLaggingFollower(SNAPSHOT_BYTES, async (run) => {
    const { simulation, lagger, waitFor } = run;
    const held = holdChunk(lagger, (chunk) => chunk.lastIncludedIndex === 5);
    await waitFor(() => held() !== null);
    await run.snapshotUpTo(10);
    await waitFor(() => lagger.installed !== null);
    held()?.release();
    await simulation.sleep(100);
    assert.deepEqual(lagger.chunkLog(), [
      [5, 0, 1000, false],
      [10, 0, 1000, false],
      [10, 1000, 1000, false],
      [10, 2000, 500, true],
    ]);
    assert.deepEqual(lagger.installed?.data, serviceSnapshot(10, SNAPSHOT_BYTES));
  });
});

/** A follower (peer 0 of three, no network) whose Raft.Step the test calls by hand. */
function lonelyFollower(applied: ApplyMessage[] = []) {
  const simulation = new Simulation(3);
  const node = chunkingNode(simulation, {
    id: 0,
    peers: [offline, offline, offline],
    maxSnapshotBytes: 10_000,
    apply: (message) => applied.push(message),
  });
  const step = (message: unknown) => node.handlers[RAFT_STEP_METHOD](message);
  return { node, step };
}

const refusal = (term: number) => ({
  type: "InstallSnapshotReply",
  from: 0,
  to: 1,
  term,
  matchIndex: 0,
});

Deno.test("a follower acknowledges each chunk and steps its core once, with the whole snapshot, at the last", async () => {
  const applied: ApplyMessage[] = [];
  const { node, step } = lonelyFollower(applied);
  const request = snapshotRequest(SNAPSHOT_BYTES);
  const [first, second, last] = chunksOf(request, CHUNK_BYTES);
  const ack = { type: "InstallSnapshotChunkAck", from: 0, to: 1, term: 0 };
  assert.deepEqual(step(first), { ...ack, receivedBytes: 1000 });
  // The first chunk told the core of term 4, which is durable by the second's acknowledgement.
  assert.deepEqual(step(second), { ...ack, term: 4, receivedBytes: 2000 });
  // The core heard of the leader's term with the first chunk, but not yet of the snapshot.
  assert.deepEqual([node.term, node.leaderId, applied.length], [4, 1, 0]);
  assert.deepEqual(await step(last), {
    type: "InstallSnapshotReply",
    from: 0,
    to: 1,
    term: 4,
    matchIndex: 30,
  });
  assert.equal(node.term, 4);
  assert.deepEqual(applied, [{
    snapshotValid: true,
    snapshot: request.data,
    snapshotIndex: 30,
    snapshotTerm: 3,
  }]);
  node.kill();
});

Deno.test("chunks spread over more than an election timeout keep the follower from campaigning", async () => {
  const simulation = new Simulation(3);
  const node = chunkingNode(simulation, {
    id: 0,
    peers: [offline, offline, offline],
    maxSnapshotBytes: 10_000,
    apply: () => {},
  });
  const step = (message: unknown) => node.handlers[RAFT_STEP_METHOD](message);
  const chunks = chunksOf(snapshotRequest(SNAPSHOT_BYTES), CHUNK_BYTES / 4);
  // Elections start after 300 to 600 ms of silence. The chunks come less than that apart, but
  // the whole transfer takes several election timeouts.
  const gapMs = DEFAULT_ELECTION_TIMEOUT_TICKS * DEFAULT_TICK_MS - 100;
  assert.ok((chunks.length - 1) * gapMs > 2 * 2 * DEFAULT_ELECTION_TIMEOUT_TICKS * DEFAULT_TICK_MS);
  await simulation.run(async () => {
    for (const chunk of chunks.slice(0, -1)) {
      step(chunk);
      await simulation.sleep(gapMs);
      assert.deepEqual([node.role, node.term], ["follower", 4]);
    }
    await step(chunks.at(-1));
    assert.deepEqual([node.role, node.term, node.leaderId], ["follower", 4, 1]);
    node.kill();
  }, { maxVirtualMs: 60_000 });
});

Deno.test("a follower refuses an out-of-order chunk and then the rest of that transfer", () => {
  const { node, step } = lonelyFollower();
  const [first, second, last] = chunksOf(snapshotRequest(SNAPSHOT_BYTES), CHUNK_BYTES);
  step(first);
  // The first chunk made term 4 durable; the snapshot itself never reached the core.
  assert.deepEqual(step(last), refusal(4));
  assert.deepEqual(step(second), refusal(4));
  assert.deepEqual([node.term, node.commitIndex], [4, 0]);
  node.kill();
});

Deno.test("a whole snapshot from a leader drops what it had sent in chunks", async () => {
  const { node, step } = lonelyFollower();
  const [first, second] = chunksOf(snapshotRequest(SNAPSHOT_BYTES), CHUNK_BYTES);
  step(first);
  await step(snapshotRequest(CHUNK_BYTES, { lastIncludedIndex: 40 }));
  assert.deepEqual(step(second), refusal(4));
  node.kill();
});

Deno.test("a follower refuses a chunk of a stale term with its durable term, and one over its cap", async () => {
  const { node, step } = lonelyFollower();
  const vote = { type: "RequestVote", from: 2, to: 0, lastLogIndex: 0, lastLogTerm: 0 };
  await step({ ...vote, term: 6 });
  const [first] = chunksOf(snapshotRequest(SNAPSHOT_BYTES, { term: 5 }), CHUNK_BYTES);
  assert.deepEqual(step(first), refusal(6));
  const [huge] = chunksOf(snapshotRequest(10_001, { term: 6 }), CHUNK_BYTES);
  assert.deepEqual(step(huge), refusal(6));
  node.kill();
});

Deno.test("a follower refuses malformed and misaddressed chunks, and acknowledgements as requests", () => {
  const { node, step } = lonelyFollower();
  const [first] = chunksOf(snapshotRequest(SNAPSHOT_BYTES), CHUNK_BYTES);
  assert.throws(() => step({ ...first, offset: -1.5 }), /field offset is not a whole number/);
  assert.throws(() => step({ ...first, to: 2 }), /addressed to peer 2/);
  assert.throws(
    () => step({ type: "InstallSnapshotChunkAck", from: 1, to: 0, term: 1, receivedBytes: 1000 }),
    /refused a message: Message type "InstallSnapshotChunkAck" is unknown/,
  );
  node.kill();
});

Deno.test("a node refuses at start-up a chunk size that does not fit well within its frames", () => {
  const config = (snapshotChunkBytes: number, maxFrameBytes: number): RaftNodeConfig => ({
    id: 0,
    peers: [offline],
    storage: new MemoryStorage(),
    clock: new Simulation(1),
    random: new Simulation(1).random,
    apply: () => {},
    snapshotChunkBytes,
    maxFrameBytes,
  });
  assert.throws(() => new RaftNode(config(0, FRAME_BYTES)), /not a positive whole number/);
  assert.throws(
    () => new RaftNode(config(FRAME_BYTES / 2, FRAME_BYTES)),
    /Snapshot chunks of 2048 bytes do not fit well within frames of 4096 bytes/,
  );
  new RaftNode(config(FRAME_BYTES / 2 - SNAPSHOT_CHUNK_ENVELOPE_BYTES, FRAME_BYTES)).kill();
});

Deno.test("over a lossy simulated network, a follower cut off while the others compacted catches up by a chunked snapshot", async () => {
  const simulation = new Simulation(21);
  const network = new SimNetwork(simulation);
  const nodes: RaftNode[] = [];
  const applied: ApplyMessage[][] = [[], [], []];
  const largestFrames: number[] = [];
  for (let id = 0; id < 3; id++) {
    const peers: RpcClient[] = [0, 1, 2].map((peer) => {
      const end = network.makeEnd(`${id}-${peer}`);
      network.connect(`${id}-${peer}`, `peer-${peer}`);
      network.enable(`${id}-${peer}`, true);
      return {
        call: <Result>(method: string, args: unknown) => {
          largestFrames.push(encode([0, 0, method, args]).length);
          return end.call<Result>(method, args);
        },
        close: () => end.close(),
      };
    });
    const node: RaftNode = chunkingNode(simulation, {
      id,
      peers,
      apply: (message) => {
        applied[id].push(message);
        if ("commandValid" in message && message.commandIndex % 10 === 0) {
          node.snapshot(message.commandIndex, serviceSnapshot(message.commandIndex, 9_000));
        }
      },
    });
    nodes.push(node);
    network.addServer(`peer-${id}`, node.handlers);
  }
  const cutOff = (enabled: boolean) => {
    for (let peer = 0; peer < 3; peer++) {
      network.enable(`2-${peer}`, enabled);
      network.enable(`${peer}-2`, enabled);
    }
  };
  const leaderOf = () => nodes.find((node, id) => id !== 2 && node.role === "leader");
  await simulation.run(async () => {
    cutOff(false);
    let committed = 0;
    // Bounded by the run's virtual time limit.
    while (committed < 30) {
      const leader = leaderOf();
      if (leader !== undefined) committed = Math.max(committed, leader.commitIndex);
      leader?.propose(`command ${committed}`);
      await simulation.sleep(20);
    }
    network.setReliable(false);
    cutOff(true);
    while (!applied[2].some((message) => "snapshotValid" in message)) await simulation.sleep(10);
    for (const node of nodes) node.kill();
    network.cleanup();
  }, { maxVirtualMs: 120_000 });
  const installed = applied[2].find((message) => "snapshotValid" in message);
  assert.ok(installed !== undefined && "snapshotValid" in installed);
  assert.ok(installed.snapshotIndex >= 30);
  assert.deepEqual(installed.snapshot, serviceSnapshot(installed.snapshotIndex, 9_000));
  const largest = Math.max(...largestFrames);
  assert.ok(largest <= CHUNK_BYTES + SNAPSHOT_CHUNK_ENVELOPE_BYTES, `a frame of ${largest} bytes`);
});
