/**
 * The 2025 lab's shared key/value test steps (kvtest1/kvtest.go), ported for both of its
 * harnesses, the single server (`kvsrv_harness.ts`) and the replicated group
 * (`kvraft_harness.ts`): recorded Gets and Puts, Puts retried until one lands, clients racing to
 * put to the same keys, and the check that the server's version counts exactly the Puts that
 * answered OK (or, where the network may lose replies, no more than OK and ErrMaybe together).
 *
 * Values are JSON, as the lab's (`PutJson`, `GetJson`). Where the lab's `OnePut` means to check
 * that a Put which answered OK and is still the latest wrote this client's entry (its condition
 * has `&&` where it means `||`), this port checks it.
 *
 * @module
 */
import { type Clerk, ERR_MAYBE, type PutOutcome } from "../kv/clerk.ts";
import { ERR_VERSION, OK } from "../kv/protocol.ts";
import type { Simulation } from "../sim/simulation.ts";
import { errorText } from "../util/error_text.ts";
import { CHECK_TIMEOUT_MS } from "../labs/kv_harness.ts";
import type { VersionedGet, VersionedHistory } from "./versioned_history.ts";

/** What the shared steps need of a harness. */
export interface KvTester {
  readonly simulation: Simulation;
  /** Every recorded operation, checked for linearizability at the end of a test. */
  readonly history: VersionedHistory;
  /** The lab's `IsReliable`: the network neither drops nor delays messages. */
  readonly reliable: boolean;
  /** Whether cleanup ran: clerks still running then fail only because the network closed. */
  readonly finished: boolean;
  /** The lab's `MakeClerk`: a clerk reaching every server. */
  makeClerk(): Clerk;
  /** The lab's `DeleteClerk`. */
  deleteClerk(clerk: Clerk): void;
  /** The clerk's number in order of creation: its client in the history. */
  clientNumber(clerk: Clerk): number;
  /** Counts an operation for the result line. */
  countOperation(): void;
  sleep(delayMs: number): Promise<void>;
  randomInt(bound: number): number;
  /** Prints one line of the test's output. */
  log(line: string): void;
  /** Fails the test with the lab's message. */
  fatal(message: string): never;
}

/** What one client's Puts came to: the lab's `ClntRes`. */
export interface ClientResult {
  /** Puts that answered OK. */
  ok: number;
  /** Puts that answered ErrMaybe. */
  maybe: number;
}

/** The value the racing clients put: who put it, at which version (the lab's `EntryV`). */
interface Entry {
  readonly id: number;
  readonly version: number;
}

/** The lab's `ts.Get`: a recorded, counted Get. */
export async function get(t: KvTester, clerk: Clerk, key: string): Promise<VersionedGet> {
  const got = await t.history.get(clerk, t.clientNumber(clerk), key);
  t.countOperation();
  return got;
}

/** The lab's `ts.Put`: a recorded, counted Put. */
export async function put(
  t: KvTester,
  clerk: Clerk,
  key: string,
  value: string,
  version: number,
): Promise<PutOutcome> {
  const outcome = await t.history.put(clerk, t.clientNumber(clerk), key, value, version);
  t.countOperation();
  return outcome;
}

/** The lab's `GetJson`: the value of `key`, which must exist and hold JSON, and its version. */
export async function getJson(
  t: KvTester,
  clerk: Clerk,
  key: string,
): Promise<{ value: unknown; version: number }> {
  const got = await get(t, clerk, key);
  if (got.err !== OK) t.fatal(`Get ${JSON.stringify(key)} err ${got.err}`);
  try {
    return { value: JSON.parse(got.value), version: got.version };
  } catch {
    t.fatal(`Get ${JSON.stringify(key)} read ${JSON.stringify(got.value)}, which is not JSON`);
  }
}

/** The lab's `PutJson`. */
export function putJson(
  t: KvTester,
  clerk: Clerk,
  key: string,
  value: unknown,
  version: number,
): Promise<PutOutcome> {
  return put(t, clerk, key, JSON.stringify(value), version);
}

/**
 * The lab's `PutAtLeastOnce`, for a key only this clerk writes: Puts `value` at `version`, then
 * at the next versions while the Put answers ErrVersion or ErrMaybe, until one answers OK;
 * returns the version that Put made.
 */
export async function putAtLeastOnce(
  t: KvTester,
  clerk: Clerk,
  key: string,
  value: string,
  version: number,
): Promise<number> {
  // Bounded: each refused Put moves to the next version, and the key's version is finite.
  for (let at = version;; at++) {
    const outcome = await put(t, clerk, key, value, at);
    if (outcome === OK) return at + 1;
    if (outcome !== ERR_VERSION && outcome !== ERR_MAYBE) {
      t.fatal(`Put ${JSON.stringify(key)} version ${at} err ${outcome}`);
    }
  }
}

/** The lab's `CheckGet`: a Get of `key` must read `value` at `version`. */
export async function checkGet(
  t: KvTester,
  clerk: Clerk,
  key: string,
  value: string,
  version: number,
): Promise<void> {
  const got = await get(t, clerk, key);
  if (got.err !== OK) t.fatal(`Get(${key}) returns error = ${got.err}`);
  if (got.value !== value || got.version !== version) {
    t.fatal(`Get(${key}) returns (${got.value}, ${got.version}) != (${value}, ${version})`);
  }
}

