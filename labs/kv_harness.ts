/**
 * The lab's key/value tester (kvraft/config.go of 6.824, 2022), ported to the simulation:
 * key/value servers with their Raft peers on a {@linkcode SimNetwork}, clerks with their own
 * ends, partitions, crash-and-restart that keeps only what was persisted, the counters of the
 * lab's result line, and a history of client operations for the linearizability checker.
 *
 * The network has labrpc's semantics with long delays off (a call to an unreachable server fails
 * within 100 ms, as in the KV lab) plus a per-message latency of {@linkcode MIN_LATENCY_MS} to
 * {@linkcode MAX_LATENCY_MS}: without it a clerk looping on a reliable network would never let
 * virtual time move. The range puts one operation at about four one-way trips (clerk to leader,
 * leader to a majority and back, back to the clerk), about 10 ms, so a test does thousands of
 * operations, as the lab's runs do, and "ms per operation" is a real measure.
 *
 * @module
 */
import { errorText } from "../util/error_text.ts";
import type { RpcClient, RpcHandlers } from "../rpc/types.ts";
import { make } from "../lab_api/lab_raft.ts";
import { Persister } from "../lab_api/persister.ts";
import { SimNetwork } from "../sim/network.ts";
import { Simulation } from "../sim/simulation.ts";
import type { PeerState } from "../sim/recorder.ts";
import { Clerk } from "../kv/clerk.ts";
import type { Consistency } from "../kv/command.ts";
import { KvServer } from "../kv/server.ts";
import { Watcher } from "../kv/watcher.ts";
import type { KeyRange } from "../kv/store.ts";
import { assertLinearizable, HistoryRecorder, type OperationKind } from "../linearizability/mod.ts";
import type { TestContext } from "./suite.ts";
import { LabFailure, runOnSimulation, TEST_TIME_LIMIT_MS } from "./lab_simulation.ts";

/** The tester's election timeout: partitions last this long (plus up to 200 ms). */
export const ELECTION_TIMEOUT_MS = 1000;
/** The shortest time one message (request or reply) takes to travel. */
export const MIN_LATENCY_MS = 1;
/** The longest time one message takes to travel. */
export const MAX_LATENCY_MS = 4;
/** Wall-clock budget of the linearizability check; running out fails the test. */
export const CHECK_TIMEOUT_MS = 10_000;

/** A clerk made by the tester, with the names of its ends (one per server). */
interface TesterClerk {
  readonly clerk: Clerk;
  /** The clerk's number in order of creation: its client in the history. */
  readonly number: number;
  /** End names, indexed by server (not in the clerk's shuffled order). */
  readonly endNames: readonly string[];
}

/** The lab's kvraft `config`: a group of key/value servers on one simulated network. */
export class KvConfig {
  /** The simulation everything runs on. */
  readonly simulation: Simulation;
  /** The simulated network. */
  readonly network: SimNetwork;
  /** Number of servers. */
  readonly n: number;
  /** The running server of each slot, or null while it is shut down. */
  readonly servers: (KvServer | null)[];
  /** Snapshot when the Raft state nears this many bytes; -1 never. */
  readonly maxraftstate: number;
  /** Every operation the tests recorded, for the linearizability check. */
  readonly history: HistoryRecorder;
  readonly #context: TestContext;
  readonly #saved: (Persister | null)[];
  /** Server-to-server end names of each server's current incarnation: [from][to]. */
  readonly #endNames: (string[] | null)[];
  readonly #clerks = new Map<Clerk, TesterClerk>();
  readonly #watchers = new Map<Watcher, string[]>();
  readonly #startMs: number;
  /** Revisions of history each server keeps (0 for the lab's tests, which have no watches). */
  readonly historyRevisions: number;
  #endGeneration = 0;
  #finished = false;
  #clerkCount = 0;
  #ops = 0;
  #serializableGets = 0;
  #staleSerializableGets = 0;
  #t0 = 0;
  #rpcs0 = 0;
  #label = "";

