/**
 * The lab's Raft tester (raft/config.go of 6.5840, parts 2A–2D), ported to the simulation: lab
 * Raft peers on a {@linkcode SimNetwork}, crashes that keep only what was persisted, partitions,
 * the appliers that check every committed command, and the helpers the tests are written in
 * (`checkOneLeader`, `one`, `wait`, `nCommitted`, …). Time is the simulation's virtual time and
 * every random choice comes from its seeded source, so a failing run replays from its seed.
 *
 * "Fatal" in the lab means throwing an Error with the lab's message; failures found outside the
 * test's own flow (an applier's check) fail the simulation run.
 *
 * @module
 */
import { decode, encode } from "../rpc/codec.ts";
import { errorText } from "../util/error_text.ts";
import type { RpcClient } from "../rpc/types.ts";
import { type ApplyMessage, type LabRaft, make } from "../lab_api/lab_raft.ts";
import { Persister } from "../lab_api/persister.ts";
import { SimNetwork } from "../sim/network.ts";
import { Simulation } from "../sim/simulation.ts";
import type { TestContext } from "./suite.ts";
import { LabFailure, runOnSimulation, TEST_TIME_LIMIT_MS } from "./lab_simulation.ts";

/** The tester allows elections to take a whole second (far more than the paper's range). */
export const RAFT_ELECTION_TIMEOUT_MS = 1000;
/** The applier with snapshots asks Raft for one every this many commands. */
export const SNAPSHOT_INTERVAL = 10;
/** Most bytes of Raft state any server may hold in the snapshot tests. */
export const MAX_LOG_SIZE = 2000;
/** How long `one` keeps trying, overall and per submitted command. */
const ONE_TIMEOUT_MS = 10_000;
const ONE_ATTEMPT_MS = 2_000;

type Applier = (server: number, message: ApplyMessage, raft: LabRaft) => void;

/** The lab's `config`: one group of lab Raft peers on one simulated network. */
export class RaftConfig {
  /** The simulation everything runs on. */
  readonly simulation: Simulation;
  /** The simulated network. */
  readonly network: SimNetwork;
  /** Number of servers. */
  readonly n: number;
  /** The running peer of each server, or null while it is crashed. */
  readonly rafts: (LabRaft | null)[];
  /** Whether each server is connected to the network. */
  readonly connected: boolean[];
  readonly #context: TestContext;
  readonly #applyErrors: string[];
  readonly #saved: (Persister | null)[];
  readonly #endNames: (string[] | null)[];
  /** Per server, the commands it applied, by index. */
  readonly #logs: Map<number, unknown>[];
  readonly #lastApplied: number[];
  readonly #startMs: number;
  readonly #applier: Applier;
  #endGeneration = 0;
  #finished = false;
  #t0 = 0;
  #rpcs0 = 0;
  #bytes0 = 0;
  #maxIndex = 0;
  #maxIndex0 = 0;
  #label = "";

  /** The lab's `make_config`: `n` servers, started and connected. */
  constructor(
    simulation: Simulation,
    context: TestContext,
    n: number,
    unreliable: boolean,
    snapshot: boolean,
  ) {
    this.simulation = simulation;
    this.#context = context;
    this.network = new SimNetwork(simulation);
    this.n = n;
    this.rafts = new Array(n).fill(null);
    this.connected = new Array(n).fill(false);
    this.#applyErrors = new Array(n).fill("");
    this.#saved = new Array(n).fill(null);
    this.#endNames = new Array(n).fill(null);
    this.#logs = Array.from({ length: n }, () => new Map());
    this.#lastApplied = new Array(n).fill(0);
    this.#startMs = simulation.now();
    this.setUnreliable(unreliable);
    this.network.setLongDelays(true);
    this.#applier = snapshot
      ? (server, message, raft) => this.#applySnap(server, message, raft)
      : (server, message) => this.#applyPlain(server, message);
    for (let server = 0; server < n; server++) this.start1(server);
    for (let server = 0; server < n; server++) this.connect(server);
  }

