/**
 * The 2025 lab's single-server key/value tests (Lab 2, kvsrv1/kvsrv_test.go: part "kvsrv") and
 * its lock tests (kvsrv1/lock/lock_test.go: part "lock"), ported with the lab's steps and
 * constants on virtual time (see kvsrv_harness.ts), named as the lab's Go tests. Goroutines
 * become async functions running side by side on the simulation.
 *
 * Beyond the lab: every test's recorded operations are checked for linearizability, the lock
 * tests' too (the lab checks only the put tests'), and a check that cannot decide fails the
 * test. The memory test measures the server's state (its snapshot's bytes) instead of the Go
 * heap: that is what a server keeping something per client would grow, and it is the same on
 * every run, where a heap reading is not.
 *
 * @module
 */
import type { Clerk } from "../kv/clerk.ts";
import { ERR_MAYBE } from "../kv/clerk.ts";
import { VersionedLock } from "../recipes/versioned_lock.ts";
import { ERR_NO_KEY, ERR_VERSION, OK } from "../kv/protocol.ts";
import type { LabTest } from "../labs/suite.ts";
import {
  checkLinearizable,
  checkPutConcurrent,
  get,
  getJson,
  oneClientPut,
  put,
  putJson,
  spawnClientsAndWait,
} from "./kv_tester.ts";
import { type KvsrvConfig, runKvsrvTest } from "./kvsrv_harness.ts";

/** A kvsrv test named as the lab's Go test. */
function kvsrvTest(
  name: string,
  part: string,
  reliable: boolean,
  body: (cfg: KvsrvConfig) => Promise<void>,
): LabTest {
  return { name, part, run: (context) => runKvsrvTest(context, reliable, body) };
}

/** The lab's `TestReliablePut`: versions, ErrVersion and ErrNoKey with one client. */
const reliablePut = kvsrvTest("TestReliablePut", "kvsrv", true, async (cfg) => {
  const value = "6.5840";
  const version = 0;
  cfg.begin("One client and reliable Put");
  const clerk = cfg.makeClerk();
  const first = await put(cfg, clerk, "k", value, version);
  if (first !== OK) cfg.fatal(`Put err ${first}`);
  const got = await get(cfg, clerk, "k");
  if (got.err !== OK) cfg.fatal(`Get err ${got.err}; expected OK`);
  if (got.value !== value) cfg.fatal(`Get value err ${got.value}; expected ${value}`);
  if (got.version !== version + 1) {
    cfg.fatal(`Get wrong version ${got.version}; expected ${version + 1}`);
  }
  const again = await put(cfg, clerk, "k", value, 0);
  if (again !== ERR_VERSION) cfg.fatal(`expected Put to fail with ErrVersion; got err=${again}`);
  const missing = await put(cfg, clerk, "y", value, 1);
  if (missing !== ERR_NO_KEY) cfg.fatal(`expected Put to fail with ErrNoKey; got err=${missing}`);
  const none = await get(cfg, clerk, "y");
  if (none.err !== ERR_NO_KEY) cfg.fatal(`expected Get to fail with ErrNoKey; got err=${none.err}`);
  checkLinearizable(cfg);
  cfg.end();
});

/** The lab's `TestPutConcurrentReliable`: 10 clients race to put to one key for a second. */
const putConcurrentReliable = kvsrvTest("TestPutConcurrentReliable", "kvsrv", true, async (cfg) => {
  const clients = 10;
  const runMs = 1_000;
  cfg.begin("Test: many clients racing to put values to the same key");
  const results = await spawnClientsAndWait(
    cfg,
    clients,
    runMs,
    (me, clerk, done) => oneClientPut(cfg, clerk, me, ["k"], false, done),
  );
  const clerk = cfg.makeClerk();
  await checkPutConcurrent(cfg, clerk, "k", results, { ok: 0, maybe: 0 }, cfg.reliable);
  checkLinearizable(cfg);
  cfg.end();
});

/**
 * The lab's `TestMemPutManyClientsReliable`: 100,000 clerks each Put a 1,000-byte value once;
 * the server may grow by at most 200 bytes per client.
 */
const memPutManyClientsReliable = kvsrvTest(
  "TestMemPutManyClientsReliable",
  "kvsrv",
  true,
  async (cfg) => {
    const clientCount = 100_000;
    const valueBytes = 1000;
    const bytesPerClientMax = 200;
    const value = randomValue(cfg, valueBytes);
    const clerks: Clerk[] = [];
    for (let i = 0; i < clientCount; i++) clerks.push(cfg.makeClerk());
    // Every clerk reaches the server once before the measure, as the lab forces its ends.
    for (const clerk of clerks) {
      const outcome = await clerk.putVersioned("k", "", 1);
      if (outcome !== ERR_NO_KEY) cfg.fatal(`Put failed ${outcome}`);
    }
    cfg.begin("Test: memory use many put clients");
    const bytes0 = cfg.serverStateBytes();
    for (let i = 0; i < clientCount; i++) {
      const outcome = await clerks[i].putVersioned("k", value, i);
      if (outcome !== OK) cfg.fatal(`Put failed ${outcome}`);
    }
    const bytes1 = cfg.serverStateBytes();
    const perClient = (bytes1 - bytes0) / clientCount;
    if (bytes1 > bytes0 + clientCount * bytesPerClientMax) {
      cfg.fatal(
        `error: server using too much memory ${bytes0} ${bytes1} (${
          perClient.toFixed(2)
        } per client)`,
      );
    }
    cfg.log(`  server state ${bytes0} -> ${bytes1} bytes (${perClient.toFixed(2)} per client)`);
    cfg.end();
  },
);