  /** The lab's `make_config`: `n` servers, started and connected. */
  constructor(
    simulation: Simulation,
    context: TestContext,
    n: number,
    unreliable: boolean,
    maxraftstate: number,
    historyRevisions = 0,
  ) {
    this.historyRevisions = historyRevisions;
    this.simulation = simulation;
    this.#context = context;
    this.network = new SimNetwork(simulation);
    this.network.setLatency(MIN_LATENCY_MS, MAX_LATENCY_MS);
    this.network.setLongDelays(false);
    this.network.setReliable(!unreliable);
    this.n = n;
    this.maxraftstate = maxraftstate;
    this.history = new HistoryRecorder(simulation);
    this.servers = new Array(n).fill(null);
    this.#saved = new Array(n).fill(null);
    this.#endNames = new Array(n).fill(null);
    this.#startMs = simulation.now();
    for (let i = 0; i < n; i++) this.startServer(i);
    this.connectAll();
  }

  /** Resolves after `delayMs` of virtual time. */
  sleep(delayMs: number): Promise<void> {
    return this.simulation.sleep(delayMs);
  }

  /** A random whole number below `bound`, from the run's seeded source. */
  randomInt(bound: number): number {
    return this.simulation.random.int(bound);
  }

  /** Prints one line of the test's output. */
  log(line: string): void {
    this.#context.log(line);
  }

  /** Throws a {@linkcode LabFailure} with the lab's message. */
  fatal(message: string): never {
    throw new LabFailure(message);
  }

  /** Every server: [0, n). */
  all(): number[] {
    return Array.from({ length: this.n }, (_, i) => i);
  }

  // -------------------------------------------------------------------------------------------
  // Connectivity

