/**
 * How fast a follower far behind catches up: a three-peer group on the simulated network with
 * a travel time on every message, one follower stopped while the others commit a backlog, then
 * restarted on its storage (as after a crash or a maintenance window, so it comes back in its old
 * term and the leader stays leader). Deterministic for a seed, in virtual time, so it measures the replication
 * protocol (round trips, window, batching) and nothing of the machine it runs on. Used by
 * `dsys bench catch-up` and by the simulation test of pipelining.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { RpcClient } from "../rpc/types.ts";
import { SimNetwork } from "../sim/network.ts";
import { Simulation } from "../sim/simulation.ts";
import { MemoryStorage } from "../storage/memory_storage.ts";
import { RaftNode, type ReplicationLimits } from "../raft_node/node.ts";

/** What to measure. */
export interface CatchUpOptions {
  /** Seed of the simulation (election jitter, message travel times). */
  readonly seed: number;
  /** Entries the follower is behind when it comes back. */
  readonly backlogEntries: number;
  /** Each message's travel time is drawn from [min, max] ms; unequal bounds reorder messages. */
  readonly latencyMs: { readonly min: number; readonly max: number };
  /** Whether replies are reordered too (labrpc's long reordering: some wait up to 2 s more). */
  readonly reorderReplies?: boolean;
  /** The core's append caps: entries per append, the window. */
  readonly replication: ReplicationLimits;
  /** Give up (and throw) after this much virtual time. Default one virtual hour. */
  readonly maxVirtualMs?: number;
}

/** What was measured. */
export interface CatchUpResult {
  /** Virtual ms from restarting the follower until it holds and knows committed the backlog. */
  readonly catchUpMs: number;
  /** RPCs sent during the catch-up, by every peer. */
  readonly rpcs: number;
  /** Bytes of requests and replies during the catch-up. */
  readonly bytes: number;
}

const GROUP_SIZE = 3;
/** Commands of this many bytes, like a small key/value put. */
const COMMAND_BYTES = 100;
/** Proposals per burst while the backlog builds: one burst is one Ready on the leader. */
const PROPOSALS_PER_BURST = 500;
/** How often the scenario looks at the peers, in virtual ms: the resolution of the figure. */
const POLL_MS = 1;

/**
 * Runs the scenario once and returns how long the follower took to catch up.
 *
 * @example
 * ```ts
 * const result = await measureCatchUp({
 *   seed: 1,
 *   backlogEntries: 10_000,
 *   latencyMs: { min: 5, max: 5 },
 *   replication: { maxInflightAppends: 64 },
 * });
 * console.log(`${result.catchUpMs} virtual ms`);
 * ```
 */
export async function measureCatchUp(options: CatchUpOptions): Promise<CatchUpResult> {
  assert(options.backlogEntries > 0, `A backlog of ${options.backlogEntries} entries is empty`);
  const simulation = new Simulation(options.seed);
  const network = new SimNetwork(simulation);
  network.setLatency(options.latencyMs.min, options.latencyMs.max);
  network.setLongReordering(options.reorderReplies ?? false);
  const storages = Array.from({ length: GROUP_SIZE }, () => new MemoryStorage());
  const start = (id: number) =>
    startPeer(simulation, network, id, storages[id], options.replication);
  const nodes = storages.map((_, id) => start(id));
  return await simulation.run(async () => {
    const leader = await stableLeader(simulation, nodes);
    const laggard = (leader.id + 1) % GROUP_SIZE;
    nodes[laggard].kill();
    network.deleteServer(serverName(laggard));
    const target = await buildBacklog(simulation, leader, options.backlogEntries);
    const rpcsBefore = network.getTotalCount();
    const bytesBefore = network.getTotalBytes();
    const startMs = simulation.now();
    nodes[laggard] = start(laggard);
    const term = leader.term;
    await waitUntil(
      simulation,
      () =>
        nodes[laggard].commitIndex >= target || leader.role !== "leader" || leader.term !== term,
    );
    // A new leader may never tell the follower the backlog is committed (it commits only by an
    // entry of its own term), and the figure would measure an election: refuse such a run.
    assert(
      leader.role === "leader" && leader.term === term,
      `Peer ${leader.id} lost its leadership ${simulation.now() - startMs} ms into the catch-up`,
    );
    const result = {
      catchUpMs: simulation.now() - startMs,
      rpcs: network.getTotalCount() - rpcsBefore,
      bytes: network.getTotalBytes() - bytesBefore,
    };
    for (const node of nodes) node.kill();
    network.cleanup();
    return result;
  }, { maxVirtualMs: options.maxVirtualMs });
}

/** Starts peer `id` on `storage` with fresh ends to every peer, as a restarted process would. */
function startPeer(
  simulation: Simulation,
  network: SimNetwork,
  id: number,
  storage: MemoryStorage,
  replication: ReplicationLimits,
): RaftNode {
  const incarnation = simulation.random.int(1 << 30);
  const peers: RpcClient[] = [];
  for (let peer = 0; peer < GROUP_SIZE; peer++) {
    const name = `${id}-${peer}-${incarnation}`;
    peers.push(network.makeEnd(name));
    network.connect(name, serverName(peer));
    network.enable(name, true);
  }
  const node = new RaftNode({
    id,
    peers,
    storage,
    clock: simulation,
    random: simulation.random,
    apply: () => {},
    replication,
  });
  network.addServer(serverName(id), node.handlers);
  return node;
}