/** The lab's `RandValue`: `length` random letters. */
function randomValue(cfg: KvsrvConfig, length: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  return Array.from({ length }, () => letters[cfg.randomInt(letters.length)]).join("");
}

/**
 * The lab's `TestUnreliableNet`: one client on an unreliable network. A Put that comes back
 * ErrMaybe must have happened (no other client writes), so Putting again at its version must
 * answer ErrVersion; and some Put must come back ErrMaybe.
 */
const unreliableNet = kvsrvTest("TestUnreliableNet", "kvsrv", false, async (cfg) => {
  const tries = 100;
  cfg.begin("One client");
  const clerk = cfg.makeClerk();
  let retried = false;
  for (let attempt = 0; attempt < tries; attempt++) {
    // Bounded: after an ErrMaybe Put happened, the next Put at its version answers ErrVersion.
    for (let i = 0;; i++) {
      const outcome = await putJson(cfg, clerk, "k", i, attempt);
      if (outcome !== ERR_MAYBE) {
        if (i > 0 && outcome !== ERR_VERSION) {
          cfg.fatal(`Put shouldn't have happen more than once ${outcome}`);
        }
        break;
      }
      retried = true;
    }
    const read = await getJson(cfg, clerk, "k");
    if (read.version !== attempt + 1) {
      cfg.fatal(`Wrong version ${read.version} expect ${attempt + 1}`);
    }
    if (read.value !== 0) cfg.fatal(`Wrong value ${JSON.stringify(read.value)} expect 0`);
  }
  if (!retried) cfg.fatal("Clerk.Put never returned ErrMaybe");
  checkLinearizable(cfg);
  cfg.end();
});

/** The lab's lock-test constants. */
const LOCK_CLIENTS = 10;
const LOCK_RUN_MS = 2_000;
/** How long a client stays inside the lock, writing its name to a second key and clearing it. */
const LOCK_HOLD_MS = 10;

/**
 * The lab's lock `oneClient`: until done, take lock "l", check that key "l0" is empty (nobody
 * else is inside), write this client's number there, wait, clear it, and release. Its Gets and
 * Puts, the lock's among them, are recorded.
 */
async function lockClient(
  cfg: KvsrvConfig,
  me: number,
  clerk: Clerk,
  done: () => boolean,
): Promise<number> {
  const recorded = {
    getVersioned: (key: string) => get(cfg, clerk, key),
    putVersioned: (key: string, value: string, version: number) =>
      put(cfg, clerk, key, value, version),
  };
  const holder = `client ${cfg.clientNumber(clerk)}`;
  const lock = new VersionedLock(recorded, "l", { holder, clock: cfg.simulation });
  // Makes "l0" exist; only the first client's Put can succeed.
  await put(cfg, clerk, "l0", "", 0);
  let rounds = 0;
  for (; !done(); rounds++) {
    await lock.acquire();
    const inside = await get(cfg, clerk, "l0");
    if (inside.err !== OK) cfg.fatal(`${me}: get failed ${inside.err}`);
    if (inside.value !== "") cfg.fatal(`${me}: two clients acquired lock ${inside.value}`);
    const mark = await put(cfg, clerk, "l0", String(me), inside.version);
    if (mark !== OK && mark !== ERR_MAYBE) cfg.fatal(`${me}: put failed ${mark}`);
    await cfg.sleep(LOCK_HOLD_MS);
    const clear = await put(cfg, clerk, "l0", "", inside.version + 1);
    if (clear !== OK && clear !== ERR_MAYBE) cfg.fatal(`${me}: put failed ${clear}`);
    await lock.release();
  }
  return rounds;
}

/** The lab's lock `runClients`: `clients` clients contend for the lock for two seconds. */
function lockTest(name: string, clients: number, reliable: boolean): LabTest {
  return kvsrvTest(name, "lock", reliable, async (cfg) => {
    cfg.begin(`Test: ${clients} lock clients`);
    const rounds = await spawnClientsAndWait(
      cfg,
      clients,
      LOCK_RUN_MS,
      (me, clerk, done) => lockClient(cfg, me, clerk, done),
    );
    cfg.log(`  rounds inside the lock per client: ${rounds.join(" ")}`);
    checkLinearizable(cfg);
    cfg.end();
  });
}

/** The lab's kvsrv1 and lock tests, in the lab's order. */
export const kvsrvSuite: readonly LabTest[] = [
  reliablePut,
  putConcurrentReliable,
  memPutManyClientsReliable,
  unreliableNet,
  lockTest("TestOneClientReliable", 1, true),
  lockTest("TestManyClientsReliable", LOCK_CLIENTS, true),
  lockTest("TestOneClientUnreliable", 1, false),
  lockTest("TestManyClientsUnreliable", LOCK_CLIENTS, false),
];
