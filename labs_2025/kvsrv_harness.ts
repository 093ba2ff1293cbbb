/**
 * The 2025 lab's single-server key/value tester (kvsrv1/test.go on tester1), ported to the
 * simulation: one key/value server on a {@linkcode SimNetwork}, clerks with one end each, the
 * lab's result line, and a history of every recorded operation for the linearizability check.
 *
 * The server is the lab's kvsrv: no Raft, and no table of clients' last requests. Each request
 * that reaches it is applied to a {@linkcode KvStateMachine} as a new operation, so a
 * retransmitted Put is refused by its version alone (ErrVersion, which the clerk reports as
 * ErrMaybe), as in the lab. A {@linkcode KvServer} on a one-peer Raft would answer a retransmission
 * from its duplicate table instead, so no Put would ever come back ErrMaybe and the lab's
 * unreliable-network test could not pass; and a one-peer Raft log of the memory test's 200,000
 * Puts would be persisted whole after every append.
 *
 * The network has labrpc's semantics plus a per-message latency of {@linkcode MIN_LATENCY_MS} to
 * {@linkcode MAX_LATENCY_MS}: without it a client looping on a reliable network would never let
 * virtual time move. It is a tenth of the replicated harness's, since there is no Raft round to
 * wait for: one operation takes about half a millisecond, so the memory test's 200,000 Puts fit
 * the lab's two-minute limit, as they do on the lab's in-process network.
 *
 * @module
 */
import type { RpcHandlers } from "../rpc/types.ts";
import { SimNetwork } from "../sim/network.ts";
import type { Simulation } from "../sim/simulation.ts";
import { Clerk } from "../kv/clerk.ts";
import { commandProblem, type KvCommand } from "../kv/command.ts";
import { KV_OPERATION_METHOD, type KvReply } from "../kv/protocol.ts";
import { KvStateMachine } from "../kv/state_machine.ts";
import { kvResultLine } from "../labs/kv_harness.ts";
import type { TestContext } from "../labs/suite.ts";
import { LabFailure, runOnSimulation, TEST_TIME_LIMIT_MS } from "../labs/lab_simulation.ts";
import type { KvTester } from "./kv_tester.ts";
import { VersionedHistory } from "./versioned_history.ts";

/** The shortest time one message (request or reply) takes to travel. */
export const MIN_LATENCY_MS = 0.1;
/** The longest time one message takes to travel. */
export const MAX_LATENCY_MS = 0.4;
/** The server's name on the network. */
const SERVER_NAME = "kvsrv";
/** The client id the server applies every request under: it keeps no table of clients. */
const SERVER_CLIENT_ID = 0;

/** The lab's kvsrv: Get and versioned Put on one state machine, without a duplicate table. */
class LabKvServer {
  readonly handlers: RpcHandlers = {
    [KV_OPERATION_METHOD]: (args: unknown) => this.#operate(args),
  };
  readonly #machine = new KvStateMachine({ historyRevisions: 0 });

  /** Bytes of the server's whole state, as its snapshot holds it. */
  stateBytes(): number {
    return this.#machine.encodeSnapshot().byteLength;
  }

  #operate(args: unknown): KvReply {
    const problem = commandProblem(args);
    if (problem !== null) throw new Error(`The kvsrv refused an operation: ${problem}`);
    const command = args as KvCommand;
    if (command.kind === "get") return this.#machine.read(command);
    if (command.kind !== "put" || command.version === undefined) {
      throw new Error(
        `The kvsrv has only Get and versioned Put, not an unversioned ${command.kind}`,
      );
    }
    // Every arrival is a new operation under one client: a retransmission is not recognised.
    const index = this.#machine.appliedIndex + 1;
    return this.#machine.apply(index, {
      ...command,
      clientId: SERVER_CLIENT_ID,
      sequence: index,
    });
  }
}