function isEntry(value: unknown): value is Entry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return Number.isSafeInteger(entry.id) && Number.isSafeInteger(entry.version);
}

/**
 * The lab's `OnePut`: client `me` Puts its entry at `version` until a Put answers OK or ErrMaybe
 * (ErrVersion: another client got in first; read the version and try again). Returns the
 * version read after the Put and whether it answered OK.
 */
async function onePut(
  t: KvTester,
  clerk: Clerk,
  me: number,
  key: string,
  version: number,
): Promise<{ version: number; ok: boolean }> {
  // Bounded by the clients' progress: each ErrVersion means another client's Put landed.
  for (let at = version;;) {
    const outcome = await putJson(t, clerk, key, { id: me, version: at }, at);
    if (outcome !== OK && outcome !== ERR_VERSION && outcome !== ERR_MAYBE) {
      t.fatal(`Wrong error ${outcome}`);
    }
    const read = await getJson(t, clerk, key);
    if (!isEntry(read.value)) t.fatal(`Get ${key} read ${JSON.stringify(read.value)}`);
    if (outcome === OK && read.version === at + 1) {
      // Still the latest version: the entry is the one this Put wrote.
      if (read.value.id !== me || read.value.version !== at) {
        t.fatal(`Wrong value ${JSON.stringify(read.value)} after ${me}'s Put at ${at}`);
      }
    }
    at = read.version;
    if (outcome === OK || outcome === ERR_MAYBE) return { version: at, ok: outcome === OK };
  }
}

/** The lab's `OneClientPut`: `onePut`s to the first key (or a random one) until `done`. */
export async function oneClientPut(
  t: KvTester,
  clerk: Clerk,
  me: number,
  keys: readonly string[],
  randomKeys: boolean,
  done: () => boolean,
): Promise<ClientResult> {
  const result: ClientResult = { ok: 0, maybe: 0 };
  const versions = new Map(keys.map((key) => [key, 0]));
  while (!done()) {
    const key = randomKeys ? keys[t.randomInt(keys.length)] : keys[0];
    const put = await onePut(t, clerk, me, key, versions.get(key)!);
    versions.set(key, put.version);
    if (put.ok) result.ok++;
    else result.maybe++;
  }
  return result;
}

/**
 * The lab's `CheckPutConcurrent`: adds `results` to `total`, and the key's version must equal
 * the OK Puts (`reliable`: every Put that happened answered OK) or at least not exceed the OK
 * and ErrMaybe Puts together.
 */
export async function checkPutConcurrent(
  t: KvTester,
  clerk: Clerk,
  key: string,
  results: readonly ClientResult[],
  total: ClientResult,
  reliable: boolean,
): Promise<void> {
  const { version } = await getJson(t, clerk, key);
  for (const result of results) {
    total.ok += result.ok;
    total.maybe += result.maybe;
  }
  const clients = `clients ${total.ok} OK, ${total.maybe} ErrMaybe`;
  if (reliable && version !== total.ok) {
    t.fatal(`Reliable: Wrong number of puts: server ${version} ${clients}`);
  }
  if (!reliable && version > total.ok + total.maybe) {
    t.fatal(`Unreliable: Wrong number of puts: server ${version} ${clients}`);
  }
}

/**
 * The lab's `SpawnClientsAndWait`: `count` clients, each with its own clerk, run `body` until
 * told they are done after `runMs`; returns their results. A client's failure fails the run at
 * once, even before anyone awaits it.
 */
export async function spawnClientsAndWait<T>(
  t: KvTester,
  count: number,
  runMs: number,
  body: (me: number, clerk: Clerk, done: () => boolean) => Promise<T>,
): Promise<T[]> {
  let done = false;
  const clients = Array.from({ length: count }, (_, me) => {
    const task = (async () => {
      const clerk = t.makeClerk();
      const result = await body(me, clerk, () => done);
      t.deleteClerk(clerk);
      return result;
    })();
    // After cleanup a client fails only because the network closed: the test's own error wins.
    task.catch((error) => {
      if (!t.finished) t.simulation.fail(error);
    });
    return task;
  });
  await t.sleep(runMs);
  done = true;
  return await Promise.all(clients);
}

/**
 * The lab's `CheckPorcupine`: the recorded history must be proven linearizable within the
 * harness's {@linkcode CHECK_TIMEOUT_MS} of wall time. The lab gives Porcupine 1 s (10 s for the
 * racing Puts of the single server) and passes a history it could not decide; here an undecided
 * check fails the test, so the budget is the 2022 harness's, with room for a loaded machine.
 */
export function checkLinearizable(t: KvTester): void {
  const timeoutMs = CHECK_TIMEOUT_MS;
  let checked: { operations: number; elapsedMs: number };
  try {
    checked = t.history.check(timeoutMs);
  } catch (error) {
    t.fatal(errorText(error));
  }
  t.log(
    `  history of ${checked.operations} operations is linearizable (checked in ${
      checked.elapsedMs.toFixed(0)
    } ms of ${timeoutMs} ms)`,
  );
}

/** The lab's `MakeKeys`: `k0`, `k1`, … */
export function makeKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `k${i}`);
}