  /** A fresh random whole number (the lab's `rand.Int()`), from the run's seeded source. */
  randomInt(): number {
    return this.simulation.random.int(2 ** 31);
  }

  /** A random string of `length` URL-safe base64 characters (the lab's `randstring`). */
  randomString(length: number): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let text = "";
    for (let index = 0; index < length; index++) {
      text += alphabet[this.simulation.random.int(alphabet.length)];
    }
    return text;
  }

  /** Resolves after `delayMs` of virtual time. */
  sleep(delayMs: number): Promise<void> {
    return this.simulation.sleep(delayMs);
  }

  /** Throws a {@linkcode LabFailure} with the lab's message. */
  fatal(message: string): never {
    throw new LabFailure(message);
  }

  // -------------------------------------------------------------------------------------------
  // Servers: crash, start, connect

  /** The lab's `crash1`: cut server `i` off, kill its peer, keep only what it persisted. */
  crash1(i: number): void {
    this.disconnect(i);
    this.network.deleteServer(serverName(i));
    // A copy, so the dead incarnation cannot change what the next one will read.
    const saved = this.#saved[i];
    if (saved !== null) this.#saved[i] = saved.copy();
    const raft = this.rafts[i];
    if (raft !== null) {
      raft.kill();
      this.rafts[i] = null;
    }
  }

  /**
   * The lab's `start1`: (re)start server `i` with fresh client ends (so the old incarnation's
   * calls go nowhere) and a copy of its persister, loading its persisted snapshot first.
   */
  start1(i: number): void {
    this.crash1(i);
    const generation = this.#endGeneration++;
    const endNames = Array.from({ length: this.n }, (_, j) => `end-${i}-${j}-${generation}`);
    this.#endNames[i] = endNames;
    const ends: RpcClient[] = endNames.map((endName, j) => {
      const end = this.network.makeEnd(endName);
      this.network.connect(endName, serverName(j));
      return end;
    });
    this.#lastApplied[i] = 0;
    const saved = this.#saved[i];
    let persister: Persister;
    if (saved !== null) {
      persister = saved.copy();
      const snapshot = persister.readSnapshot();
      if (snapshot !== null && snapshot.byteLength > 0) {
        const problem = this.#ingestSnapshot(i, snapshot, -1);
        if (problem !== "") this.fatal(problem);
      }
    } else {
      persister = new Persister();
    }
    this.#saved[i] = persister;
    // The peer never applies before make() returns: nothing is committed past its snapshot yet.
    let raft: LabRaft | null = null;
    const apply = (message: ApplyMessage) => {
      if (raft !== null) this.#applier(i, message, raft);
    };
    const onFatal = (error: unknown) =>
      this.simulation.fail(new LabFailure(`server ${i} stopped: ${errorText(error)}`));
    raft = make(ends, i, persister, apply, this.simulation, this.simulation.random, onFatal);
    this.rafts[i] = raft;
    this.network.addServer(serverName(i), raft.handlers);
    this.simulation.recorder?.peer(serverName(i), raft.state);
  }

  /** The lab's `connect`: enable the ends between server `i` and every connected server. */
  connect(i: number): void {
    this.connected[i] = true;
    for (let j = 0; j < this.n; j++) {
      if (!this.connected[j]) continue;
      const outgoing = this.#endNames[i];
      if (outgoing !== null) this.network.enable(outgoing[j], true);
      const incoming = this.#endNames[j];
      if (incoming !== null) this.network.enable(incoming[i], true);
    }
  }

  /** The lab's `disconnect`: disable every end from and to server `i`. */
  disconnect(i: number): void {
    this.connected[i] = false;
    for (let j = 0; j < this.n; j++) {
      const outgoing = this.#endNames[i];
      if (outgoing !== null) this.network.enable(outgoing[j], false);
      const incoming = this.#endNames[j];
      if (incoming !== null) this.network.enable(incoming[i], false);
    }
  }

  /** Unreliable: requests and replies are delayed and sometimes lost. */
  setUnreliable(unreliable: boolean): void {
    this.network.setReliable(!unreliable);
  }

  /** Long reordering: most replies are delayed 200 to 2200 ms. */
  setLongReordering(on: boolean): void {
    this.network.setLongReordering(on);
  }

  /** RPCs server `i` received. */
  rpcCount(i: number): number {
    return this.network.getCount(serverName(i));
  }

  /** RPCs sent by anyone. */
  rpcTotal(): number {
    return this.network.getTotalCount();
  }

  /** Bytes of every request and reply. */
  bytesTotal(): number {
    return this.network.getTotalBytes();
  }

  /** The most bytes of Raft state any server has persisted (the lab's `LogSize`). */
  logSize(): number {
    let size = 0;
    for (const saved of this.#saved) size = Math.max(size, saved?.raftStateSize() ?? 0);
    return size;
  }

  // -------------------------------------------------------------------------------------------
  // Appliers

  /** Records command `value` at `index` for server `i`: the lab's `checkLogs`. */
  #checkLogs(i: number, index: number, value: unknown): { problem: string; previousOk: boolean } {
    let problem = "";
    for (let j = 0; j < this.#logs.length; j++) {
      const log = this.#logs[j];
      if (log.has(index) && log.get(index) !== value) {
        // Some server has already committed a different value for this entry.
        problem = `commit index=${index} server=${i} ${show(value)} != server=${j} ${
          show(log.get(index))
        }`;
      }
    }
    const previousOk = this.#logs[i].has(index - 1);
    this.#logs[i].set(index, value);
    if (index > this.#maxIndex) this.#maxIndex = index;
    return { problem, previousOk };
  }

  /** The lab's `applier`: checks each command against what other servers applied. */
  #applyPlain(i: number, message: ApplyMessage): void {
    if (!("commandValid" in message)) return;
    const checked = this.#checkLogs(i, message.commandIndex, message.command);
    let problem = checked.problem;
    if (message.commandIndex > 1 && !checked.previousOk) {
      problem = `server ${i} apply out of order ${message.commandIndex}`;
    }
    if (problem !== "") this.#applyFailed(i, problem);
  }

  /** The lab's `applierSnap`: also checks order, and snapshots every SNAPSHOT_INTERVAL. */
  #applySnap(i: number, message: ApplyMessage, raft: LabRaft): void {
    let problem = "";
    if ("snapshotValid" in message) {
      problem = this.#ingestSnapshot(i, message.snapshot, message.snapshotIndex);
    } else if ("membershipValid" in message) {
      problem = `server ${i} applied a membership entry at ${message.membershipIndex}`;
    } else {
      const index = message.commandIndex;
      if (index !== this.#lastApplied[i] + 1) {
        problem = `server ${i} apply out of order, expected index ${
          this.#lastApplied[i] + 1
        }, got ${index}`;
      }
      if (problem === "") {
        const checked = this.#checkLogs(i, index, message.command);
        problem = checked.problem;
        if (index > 1 && !checked.previousOk) problem = `server ${i} apply out of order ${index}`;
      }
      this.#lastApplied[i] = index;
      if ((index + 1) % SNAPSHOT_INTERVAL === 0) {
        const commands: unknown[] = [];
        for (let j = 0; j <= index; j++) commands.push(this.#logs[i].get(j) ?? null);
        raft.snapshot(index, encode([index, commands]));
      }
    }
    if (problem !== "") this.#applyFailed(i, problem);
  }

  #applyFailed(i: number, problem: string): void {
    if (this.#applyErrors[i] === "") this.#applyErrors[i] = problem;
    this.simulation.fail(new LabFailure(`apply error: ${problem}`));
  }

  /** The lab's `ingestSnap`: replaces server `i`'s applied log with the snapshot's; "" if fine. */
  #ingestSnapshot(i: number, snapshot: Uint8Array, index: number): string {
    let decoded: unknown;
    try {
      decoded = decode(snapshot);
    } catch (error) {
      return `snapshot Decode() error: ${errorText(error)}`;
    }
    if (
      !Array.isArray(decoded) || decoded.length !== 2 || !Number.isSafeInteger(decoded[0]) ||
      !Array.isArray(decoded[1])
    ) return "snapshot Decode() error";
    const [lastIncludedIndex, commands] = decoded as [number, unknown[]];
    if (index !== -1 && index !== lastIncludedIndex) {
      return `server ${i} snapshot doesn't match m.SnapshotIndex`;
    }
    const log = new Map<number, unknown>();
    for (let j = 0; j < commands.length; j++) log.set(j, commands[j]);
    this.#logs[i] = log;
    this.#lastApplied[i] = lastIncludedIndex;
    return "";
  }

  // -------------------------------------------------------------------------------------------
  // Checks

  /** The lab's `checkOneLeader`: one connected leader in the latest term with one, or fatal. */
  async checkOneLeader(): Promise<number> {
    for (let iteration = 0; iteration < 10; iteration++) {
      await this.sleep(450 + this.simulation.random.int(100));
      const leaders = new Map<number, number[]>();
      for (let i = 0; i < this.n; i++) {
        const raft = this.rafts[i];
        if (!this.connected[i] || raft === null) continue;
        const { term, isLeader } = raft.getState();
        if (isLeader) leaders.set(term, [...(leaders.get(term) ?? []), i]);
      }
      let lastTermWithLeader = -1;
      for (const [term, termLeaders] of leaders) {
        if (termLeaders.length > 1) {
          this.fatal(`term ${term} has ${termLeaders.length} (>1) leaders`);
        }
        lastTermWithLeader = Math.max(lastTermWithLeader, term);
      }
      if (leaders.size !== 0) return (leaders.get(lastTermWithLeader) as number[])[0];
    }
    this.fatal("expected one leader, got none");
  }

  /** The lab's `checkTerms`: every connected server is in the same term; returns it. */
  checkTerms(): number {
    let term = -1;
    for (let i = 0; i < this.n; i++) {
      const raft = this.rafts[i];
      if (!this.connected[i] || raft === null) continue;
      const serverTerm = raft.getState().term;
      if (term === -1) term = serverTerm;
      else if (term !== serverTerm) this.fatal("servers disagree on term");
    }
    return term;
  }

  /** The lab's `checkNoLeader`: no connected server believes it leads. */
  checkNoLeader(): void {
    for (let i = 0; i < this.n; i++) {
      const raft = this.rafts[i];
      if (this.connected[i] && raft !== null && raft.getState().isLeader) {
        this.fatal(`expected no leader among connected servers, but ${i} claims to be leader`);
      }
    }
  }

  /** The lab's `nCommitted`: how many servers applied `index`, and the command. */
  nCommitted(index: number): { count: number; command: unknown } {
    let count = 0;
    let command: unknown = null;
    for (let i = 0; i < this.rafts.length; i++) {
      if (this.#applyErrors[i] !== "") this.fatal(this.#applyErrors[i]);
      const log = this.#logs[i];
      if (!log.has(index)) continue;
      const applied = log.get(index);
      if (count > 0 && command !== applied) {
        this.fatal(
          `committed values do not match: index ${index}, ${show(command)}, ${show(applied)}`,
        );
      }
      count++;
      command = applied;
    }
    return { count, command };
  }

  /**
   * The lab's `wait`: waits (10 ms doubling to 1 s, 30 times) for `n` servers to apply `index`;
   * returns -1 early when some peer passed `startTerm` (unless it is -1), else the command.
   */
  async wait(index: number, n: number, startTerm: number): Promise<unknown> {
    let delayMs = 10;
    for (let iteration = 0; iteration < 30; iteration++) {
      if (this.nCommitted(index).count >= n) break;
      await this.sleep(delayMs);
      if (delayMs < 1000) delayMs *= 2;
      if (startTerm > -1) {
        for (const raft of this.rafts) {
          // Someone has moved on: the test can no longer count on winning.
          if (raft !== null && raft.getState().term > startTerm) return -1;
        }
      }
    }
    const { count, command } = this.nCommitted(index);
    if (count < n) this.fatal(`only ${count} decided for index ${index}; wanted ${n}`);
    return command;
  }

  /**
   * The lab's `one`: a complete agreement on `command` by at least `expectedServers`, trying
   * each server in turn as leader, for up to 10 s; with `retry`, resubmits after a failed
   * 2 s attempt. Returns the index.
   */
  async one(command: unknown, expectedServers: number, retry: boolean): Promise<number> {
    const t0 = this.simulation.now();
    let starts = 0;
    while (this.simulation.now() - t0 < ONE_TIMEOUT_MS && !this.#finished) {
      let index = -1;
      for (let attempt = 0; attempt < this.n; attempt++) {
        starts = (starts + 1) % this.n;
        const raft = this.connected[starts] ? this.rafts[starts] : null;
        if (raft === null) continue;
        const started = raft.start(command);
        if (started.isLeader) {
          index = started.index;
          break;
        }
      }
      if (index === -1) {
        await this.sleep(50);
        continue;
      }
      // Somebody claimed to be the leader and to have submitted the command: wait for it.
      const t1 = this.simulation.now();
      while (this.simulation.now() - t1 < ONE_ATTEMPT_MS) {
        const { count, command: applied } = this.nCommitted(index);
        if (count > 0 && count >= expectedServers && applied === command) return index;
        await this.sleep(20);
      }
      if (!retry) this.fatal(`one(${show(command)}) failed to reach agreement`);
    }
    if (!this.#finished) this.fatal(`one(${show(command)}) failed to reach agreement`);
    return -1;
  }

  // -------------------------------------------------------------------------------------------
  // Test bracketing

  /** The lab's `begin`: notes the counters the result line reports. */
  begin(label: string): void {
    this.#label = label;
    this.#t0 = this.simulation.now();
    this.#rpcs0 = this.rpcTotal();
    this.#bytes0 = this.bytesTotal();
    this.#maxIndex0 = this.#maxIndex;
  }

  /** The lab's `end`: checks the time limit and prints the result line. */
  end(): void {
    this.#checkTimeout();
    const seconds = (this.simulation.now() - this.#t0) / 1000;
    const rpcs = this.rpcTotal() - this.#rpcs0;
    const bytes = this.bytesTotal() - this.#bytes0;
    const commits = this.#maxIndex - this.#maxIndex0;
    this.#context.log(
      `${this.#label} ...  Passed -- ${seconds.toFixed(1).padStart(5)} ${this.n} ${
        String(rpcs).padStart(4)
      } ${String(bytes).padStart(7)} ${
        String(commits).padStart(4)
      }  (seed ${this.#context.seed}, trace ${this.simulation.traceHash()})`,
    );
  }

  /** The lab's `cleanup`: kills every peer and shuts the network (`end` checks the time). */
  cleanup(): void {
    this.#finished = true;
    for (const raft of this.rafts) raft?.kill();
    this.network.cleanup();
  }

  #checkTimeout(): void {
    if (this.simulation.now() - this.#startMs > TEST_TIME_LIMIT_MS) {
      this.fatal(`test took longer than ${TEST_TIME_LIMIT_MS / 1000} seconds`);
    }
  }
}

/**
 * Runs one lab test: a fresh simulation from the context's seed, a config of `servers` peers,
 * and `body` on virtual time; cleans up whatever happens. A failure carries the trace hash and
 * virtual time, so a replay with the same seed can be confirmed.
 */
export async function runRaftTest(
  context: TestContext,
  options: { servers: number; unreliable: boolean; snapshot: boolean },
  body: (config: RaftConfig) => Promise<void>,
): Promise<void> {
  await runOnSimulation(
    context,
    (simulation) =>
      new RaftConfig(
        simulation,
        context,
        options.servers,
        options.unreliable,
        options.snapshot,
      ),
    body,
  );
}

function serverName(i: number): string {
  return `server-${i}`;
}

/** A command as the lab's `%v` would show it, shortened: a 5000-character string is noise. */
function show(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