/** The lab's kvsrv `TestKV`: one server and its clerks on one simulated network. */
export class KvsrvConfig implements KvTester {
  /** The simulation everything runs on. */
  readonly simulation: Simulation;
  /** The simulated network. */
  readonly network: SimNetwork;
  /** Every recorded operation. */
  readonly history: VersionedHistory;
  /** Whether the network is reliable. */
  readonly reliable: boolean;
  readonly #context: TestContext;
  readonly #server = new LabKvServer();
  readonly #clerks = new Map<Clerk, { number: number; endName: string }>();
  readonly #startMs: number;
  #finished = false;
  #ops = 0;
  #t0 = 0;
  #rpcs0 = 0;
  #label = "";

  /** The lab's `MakeTestKV`: the server, started, on a reliable or unreliable network. */
  constructor(simulation: Simulation, context: TestContext, reliable: boolean) {
    this.simulation = simulation;
    this.#context = context;
    this.reliable = reliable;
    this.network = new SimNetwork(simulation);
    this.network.setLatency(MIN_LATENCY_MS, MAX_LATENCY_MS);
    this.network.setReliable(reliable);
    this.network.addServer(SERVER_NAME, this.#server.handlers);
    this.history = new VersionedHistory(simulation);
    this.#startMs = simulation.now();
  }

  /** The lab's `MakeClerk`: a clerk with its own end to the server. */
  makeClerk(): Clerk {
    const number = this.#clerks.size;
    const endName = `clerk-${number}`;
    const end = this.network.makeEnd(endName);
    this.network.connect(endName, SERVER_NAME);
    this.network.enable(endName, true);
    const clerk = new Clerk([end], this.simulation, this.simulation.random);
    this.#clerks.set(clerk, { number, endName });
    return clerk;
  }

  /** The lab's `DeleteClerk`: the clerk stops retrying and its end goes dark. */
  deleteClerk(clerk: Clerk): void {
    clerk.close();
    this.network.enable(this.#entry(clerk).endName, false);
  }

  /** The clerk's number in order of creation. */
  clientNumber(clerk: Clerk): number {
    return this.#entry(clerk).number;
  }

  #entry(clerk: Clerk): { number: number; endName: string } {
    const entry = this.#clerks.get(clerk);
    if (entry === undefined) throw new Error(`Clerk ${clerk.clientId} is not the tester's`);
    return entry;
  }

  /** Bytes of the server's whole state (keys, versions, what it remembers of clients). */
  serverStateBytes(): number {
    return this.#server.stateBytes();
  }

  /** Counts an operation for the result line. */
  countOperation(): void {
    this.#ops++;
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

  /** The lab's `Begin`: the title (with the network's kind) and the counters' starting points. */
  begin(title: string): void {
    this.#label = `${title} (${this.reliable ? "reliable" : "unreliable"} network)`;
    this.#t0 = this.simulation.now();
    this.#rpcs0 = this.network.getTotalCount();
    this.#ops = 0;
  }

  /** The lab's `End`: checks the time limit and prints the result line. */
  end(): void {
    if (this.simulation.now() - this.#startMs > TEST_TIME_LIMIT_MS) {
      this.fatal(`test took longer than ${TEST_TIME_LIMIT_MS / 1000} seconds`);
    }
    const seconds = (this.simulation.now() - this.#t0) / 1000;
    const rpcs = this.network.getTotalCount() - this.#rpcs0;
    this.log(kvResultLine(this.#label, { seconds, peers: 1, rpcs, ops: this.#ops }, this.#context));
  }

  /** Whether `cleanup` ran. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The lab's `Cleanup`: stops every clerk and shuts the network. */
  cleanup(): void {
    this.#finished = true;
    for (const clerk of this.#clerks.keys()) clerk.close();
    this.network.cleanup();
  }
}

/** Runs one kvsrv test on a fresh simulation from the context's seed. */
export async function runKvsrvTest(
  context: TestContext,
  reliable: boolean,
  body: (config: KvsrvConfig) => Promise<void>,
): Promise<void> {
  await runOnSimulation(
    context,
    (simulation) => new KvsrvConfig(simulation, context, reliable),
    body,
  );
}