function serverName(id: number): string {
  return `peer-${id}`;
}

/** How long a leader may take to commit an entry of its term before another is sought. */
const SETTLE_MS = 5_000;

/**
 * A leader that has committed an entry of its own term, so that what it is proposed next commits
 * (a leader never commits its predecessors' entries by counting, only by committing its own).
 * Tries again, bounded by the simulation's time limit, while leadership changes hands.
 */
async function stableLeader(simulation: Simulation, nodes: RaftNode[]): Promise<RaftNode> {
  // Bounded by the simulation's virtual time limit.
  for (;;) {
    await waitUntil(simulation, () => nodes.some((node) => node.role === "leader"));
    const leader = nodes.find((node) => node.role === "leader") as RaftNode;
    const { index, term, isLeader } = leader.propose("settle");
    if (!isLeader) continue;
    const deadlineMs = simulation.now() + SETTLE_MS;
    await waitUntil(
      simulation,
      () => leader.commitIndex >= index || leader.term !== term || simulation.now() >= deadlineMs,
    );
    if (leader.commitIndex >= index && leader.term === term) return leader;
  }
}

/** Proposes `entries` commands in bursts and waits for the leader to commit them all. */
async function buildBacklog(
  simulation: Simulation,
  leader: RaftNode,
  entries: number,
): Promise<number> {
  const command = "x".repeat(COMMAND_BYTES);
  let last = 0;
  for (let proposed = 0; proposed < entries; proposed += PROPOSALS_PER_BURST) {
    for (let burst = 0; burst < Math.min(PROPOSALS_PER_BURST, entries - proposed); burst++) {
      const result = leader.propose(command);
      assert(result.isLeader, `Peer ${leader.id} lost its leadership while building the backlog`);
      last = result.index;
    }
    await waitUntil(simulation, () => leader.commitIndex >= last);
  }
  return last;
}

async function waitUntil(simulation: Simulation, condition: () => boolean): Promise<void> {
  // Bounded by the simulation's virtual time limit.
  while (!condition()) await simulation.sleep(POLL_MS);
}

/** One line of {@linkcode runCatchUpBench}: a scenario, measured with and without a window. */
export interface CatchUpBenchRow {
  /** What the scenario is. */
  readonly scenario: string;
  /** A window of one append: stop-and-wait, the baseline. */
  readonly stopAndWait: CatchUpResult;
  /** The default window. */
  readonly pipelined: CatchUpResult;
}

/** The scenarios of `dsys bench catchup`. */
const BENCH_SCENARIOS: readonly (Omit<CatchUpOptions, "replication"> & {
  readonly name: string;
  readonly entriesPerAppend?: number;
})[] = [
  {
    name: "10,000 entries, 5 ms each way",
    seed: 1,
    backlogEntries: 10_000,
    latencyMs: { min: 5, max: 5 },
  },
  {
    name: "10,000 entries, 5 ms each way, replies reordered",
    seed: 1,
    backlogEntries: 10_000,
    latencyMs: { min: 5, max: 5 },
    reorderReplies: true,
  },
  {
    name: "2,000 entries by 10, 5 ms each way",
    seed: 1,
    backlogEntries: 2_000,
    latencyMs: { min: 5, max: 5 },
    entriesPerAppend: 10,
  },
  {
    name: "2,000 entries by 10, 1-9 ms (requests reordered)",
    seed: 1,
    backlogEntries: 2_000,
    latencyMs: { min: 1, max: 9 },
    entriesPerAppend: 10,
  },
];

/**
 * Measures every scenario with a window of one append (stop-and-wait, the baseline) and with
 * `windowAppends`, and prints a table of virtual catch-up times, RPCs and bytes.
 */
export async function runCatchUpBench(
  windowAppends: number,
  print: (line: string) => void = (line) => console.log(line),
): Promise<CatchUpBenchRow[]> {
  print(
    "catch-up bench: a follower restarted far behind, 3 peers, simulated network (virtual time)",
  );
  print(`window: 1 append (stop-and-wait) vs ${windowAppends} appends`);
  const rows: CatchUpBenchRow[] = [];
  for (const { name, entriesPerAppend, ...scenario } of BENCH_SCENARIOS) {
    const measure = (maxInflightAppends: number) =>
      measureCatchUp({
        ...scenario,
        replication: { maxInflightAppends, maxEntriesPerAppend: entriesPerAppend },
      });
    const row = {
      scenario: name,
      stopAndWait: await measure(1),
      pipelined: await measure(windowAppends),
    };
    rows.push(row);
    const { stopAndWait, pipelined } = row;
    print(
      `${name}: ${stopAndWait.catchUpMs} ms → ${pipelined.catchUpMs} ms ` +
        `(${(stopAndWait.catchUpMs / pipelined.catchUpMs).toFixed(1)}× faster), ` +
        `RPCs ${stopAndWait.rpcs} → ${pipelined.rpcs}, ` +
        `MB ${(stopAndWait.bytes / 1e6).toFixed(2)} → ${(pipelined.bytes / 1e6).toFixed(2)}`,
    );
  }
  return rows;
}
