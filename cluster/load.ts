/**
 * The client load of the fault tests of real processes: `kv shell` clients append unique values
 * and read, on a few shared keys, while the test's faults run; afterwards a fresh shell reads
 * every key, and the check finds every acknowledged append kept once and in order, and the whole
 * history linearizable.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Random, SeededRandom } from "../util/random.ts";
import { assertLinearizable, type Operation } from "../linearizability/mod.ts";
import { appendValue, auditAppends, type IssuedAppend } from "./append_audit.ts";
import type { ShellResult } from "../kv_cli/kv.ts";
import type { Consistency } from "../kv/mod.ts";
import type { ProcessCluster } from "./process_cluster.ts";
import { type KvShell, toOperation } from "./kv_clients.ts";

/** Concurrent `kv shell` clients of a load. */
const LOAD_CLIENTS = 3;
/** Keys the clients share, so their operations contend. */
const LOAD_KEYS = ["a", "b", "c", "d"];
/** Most operations one client runs in one load: a bound on the history's size. */
const MAX_OPERATIONS_PER_CLIENT = 20_000;
/** How long the final reads may wait for an answer: the cluster has settled by then. */
const FINAL_READ_TIMEOUT_SECONDS = 20;
/** Budget of the linearizability check. */
const CHECK_TIMEOUT_MS = 60_000;

/** What one client of the load did. */
export interface ClientLog {
  readonly results: ShellResult[];
  readonly appends: IssuedAppend[];
}

/** How the clients of a load reach the cluster. */
export interface LoadOptions {
  /** Seeds each client's choice of keys and operations. */
  readonly seed: number;
  /** A shell gives an operation up after this long; it then counts as unknown outcome. */
  readonly timeoutSeconds: number;
  /** The addresses the clients' clerks try; default the nodes that set the cluster up. */
  readonly servers?: readonly string[];
  /** The consistencies the clients' gets draw from, evenly; default linearizable only. */
  readonly readConsistencies?: readonly Consistency[];
}

/**
 * Runs {@linkcode LOAD_CLIENTS} shell clients of the cluster while `faults` runs, then stops
 * them and returns what each did and what `faults` returned.
 */
export async function underLoad<Outcome>(
  cluster: ProcessCluster,
  options: LoadOptions,
  faults: () => Promise<Outcome>,
): Promise<{ logs: ClientLog[]; outcome: Outcome }> {
  const servers = options.servers ?? cluster.clientAddresses();
  const shells = Array.from(
    { length: LOAD_CLIENTS },
    () => cluster.startShell(servers, options.timeoutSeconds),
  );
  let stopping = false;
  const consistencies = options.readConsistencies ?? ["linearizable"];
  const clients = shells.map((shell, index) => {
    const random = new SeededRandom(options.seed * 101 + index + 1);
    return runLoadClient(shell, index, { random, consistencies }, () => stopping);
  });
  let outcome: Outcome;
  try {
    outcome = await faults();
  } finally {
    stopping = true;
    // Let every client finish its operation before the cluster goes away, even on failure.
    await Promise.allSettled(clients);
  }
  const logs = await Promise.all(clients);
  await Promise.all(shells.map((shell) => shell.close()));
  return { logs, outcome };
}

/** How a client of a load draws its operations. */
export interface ClientChoices {
  /** Draws keys, operations and consistencies. */
  readonly random: Random;
  /** The consistencies its gets draw from, evenly. */
  readonly consistencies: readonly Consistency[];
  /** The share of its operations that are gets; default {@linkcode DEFAULT_READ_SHARE}. */
  readonly readShare?: number;
}

/** The share of a load client's operations that are gets, unless it says otherwise. */
const DEFAULT_READ_SHARE = 0.3;

/**
 * One client: appends unique values and reads, on shared keys, until told to stop. `client`
 * numbers its appends' values: it must differ between the clients of one history.
 */
export async function runLoadClient(
  shell: KvShell,
  client: number,
  choices: ClientChoices,
  stopping: () => boolean,
): Promise<ClientLog> {
  const { random, consistencies } = choices;
  const readShare = choices.readShare ?? DEFAULT_READ_SHARE;
  const results: ShellResult[] = [];
  const appends: IssuedAppend[] = [];
  for (let sequence = 0; sequence < MAX_OPERATIONS_PER_CLIENT && !stopping(); sequence++) {
    const key = LOAD_KEYS[random.int(LOAD_KEYS.length)];
    if (random.next() < readShare) {
      const consistency = consistencies[random.int(consistencies.length)];
      results.push(await shell.run("get", key, consistency));
      continue;
    }
    const value = appendValue(client, sequence);
    const result = await shell.run("append", key, value);
    results.push(result);
    appends.push({ client, sequence, key, value, acknowledged: result.ok });
  }
  return { results, appends };
}

/**
 * Reads every key once more through a fresh shell of `servers` (default the nodes that set the
 * cluster up), after the cluster has settled; each read must succeed.
 */
export async function finalReads(
  cluster: ProcessCluster,
  servers: readonly string[] = cluster.clientAddresses(),
): Promise<ShellResult[]> {
  const shell = cluster.startShell(servers, FINAL_READ_TIMEOUT_SECONDS);
  const results: ShellResult[] = [];
  for (const key of LOAD_KEYS) {
    const result = await shell.run("get", key);
    assert(result.ok, `The final read of key ${key} failed on a settled cluster`);
    results.push(result);
  }
  await shell.close();
  return results;
}

/** What the check of a load found: all of it held, or it would have thrown. */
export interface LoadCheck {
  /** Operations in the history, final reads included. */
  readonly operations: number;
  /** Acknowledged appends, every one found exactly once. */
  readonly acknowledgedAppends: number;
  /** Operations of unknown outcome. */
  readonly unknownOperations: number;
  /** Appends of unknown outcome found in the final values, and those that never took effect. */
  readonly unknownAppendsApplied: number;
  readonly unknownAppendsLost: number;
  /** How long the linearizability check took. */
  readonly checkMs: number;
}

/**
 * Checks a load: every client got some append acknowledged, the final values keep every
 * acknowledged append once and in order, and the history with the final reads is linearizable.
 * Serializable gets may be stale: they are left out of the history. Throws naming the first
 * violation.
 */
export function checkLoad(logs: readonly ClientLog[], finals: readonly ShellResult[]): LoadCheck {
  for (const [client, log] of logs.entries()) {
    const acknowledged = log.appends.filter((append) => append.acknowledged).length;
    assert(acknowledged > 0, `Client ${client} got no append acknowledged in the whole run`);
  }
  const finalValues = new Map(finals.map((result) => [result.key, result.output]));
  const audit = auditAppends(logs.flatMap((log) => log.appends), finalValues);
  const results = [...logs.flatMap((log) => log.results), ...finals];
  const history: Operation[] = results.filter((result) => result.consistency !== "serializable")
    .map(toOperation);
  const checkStartedMs = performance.now();
  assertLinearizable(history, { timeoutMs: CHECK_TIMEOUT_MS });
  return {
    operations: history.length,
    acknowledgedAppends: audit.acknowledged,
    unknownOperations: history.filter((operation) => operation.returnMs === Infinity).length,
    unknownAppendsApplied: audit.unknownApplied,
    unknownAppendsLost: audit.unknownLost,
    checkMs: performance.now() - checkStartedMs,
  };
}

/** Waits `delayMs`: a fault schedule's pause, never a wait for a state. */
export function pause(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}
