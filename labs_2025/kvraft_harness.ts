/**
 * The 2025 lab's replicated key/value tester (kvraft1/test.go), as the 2022 lab's harness
 * (`labs/kv_harness.ts`: servers on our Raft, partitions, crashes, snapshots) with the versioned
 * clerk's operations recorded for the versioned model's check.
 *
 * @module
 */
import type { Clerk } from "../kv/clerk.ts";
import type { Simulation } from "../sim/simulation.ts";
import { type KvConfig, runKvTest } from "../labs/kv_harness.ts";
import type { TestContext } from "../labs/suite.ts";
import type { KvTester } from "./kv_tester.ts";
import { VersionedHistory } from "./versioned_history.ts";

/** The lab's `MakeTest` parameters. */
export interface KvraftOptions {
  readonly servers: number;
  readonly reliable: boolean;
  readonly maxraftstate: number;
}

/** A replicated group as the shared steps see it; `cfg` does the rest (partitions, crashes). */
export class KvraftTester implements KvTester {
  /** The 2022 harness underneath. */
  readonly cfg: KvConfig;
  /** Every recorded operation. */
  readonly history: VersionedHistory;
  /** Whether the network is reliable. */
  readonly reliable: boolean;

  /** A tester over `cfg`, whose network is `reliable` or not. */
  constructor(cfg: KvConfig, reliable: boolean) {
    this.cfg = cfg;
    this.reliable = reliable;
    this.history = new VersionedHistory(cfg.simulation);
  }

  /** The simulation the group runs on. */
  get simulation(): Simulation {
    return this.cfg.simulation;
  }

  /** Whether cleanup ran. */
  get finished(): boolean {
    return this.cfg.finished;
  }

  /** The lab's `MakeClerk`: a clerk reaching every server. */
  makeClerk(): Clerk {
    return this.cfg.makeClient(this.cfg.all());
  }

  /** The lab's `MakeClerkTo`: a clerk reaching only the servers of `to`. */
  makeClerkTo(to: readonly number[]): Clerk {
    return this.cfg.makeClient(to);
  }

  /** The lab's `DeleteClerk`. */
  deleteClerk(clerk: Clerk): void {
    this.cfg.deleteClient(clerk);
  }

  /** The clerk's number in order of creation. */
  clientNumber(clerk: Clerk): number {
    return this.cfg.clientNumber(clerk);
  }

  /** Counts an operation for the result line. */
  countOperation(): void {
    this.cfg.countOperation();
  }

  /** Resolves after `delayMs` of virtual time. */
  sleep(delayMs: number): Promise<void> {
    return this.cfg.sleep(delayMs);
  }

  /** A random whole number below `bound`, from the run's seeded source. */
  randomInt(bound: number): number {
    return this.cfg.randomInt(bound);
  }

  /** Prints one line of the test's output. */
  log(line: string): void {
    this.cfg.log(line);
  }

  /** Fails the test with the lab's message. */
  fatal(message: string): never {
    this.cfg.fatal(message);
  }

  /** The lab's `Begin`: the title with the network's kind. */
  begin(title: string): void {
    this.cfg.begin(`${title} (${this.reliable ? "reliable" : "unreliable"} network)`);
  }
}

/** Runs one kvraft1 test: a fresh simulation, a group of key/value servers, and `body`. */
export async function runKvraftTest(
  context: TestContext,
  options: KvraftOptions,
  body: (t: KvraftTester) => Promise<void>,
): Promise<void> {
  await runKvTest(context, {
    servers: options.servers,
    unreliable: !options.reliable,
    maxraftstate: options.maxraftstate,
  }, (cfg) => body(new KvraftTester(cfg, options.reliable)));
}
