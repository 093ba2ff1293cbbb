/**
 * Chunked snapshots over real TCP: three Raft peers on 127.0.0.1 whose RPC frames are limited to
 * 64 KiB, and a follower that joins late and can only catch up by a snapshot of 300 KiB.
 */
import assert from "node:assert/strict";
import { realClock } from "../util/clock.ts";
import { SeededRandom } from "../util/random.ts";
import { connect } from "../rpc/tcp_client.ts";
import { type RpcServer, serve } from "../rpc/tcp_server.ts";
import type { RpcClient } from "../rpc/types.ts";
import { MemoryStorage } from "../storage/memory_storage.ts";
import { type ApplyMessage, RAFT_STEP_METHOD, RaftNode } from "./node.ts";
import { patternBytes } from "../snapshot_transfer/testing/snapshot_fixtures.ts";

const FRAME_LIMIT_BYTES = 64 * 1024;
const SNAPSHOT_BYTES = 300 * 1024;
/** The first two peers' service snapshots once it has applied this entry. */
const SNAPSHOT_INDEX = 5;
const POLL_MS = 10;
/** Bound on every wait: far above the few hundred milliseconds each step takes. */
const WAIT_LIMIT_MS = 20_000;
/** Reconnect quickly, well within an election timeout, as `peer/` does. */
const RECONNECT_BACKOFF_MS = { initial: 10, max: 100 };

/** How the peers send snapshots: in chunks within the frame limit, or whole. */
interface Sending {
  readonly snapshotChunkBytes: number;
  /** The frame limit the peers' clients and nodes assume; their servers keep 64 KiB. */
  readonly senderFrameBytes: number;
}

/** A group of three peers on TCP; peer 2 starts only when the test says so. */
class TcpGroup {
  /** The running peers, which the servers' handlers call. */
  readonly nodes: (RaftNode | null)[];
  /** What each peer's server logged: refused frames, among others. */
  readonly serverLogs: string[][];
  readonly applied: ApplyMessage[][] = [[], [], []];
  readonly #servers: RpcServer[];
  readonly #clients: RpcClient[][];
  readonly #sending: Sending;