  /** Enables the ends between server `i` and each server of `to`, both ways. */
  #connect(i: number, to: readonly number[]): void {
    for (const j of to) {
      const outgoing = this.#endNames[i];
      if (outgoing !== null) this.network.enable(outgoing[j], true);
      const incoming = this.#endNames[j];
      if (incoming !== null) this.network.enable(incoming[i], true);
    }
  }

  /** Disables the ends between server `i` and each server of `from`, both ways. */
  #disconnect(i: number, from: readonly number[]): void {
    for (const j of from) {
      const outgoing = this.#endNames[i];
      if (outgoing !== null) this.network.enable(outgoing[j], false);
      const incoming = this.#endNames[j];
      if (incoming !== null) this.network.enable(incoming[i], false);
    }
  }

  /** The lab's `ConnectAll`: every server reaches every other. */
  connectAll(): void {
    for (let i = 0; i < this.n; i++) this.#connect(i, this.all());
  }

  /** The lab's `partition`: servers talk only within their side (clerks are not affected). */
  partition(p1: readonly number[], p2: readonly number[]): void {
    for (const i of p1) {
      this.#disconnect(i, p2);
      this.#connect(i, p1);
    }
    for (const i of p2) {
      this.#disconnect(i, p1);
      this.#connect(i, p2);
    }
  }

  /** The lab's `make_partition`: a majority without the leader, and a minority ending with it. */
  makePartition(): { p1: number[]; p2: number[] } {
    const leader = this.leader();
    const others = this.all().filter((i) => i !== leader.id);
    const p1Size = Math.floor(this.n / 2) + 1;
    const p1 = others.slice(0, p1Size);
    const p2 = [...others.slice(p1Size), leader.id];
    return { p1, p2 };
  }

  /** The lab's `Leader`: the first server that believes it leads (id 0 when none does). */
  leader(): { isLeader: boolean; id: number } {
    for (let i = 0; i < this.n; i++) {
      const server = this.servers[i];
      if (server !== null && server.raftState().isLeader) return { isLeader: true, id: i };
    }
    return { isLeader: false, id: 0 };
  }

  // -------------------------------------------------------------------------------------------
  // Clerks

  /** The lab's `makeClient`: a clerk with ends to every server, shuffled, enabled to `to`. */
  makeClient(to: readonly number[]): Clerk {
    const { number, endNames, ends } = this.#makeEnds("clerk", to);
    const clerk = new Clerk(ends, this.simulation, this.simulation.random);
    this.#clerks.set(clerk, { clerk, number, endNames });
    return clerk;
  }

  /**
   * Ends named `KIND-N-j` to every server `j` (N counts the tester's clients), enabled to the
   * servers of `to`, in a shuffled order: what a clerk or a watcher calls through.
   */
  #makeEnds(kind: string, to: readonly number[]) {
    const number = this.#clerkCount++;
    const endNames = this.all().map((j) => `${kind}-${number}-${j}`);
    const ends: RpcClient[] = endNames.map((endName, j) => {
      const end = this.network.makeEnd(endName);
      this.network.connect(endName, serverName(j));
      return end;
    });
    const shuffled = this.#shuffled(ends);
    const reachable = new Set(to);
    endNames.forEach((endName, j) => this.network.enable(endName, reachable.has(j)));
    return { number, endNames, ends: shuffled };
  }

  /**
   * A watcher of `range` from `fromRevision`, with ends to every server (shuffled) enabled to
   * `to`; delete it with {@linkcode KvConfig.deleteWatcher}.
   */
  makeWatcher(range: KeyRange, fromRevision: number, to: readonly number[] = this.all()): Watcher {
    const { endNames, ends } = this.#makeEnds("watcher", to);
    const watcher = new Watcher(ends, this.simulation, range, fromRevision);
    this.#watchers.set(watcher, endNames);
    return watcher;
  }

  /** Stops `watcher` and takes its ends down. */
  deleteWatcher(watcher: Watcher): void {
    watcher.close();
    for (const endName of this.#watchers.get(watcher) ?? []) this.network.enable(endName, false);
  }

  /** The lab's `deleteClient`: the clerk stops retrying and its ends go dark. */
  deleteClient(clerk: Clerk): void {
    const entry = this.#tester(clerk);
    clerk.close();
    for (const endName of entry.endNames) this.network.enable(endName, false);
  }

  /** The lab's `ConnectClient`: the clerk reaches exactly the servers of `to`. */
  connectClient(clerk: Clerk, to: readonly number[]): void {
    const entry = this.#tester(clerk);
    const reachable = new Set(to);
    for (let j = 0; j < this.n; j++) this.network.enable(entry.endNames[j], reachable.has(j));
  }

  /** The clerk's number in order of creation: its client in a history. */
  clientNumber(clerk: Clerk): number {
    return this.#tester(clerk).number;
  }

  #tester(clerk: Clerk): TesterClerk {
    const entry = this.#clerks.get(clerk);
    if (entry === undefined) throw new Error(`Clerk ${clerk.clientId} is not the tester's`);
    return entry;
  }

  /** The lab's `random_handles`: the same ends in a random order. */
  #shuffled<T>(items: readonly T[]): T[] {
    const shuffled = [...items];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = this.randomInt(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    return shuffled;
  }

  // -------------------------------------------------------------------------------------------
  // Servers

  /** The lab's `ShutdownServer`: cut server `i` off, kill it, keep only what it persisted. */
  shutdownServer(i: number): void {
    this.#disconnect(i, this.all());
    this.network.deleteServer(serverName(i));
    // A copy, so the dead incarnation cannot change what the next one will read.
    const saved = this.#saved[i];
    if (saved !== null) this.#saved[i] = saved.copy();
    const server = this.servers[i];
    if (server !== null) {
      server.kill();
      this.servers[i] = null;
    }
  }

  /**
   * The lab's `StartServer`: a new incarnation of server `i` with fresh ends (so the old one's
   * calls go nowhere) and a copy of its persister; not connected until `connectAll`.
   */
  startServer(i: number): void {
    const generation = this.#endGeneration++;
    const endNames = this.all().map((j) => `end-${i}-${j}-${generation}`);
    this.#endNames[i] = endNames;
    const ends: RpcClient[] = endNames.map((endName, j) => {
      const end = this.network.makeEnd(endName);
      this.network.connect(endName, serverName(j));
      return end;
    });
    const saved = this.#saved[i];
    const persister = saved === null ? new Persister() : saved.copy();
    this.#saved[i] = persister;
    const simulation = this.simulation;
    const onFatal = (error: unknown) =>
      simulation.fail(new LabFailure(`server ${i} stopped: ${errorText(error)}`));
    let raftHandlers: RpcHandlers = {};
    let raftState: PeerState | null = null;
    const server = new KvServer({
      id: i,
      clock: simulation,
      maxRaftStateBytes: this.maxraftstate,
      snapshot: persister.readSnapshot(),
      // The lab's service has no watches, and its snapshot-size test allows 500 bytes.
      historyRevisions: this.historyRevisions,
      makeRaft: (apply) => {
        const raft = make(ends, i, persister, apply, simulation, simulation.random, onFatal);
        raftHandlers = raft.handlers;
        raftState = raft.state;
        return { ...raft, raftStateSize: () => persister.raftStateSize() };
      },
    });
    this.servers[i] = server;
    this.network.addServer(serverName(i), { ...raftHandlers, ...server.handlers });
    // Set by makeRaft, which the server calls in its constructor (hidden from the type checker).
    const state = raftState as PeerState | null;
    if (state !== null) simulation.recorder?.peer(serverName(i), state);
  }

  /** The most bytes of Raft state any server has persisted (the lab's `LogSize`). */
  logSize(): number {
    let size = 0;
    for (const saved of this.#saved) size = Math.max(size, saved?.raftStateSize() ?? 0);
    return size;
  }

  /** The most bytes of snapshot any server has persisted (the lab's `SnapshotSize`). */
  snapshotSize(): number {
    let size = 0;
    for (const saved of this.#saved) size = Math.max(size, saved?.readSnapshot()?.byteLength ?? 0);
    return size;
  }

  // -------------------------------------------------------------------------------------------
  // Operations, counted and recorded

  /**
   * The lab's `Get`, at `consistency` (default linearizable): counted, and recorded in the
   * history under the clerk's number, except a serializable get, which may be stale.
   */
  async get(clerk: Clerk, key: string, consistency: Consistency = "linearizable"): Promise<string> {
    if (consistency !== "serializable") {
      return await this.#operation(clerk, "get", key, "", consistency);
    }
    const value = await clerk.get(key, consistency);
    this.#ops++;
    return value;
  }

  /** A serializable get was made; `stale` when it missed writes the test knows were done. */
  noteStaleRead(stale: boolean): void {
    this.#serializableGets++;
    if (stale) this.#staleSerializableGets++;
  }

  /** The lab's `Put`. */
  async put(clerk: Clerk, key: string, value: string): Promise<void> {
    await this.#operation(clerk, "put", key, value);
  }

  /** The lab's `Append`. */
  async append(clerk: Clerk, key: string, value: string): Promise<void> {
    await this.#operation(clerk, "append", key, value);
  }

  /** The lab's `check`: a Get must read `value`. */
  async check(clerk: Clerk, key: string, value: string): Promise<void> {
    const got = await this.get(clerk, key);
    if (got !== value) this.fatal(`Get(${key}): expected:\n${value}\nreceived:\n${got}`);
  }

  async #operation(
    clerk: Clerk,
    kind: OperationKind,
    key: string,
    value: string,
    consistency: Consistency = "linearizable",
  ): Promise<string> {
    const client = this.#tester(clerk).number;
    const pending = this.history.begin(client, kind, key, value);
    const recorder = this.simulation.recorder;
    const call = recorder?.clientCall(this.simulation.now(), `clerk-${client}`, `${kind} ${key}`);
    let output = "";
    if (kind === "get") output = await clerk.get(key, consistency);
    else if (kind === "put") await clerk.put(key, value);
    else await clerk.append(key, value);
    this.#ops++;
    this.history.end(pending, output);
    if (call !== undefined) recorder?.clientReturn(this.simulation.now(), call, output);
    return output;
  }

  /** Checks the recorded history; a violation or an undecided check fails the test. */
  checkLinearizable(): void {
    const history = this.history.history();
    let elapsedMs: number;
    try {
      elapsedMs = assertLinearizable(history, { timeoutMs: CHECK_TIMEOUT_MS }).elapsedMs;
    } catch (error) {
      this.fatal(`history is not linearizable: ${errorText(error)}`);
    }
    this.log(
      `  history of ${history.length} operations is linearizable (checked in ${
        elapsedMs.toFixed(0)
      } ms of ${CHECK_TIMEOUT_MS} ms)`,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Test bracketing

  /** The lab's `begin`: notes the counters the result line reports. */
  begin(label: string): void {
    this.#label = label;
    this.#t0 = this.simulation.now();
    this.#rpcs0 = this.network.getTotalCount();
    this.#ops = 0;
  }

  /** Counts an operation made outside this harness's own methods (for the result line). */
  countOperation(): void {
    this.#ops++;
  }

  /** Operations completed since `begin`. */
  get ops(): number {
    return this.#ops;
  }

  /** The lab's `end`: checks the time limit and prints the result line. */
  end(): void {
    this.#checkTimeout();
    if (this.#serializableGets > 0) {
      this.log(
        `  ${this.#serializableGets} serializable gets, ${this.#staleSerializableGets} of them stale`,
      );
    }
    const seconds = (this.simulation.now() - this.#t0) / 1000;
    const rpcs = this.network.getTotalCount() - this.#rpcs0;
    this.#context.log(
      kvResultLine(this.#label, { seconds, peers: this.n, rpcs, ops: this.#ops }, this.#context),
    );
  }

  /** Whether `cleanup` ran: clerks still running then fail only because the network closed. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The lab's `cleanup`: kills every server and shuts the network. */
  cleanup(): void {
    this.#finished = true;
    for (const clerk of this.#clerks.keys()) clerk.close();
    for (const server of this.servers) server?.kill();
    this.network.cleanup();
  }

  #checkTimeout(): void {
    if (this.simulation.now() - this.#startMs > TEST_TIME_LIMIT_MS) {
      this.fatal(`test took longer than ${TEST_TIME_LIMIT_MS / 1000} seconds`);
    }
  }
}

/** The counts of the key/value lab's result line. */
export interface KvCounts {
  /** Virtual seconds since `begin`. */
  readonly seconds: number;
  /** Servers. */
  readonly peers: number;
  /** RPCs sent since `begin`. */
  readonly rpcs: number;
  /** Client operations since `begin`. */
  readonly ops: number;
}

/** The lab's result line of a key/value test: `label ...  Passed -- seconds peers rpcs ops`. */
export function kvResultLine(label: string, counts: KvCounts, context: TestContext): string {
  return `${label} ...  Passed -- ${counts.seconds.toFixed(1).padStart(5)} ${counts.peers} ${
    String(counts.rpcs).padStart(5)
  } ${String(counts.ops).padStart(4)}  (seed ${context.seed})`;
}

/**
 * Runs one lab test: a fresh simulation from the context's seed, a config of `servers` key/value
 * servers, and `body` on virtual time; cleans up whatever happens. A failure names the virtual
 * time, so a replay with the same seed can be followed.
 */
export async function runKvTest(
  context: TestContext,
  options: {
    servers: number;
    unreliable: boolean;
    maxraftstate: number;
    historyRevisions?: number;
  },
  body: (config: KvConfig) => Promise<void>,
): Promise<void> {
  await runOnSimulation(
    context,
    (simulation) =>
      new KvConfig(
        simulation,
        context,
        options.servers,
        options.unreliable,
        options.maxraftstate,
        options.historyRevisions,
      ),
    body,
  );
}

function serverName(i: number): string {
  return `server-${i}`;
}