  private constructor(
    servers: RpcServer[],
    sending: Sending,
    nodes: (RaftNode | null)[],
    serverLogs: string[][],
  ) {
    this.nodes = nodes;
    this.serverLogs = serverLogs;
    this.#servers = servers;
    this.#sending = sending;
    this.#clients = [0, 1, 2].map(() =>
      servers.map((server) =>
        connect(server.address, {
          maxFrameBytes: sending.senderFrameBytes,
          reconnectBackoffMs: RECONNECT_BACKOFF_MS,
          log: () => {},
        })
      )
    );
  }

  /** Listens for all three peers; calls to a peer not started yet fail. */
  static async listen(sending: Sending): Promise<TcpGroup> {
    const nodes: (RaftNode | null)[] = [null, null, null];
    const serverLogs: string[][] = [[], [], []];
    const servers = await Promise.all([0, 1, 2].map((id) =>
      serve("127.0.0.1:0", {
        [RAFT_STEP_METHOD]: (args: unknown) => {
          const node = nodes[id];
          if (node === null) throw new Error(`Peer ${id} has not started`);
          return node.handlers[RAFT_STEP_METHOD](args);
        },
      }, { maxFrameBytes: FRAME_LIMIT_BYTES, log: (line) => serverLogs[id].push(line) })
    ));
    return new TcpGroup(servers, sending, nodes, serverLogs);
  }

  /** Starts peer `id`; peers 0 and 1 snapshot their service at entry 5. */
  start(id: number): void {
    const node: RaftNode = new RaftNode({
      id,
      peers: this.#clients[id],
      storage: new MemoryStorage(),
      clock: realClock,
      random: new SeededRandom(id + 1),
      snapshotChunkBytes: this.#sending.snapshotChunkBytes,
      maxFrameBytes: this.#sending.senderFrameBytes,
      apply: (message) => {
        this.applied[id].push(message);
        if ("commandValid" in message && message.commandIndex === SNAPSHOT_INDEX) {
          node.snapshot(SNAPSHOT_INDEX, serviceSnapshot());
        }
      },
    });
    this.nodes[id] = node;
  }

  leader(): RaftNode | undefined {
    return this.nodes.find((node) => node?.role === "leader") ?? undefined;
  }

  /** Proposes until peers 0 and 1 have both applied entry `index`. */
  async commitUpTo(index: number): Promise<void> {
    await waitUntil(`peers 0 and 1 apply entry ${index}`, () => {
      if (lastApplied(this.applied[0]) >= index && lastApplied(this.applied[1]) >= index) {
        return true;
      }
      const leader = this.leader();
      if (leader !== undefined && leader.commitIndex < index) leader.propose("command");
      return false;
    });
  }

  async close(): Promise<void> {
    for (const node of this.nodes) node?.kill();
    for (const clients of this.#clients) for (const client of clients) client.close();
    await Promise.all(this.#servers.map((server) => server.close()));
  }
}

function serviceSnapshot(): Uint8Array {
  return patternBytes(SNAPSHOT_BYTES, 7);
}

function lastApplied(applied: readonly ApplyMessage[]): number {
  const last = applied.at(-1);
  if (last === undefined) return 0;
  if ("membershipValid" in last) return last.membershipIndex;
  return "commandValid" in last ? last.commandIndex : last.snapshotIndex;
}

/** Polls `condition` until it holds; fails the test after {@linkcode WAIT_LIMIT_MS}. */
async function waitUntil(what: string, condition: () => boolean): Promise<void> {
  for (let poll = 0; poll < WAIT_LIMIT_MS / POLL_MS; poll++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`Gave up after ${WAIT_LIMIT_MS} ms waiting until ${what}`);
}

/** Peers 0 and 1 commit and snapshot 300 KiB at entry 5; then peer 2 starts, empty. */
async function lateFollowerGroup(sending: Sending): Promise<TcpGroup> {
  const group = await TcpGroup.listen(sending);
  group.start(0);
  group.start(1);
  await group.commitUpTo(SNAPSHOT_INDEX);
  group.start(2);
  return group;
}

const OVERSIZED_FRAME = /Frame of \d+ bytes is over the limit of 65536 bytes/;

Deno.test("over TCP with 64 KiB frames, a late follower catches up by a 300 KiB snapshot sent in chunks", async () => {
  const group = await lateFollowerGroup({
    snapshotChunkBytes: 16 * 1024,
    senderFrameBytes: FRAME_LIMIT_BYTES,
  });
  try {
    await waitUntil("peer 2 installs the snapshot", () => lastApplied(group.applied[2]) >= 5);
    const [installed] = group.applied[2];
    assert.ok("snapshotValid" in installed);
    assert.equal(installed.snapshotIndex, SNAPSHOT_INDEX);
    assert.deepEqual(installed.snapshot, serviceSnapshot());
    // It goes on replicating from there.
    await group.commitUpTo(SNAPSHOT_INDEX + 1);
    await waitUntil("peer 2 applies entry 6", () => lastApplied(group.applied[2]) >= 6);
    for (const log of group.serverLogs) {
      assert.deepEqual(log.filter((line) => OVERSIZED_FRAME.test(line)), []);
    }
  } finally {
    await group.close();
  }
});

Deno.test("over TCP with 64 KiB frames, the same snapshot sent whole closes the connection at every try", async () => {
  const group = await lateFollowerGroup({
    snapshotChunkBytes: 1024 * 1024,
    senderFrameBytes: 64 * 1024 * 1024,
  });
  try {
    await waitUntil(
      "peer 2's server refuses two oversized frames",
      () => group.serverLogs[2].filter((line) => OVERSIZED_FRAME.test(line)).length >= 2,
    );
    assert.deepEqual(group.applied[2], []);
  } finally {
    await group.close();
  }
});
