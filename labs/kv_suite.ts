/**
 * The lab's key/value tests (kvraft/test_test.go of 6.824, 2022, parts 3A and 3B), ported with
 * the lab's names, steps and constants, on virtual time (see tests/kv_harness.ts). Goroutines
 * become async functions running side by side on the simulation. Unlike the lab, every test's
 * operations are recorded and checked for linearizability (the lab checks the generic tests'
 * only), and a check that cannot decide fails the test. Beyond the lab, part "reads" runs the
 * generic test with gets at every consistency (kv/state_machine.ts): linearizable and lease gets
 * are checked like the lab's, and a serializable get, which may be stale, must still read a value
 * the key held at some time (the client's appends from the first on, in order: every iteration
 * starts the key over with the same appends), and is left out of the history.
 *
 * @module
 */
import type { Clerk } from "../kv/clerk.ts";
import { ELECTION_TIMEOUT_MS, type KvConfig, runKvTest } from "./kv_harness.ts";
import type { LabTest, TestContext } from "./suite.ts";
import { coordinationTests } from "./coordination_suite.ts";
import { recipesTests } from "../recipes/recipes_suite.ts";
import { txnTests } from "../coordination_check/txn_suite.ts";

/** Iterations of the generic test, each with its own clients. */
const ITERATIONS = 3;
/** How long the clients of one iteration run. */
const CLIENT_RUN_MS = 5_000;
/** Operations of the speed test. */
const SPEED_OPS = 1000;
/** The lab's heartbeat interval; the speed test wants at least three operations per interval. */
const HEARTBEAT_INTERVAL_MS = 100;
const OPS_PER_INTERVAL = 3;

/** The lab's `checkClntAppends`: client `client`'s `count` appends, each once and in order. */
function checkClientAppends(cfg: KvConfig, client: number, value: string, count: number): void {
  let lastOffset = -1;
  for (let j = 0; j < count; j++) {
    const wanted = `x ${client} ${j} y`;
    const offset = value.indexOf(wanted);
    if (offset < 0) {
      cfg.fatal(`${client} missing element ${wanted} in Append result ${value}`);
    }
    if (value.lastIndexOf(wanted) !== offset) {
      cfg.fatal(`duplicate element ${wanted} in Append result`);
    }
    if (offset <= lastOffset) cfg.fatal(`wrong order for element ${wanted} in Append result`);
    lastOffset = offset;
  }
}

/** The lab's `checkConcurrentAppends`: every client's appends, each once and in order. */
function checkConcurrentAppends(cfg: KvConfig, value: string, counts: readonly number[]): void {
  for (let client = 0; client < counts.length; client++) {
    checkClientAppends(cfg, client, value, counts[client]);
  }
}

/**
 * The lab's `spawn_clients_and_wait` without the wait: `count` clients, each with its own clerk,
 * run `body`; a client's failure fails the run at once, even before anyone awaits it.
 */
function spawnClients<T>(
  cfg: KvConfig,
  count: number,
  body: (client: number, clerk: Clerk) => Promise<T>,
): Promise<T>[] {
  return Array.from({ length: count }, (_, client) => {
    const task = (async () => {
      const clerk = cfg.makeClient(cfg.all());
      const result = await body(client, clerk);
      cfg.deleteClient(clerk);
      return result;
    })();
    // After cleanup a client fails only because the network closed: the test's own error wins.
    task.catch((error) => {
      if (!cfg.finished) cfg.simulation.fail(error);
    });
    return task;
  });
}

/** The lab's `partitioner`: a random split every election timeout plus up to 200 ms. */
export async function partitioner(cfg: KvConfig, done: () => boolean): Promise<void> {
  while (!done()) {
    const side = cfg.all().map(() => cfg.randomInt(2));
    const p1 = cfg.all().filter((i) => side[i] === 0);
    const p2 = cfg.all().filter((i) => side[i] === 1);
    cfg.partition(p1, p2);
    await cfg.sleep(ELECTION_TIMEOUT_MS + cfg.randomInt(200));
  }
}

/** The parameters of the lab's `GenericTest`. */
interface Generic {
  readonly part: string;
  readonly clients: number;
  readonly servers: number;
  readonly unreliable: boolean;
  readonly crash: boolean;
  readonly partitions: boolean;
  readonly maxraftstate: number;
  readonly randomKeys: boolean;
  /** Gets at every consistency, not only linearizable (part "reads"). */
  readonly allConsistencies?: boolean;
}

/** The lab's title of a generic test, without "Test: " and the part. */
function genericName(g: Generic): string {
  let title = "";
  if (g.unreliable) title += "unreliable net, ";
  if (g.crash) title += "restarts, ";
  if (g.partitions) title += "partitions, ";
  if (g.maxraftstate !== -1) title += "snapshots, ";
  if (g.randomKeys) title += "random keys, ";
  if (g.allConsistencies) title += "lease and serializable gets, ";
  return title + (g.clients > 1 ? "many clients" : "one client");
}

/** One client of the generic test: appends and gets (and puts, with random keys) until done. */
async function genericClient(
  cfg: KvConfig,
  g: Generic,
  client: number,
  clerk: Clerk,
  done: () => boolean,
): Promise<number> {
  let j = 0;
  let last = "";
  if (!g.randomKeys) await cfg.put(clerk, String(client), last);
  while (!done()) {
    const key = g.randomKeys ? String(cfg.randomInt(g.clients)) : String(client);
    const newValue = `x ${client} ${j} y`;
    if (cfg.randomInt(1000) < 500) {
      await cfg.append(clerk, key, newValue);
      if (!g.randomKeys) last += newValue;
      j++;
    } else if (g.randomKeys && cfg.randomInt(1000) < 100) {
      // Only with random keys: a put would break the check of gets below.
      await cfg.put(clerk, key, newValue);
      j++;
    } else if (g.allConsistencies && !g.randomKeys && cfg.randomInt(1000) < 300) {
      await serializableGet(cfg, clerk, client, last);
    } else {
      const lease = g.allConsistencies === true && cfg.randomInt(1000) < 500;
      const value = await cfg.get(clerk, key, lease ? "lease" : "linearizable");
      if (!g.randomKeys && value !== last) {
        cfg.fatal(`get wrong value, key ${key}, wanted:\n${last}\n, got\n${value}\n`);
      }
    }
  }
  return j;
}

/**
 * A serializable get of client `client`'s own key: stale maybe, but a value the key held: its
 * appends `x client 0 y`, `x client 1 y`, … from the first on, in order (each iteration starts
 * the key over and appends the same values).
 */
async function serializableGet(cfg: KvConfig, clerk: Clerk, client: number, last: string) {
  const key = String(client);
  const value = await cfg.get(clerk, key, "serializable");
  let held = "";
  // Bounded by the value's length: each pass adds a non-empty append.
  for (let append = 0; held.length < value.length; append++) held += `x ${client} ${append} y`;
  if (held !== value) cfg.fatal(`serializable get read a value never held, key ${key}: ${value}`);
  cfg.noteStaleRead(value !== last);
}

/** One iteration of the generic test: clients run, the network and servers suffer, then checks. */
async function genericIteration(cfg: KvConfig, g: Generic, checker: Clerk): Promise<void> {
  let clientsDone = false;
  let partitionerDone = false;
  const clients = spawnClients(
    cfg,
    g.clients,
    (client, clerk) => genericClient(cfg, g, client, clerk, () => clientsDone),
  );
  let partitioning: Promise<void> | null = null;
  if (g.partitions) {
    // Allow the clients to perform some operations without interruption.
    await cfg.sleep(1000);
    partitioning = partitioner(cfg, () => partitionerDone);
  }
  await cfg.sleep(CLIENT_RUN_MS);
  clientsDone = true;
  partitionerDone = true;
  if (partitioning !== null) {
    await partitioning;
    // A client may have submitted a request in a minority: it returns only once that server
    // learns of a new term, so reconnect and wait for one.
    cfg.connectAll();
    await cfg.sleep(ELECTION_TIMEOUT_MS);
  }
  if (g.crash) {
    for (let i = 0; i < g.servers; i++) cfg.shutdownServer(i);
    await cfg.sleep(ELECTION_TIMEOUT_MS);
    for (let i = 0; i < g.servers; i++) cfg.startServer(i);
    cfg.connectAll();
  }
  for (let client = 0; client < g.clients; client++) {
    const appends = await clients[client];
    const value = await cfg.get(checker, String(client));
    if (!g.randomKeys) checkClientAppends(cfg, client, value, appends);
  }
  if (g.maxraftstate > 0) {
    // Checked after the servers processed every request and had time to snapshot.
    const size = cfg.logSize();
    if (size > 8 * g.maxraftstate) {
      cfg.fatal(`logs were not trimmed (${size} > 8*${g.maxraftstate})`);
    }
  }
  if (g.maxraftstate < 0) {
    const snapshotSize = cfg.snapshotSize();
    if (snapshotSize > 0) {
      cfg.fatal(
        `snapshot too large (${snapshotSize}), should not be used when maxraftstate = ${g.maxraftstate}`,
      );
    }
  }
}

/** The lab's `GenericTest`. */
function genericTest(g: Generic): LabTest {
  const name = genericName(g);
  return {
    name,
    part: g.part,
    run: (context: TestContext) =>
      runKvTest(context, {
        servers: g.servers,
        unreliable: g.unreliable,
        maxraftstate: g.maxraftstate,
      }, async (cfg) => {
        cfg.begin(`Test: ${name} (${g.part})`);
        const checker = cfg.makeClient(cfg.all());
        for (let iteration = 0; iteration < ITERATIONS; iteration++) {
          await genericIteration(cfg, g, checker);
        }
        cfg.checkLinearizable();
        cfg.end();
      }),
  };
}

/** The lab's `GenericTestSpeed`: 1000 appends, on average under a third of a heartbeat each. */
function speedTest(part: string, maxraftstate: number): LabTest {
  return {
    name: "ops complete fast enough",
    part,
    run: (context) =>
      runKvTest(context, { servers: 3, unreliable: false, maxraftstate }, async (cfg) => {
        const clerk = cfg.makeClient(cfg.all());
        cfg.begin(`Test: ops complete fast enough (${part})`);
        // Once the first operation completes, a leader is elected and the servers are ready.
        await cfg.get(clerk, "x");
        const startMs = cfg.simulation.now();
        for (let i = 0; i < SPEED_OPS; i++) await cfg.append(clerk, "x", `x 0 ${i} y`);
        const durationMs = cfg.simulation.now() - startMs;
        const value = await cfg.get(clerk, "x");
        checkClientAppends(cfg, 0, value, SPEED_OPS);
        const perOpMs = durationMs / SPEED_OPS;
        const limitMs = HEARTBEAT_INTERVAL_MS / OPS_PER_INTERVAL;
        if (perOpMs > limitMs) {
          cfg.fatal(
            `Operations completed too slowly ${perOpMs.toFixed(1)}ms/op > ${
              limitMs.toFixed(1)
            }ms/op`,
          );
        }
        cfg.log(`  ${perOpMs.toFixed(2)} simulated ms per operation (limit ${limitMs.toFixed(1)})`);
        cfg.checkLinearizable();
        cfg.end();
      }),
  };
}

const base: Generic = {
  part: "3A",
  clients: 1,
  servers: 5,
  unreliable: false,
  crash: false,
  partitions: false,
  maxraftstate: -1,
  randomKeys: false,
};

const unreliableOneKey: LabTest = {
  name: "concurrent append to same key, unreliable",
  part: "3A",
  run: (context) =>
    runKvTest(context, { servers: 3, unreliable: true, maxraftstate: -1 }, async (cfg) => {
      const clerk = cfg.makeClient(cfg.all());
      cfg.begin("Test: concurrent append to same key, unreliable (3A)");
      await cfg.put(clerk, "k", "");
      const clients = 5;
      const upto = 10;
      await Promise.all(spawnClients(cfg, clients, async (me, myClerk) => {
        for (let n = 0; n < upto; n++) {
          await cfg.append(myClerk, "k", `x ${me} ${n} y`);
        }
      }));
      const value = await cfg.get(clerk, "k");
      checkConcurrentAppends(cfg, value, new Array(clients).fill(upto));
      cfg.checkLinearizable();
      cfg.end();
    }),
};

/** The lab's `TestOnePartition3A`: the leader ends up in the minority. */
const onePartition: LabTest = {
  name: "progress in majority, no progress in minority, completion after heal",
  part: "3A",
  run: (context) =>
    runKvTest(context, { servers: 5, unreliable: false, maxraftstate: -1 }, async (cfg) => {
      const clerk = cfg.makeClient(cfg.all());
      await cfg.put(clerk, "1", "13");

      cfg.begin("Test: progress in majority (3A)");
      const { p1, p2 } = cfg.makePartition();
      cfg.partition(p1, p2);
      const clerkP1 = cfg.makeClient(p1);
      const clerkP2a = cfg.makeClient(p2);
      const clerkP2b = cfg.makeClient(p2);
      await cfg.put(clerkP1, "1", "14");
      await cfg.check(clerkP1, "1", "14");
      cfg.end();

      cfg.begin("Test: no progress in minority (3A)");
      let done0 = false;
      let done1 = false;
      // Settles with whether the operation completed; a clerk closed at cleanup counts as not.
      const put15 = cfg.put(clerkP2a, "1", "15").then(() => done0 = true, () => false);
      const get1 = cfg.get(clerkP2b, "1").then(() => done1 = true, () => false);
      await cfg.sleep(1000);
      if (done0) cfg.fatal("Put in minority completed");
      if (done1) cfg.fatal("Get in minority completed");
      await cfg.check(clerkP1, "1", "14");
      await cfg.put(clerkP1, "1", "16");
      await cfg.check(clerkP1, "1", "16");
      cfg.end();

      cfg.begin("Test: completion after heal (3A)");
      cfg.connectAll();
      cfg.connectClient(clerkP2a, cfg.all());
      cfg.connectClient(clerkP2b, cfg.all());
      await cfg.sleep(ELECTION_TIMEOUT_MS);
      const deadline = cfg.sleep(30 * 100).then(() => false);
      if (!await Promise.race([put15, deadline])) cfg.fatal("Put did not complete");
      if (!await Promise.race([get1, deadline])) cfg.fatal("Get did not complete");
      await cfg.check(clerk, "1", "15");
      cfg.checkLinearizable();
      cfg.end();
    }),
};

/** The lab's `TestSnapshotRPC3B`: a lagging server catches up by InstallSnapshot. */
const snapshotRpc: LabTest = {
  name: "InstallSnapshot RPC",
  part: "3B",
  run: (context) =>
    runKvTest(context, { servers: 3, unreliable: false, maxraftstate: 1000 }, async (cfg) => {
      const maxraftstate = 1000;
      const clerk = cfg.makeClient(cfg.all());
      cfg.begin("Test: InstallSnapshot RPC (3B)");
      await cfg.put(clerk, "a", "A");
      await cfg.check(clerk, "a", "A");
      // A bunch of puts into the majority partition.
      cfg.partition([0, 1], [2]);
      const clerk01 = cfg.makeClient([0, 1]);
      for (let i = 0; i < 50; i++) await cfg.put(clerk01, String(i), String(i));
      await cfg.sleep(ELECTION_TIMEOUT_MS);
      await cfg.put(clerk01, "b", "B");
      // The majority must have thrown away most of its log.
      const size = cfg.logSize();
      if (size > 8 * maxraftstate) cfg.fatal(`logs were not trimmed (${size} > 8*${maxraftstate})`);
      // Now a group that needs the lagging server, so that it has to catch up.
      cfg.partition([0, 2], [1]);
      const clerk02 = cfg.makeClient([0, 2]);
      await cfg.put(clerk02, "c", "C");
      await cfg.put(clerk02, "d", "D");
      await cfg.check(clerk02, "a", "A");
      await cfg.check(clerk02, "b", "B");
      await cfg.check(clerk02, "1", "1");
      await cfg.check(clerk02, "49", "49");
      // Now everybody.
      cfg.partition([0, 1, 2], []);
      await cfg.put(clerk, "e", "E");
      await cfg.check(clerk, "c", "C");
      await cfg.check(clerk, "e", "E");
      await cfg.check(clerk, "1", "1");
      cfg.checkLinearizable();
      cfg.end();
    }),
};

/** The lab's `TestSnapshotSize3B`: 500 bytes is a generous bound for these operations. */
const snapshotSize: LabTest = {
  name: "snapshot size is reasonable",
  part: "3B",
  run: (context) =>
    runKvTest(context, { servers: 3, unreliable: false, maxraftstate: 1000 }, async (cfg) => {
      const maxraftstate = 1000;
      const maxSnapshotState = 500;
      const clerk = cfg.makeClient(cfg.all());
      cfg.begin("Test: snapshot size is reasonable (3B)");
      for (let i = 0; i < 200; i++) {
        await cfg.put(clerk, "x", "0");
        await cfg.check(clerk, "x", "0");
        await cfg.put(clerk, "x", "1");
        await cfg.check(clerk, "x", "1");
      }
      const size = cfg.logSize();
      if (size > 8 * maxraftstate) cfg.fatal(`logs were not trimmed (${size} > 8*${maxraftstate})`);
      const snapshotBytes = cfg.snapshotSize();
      if (snapshotBytes > maxSnapshotState) {
        cfg.fatal(`snapshot too large (${snapshotBytes} > ${maxSnapshotState})`);
      }
      cfg.checkLinearizable();
      cfg.end();
    }),
};

/** The lab's 3A and 3B tests, in the lab's order. */
export const kvSuite: readonly LabTest[] = [
  genericTest(base),
  speedTest("3A", -1),
  genericTest({ ...base, clients: 5 }),
  genericTest({ ...base, clients: 5, unreliable: true }),
  unreliableOneKey,
  onePartition,
  genericTest({ ...base, partitions: true }),
  genericTest({ ...base, clients: 5, partitions: true }),
  genericTest({ ...base, crash: true }),
  genericTest({ ...base, clients: 5, crash: true }),
  genericTest({ ...base, clients: 5, unreliable: true, crash: true }),
  genericTest({ ...base, clients: 5, crash: true, partitions: true }),
  genericTest({ ...base, clients: 5, unreliable: true, crash: true, partitions: true }),
  genericTest({
    ...base,
    clients: 15,
    servers: 7,
    unreliable: true,
    crash: true,
    partitions: true,
    randomKeys: true,
  }),
  snapshotRpc,
  snapshotSize,
  speedTest("3B", 1000),
  genericTest({ ...base, part: "3B", crash: true, maxraftstate: 1000 }),
  genericTest({ ...base, part: "3B", clients: 20, crash: true, maxraftstate: 1000 }),
  genericTest({ ...base, part: "3B", clients: 5, unreliable: true, maxraftstate: 1000 }),
  genericTest({
    ...base,
    part: "3B",
    clients: 5,
    unreliable: true,
    crash: true,
    maxraftstate: 1000,
  }),
  genericTest({
    ...base,
    part: "3B",
    clients: 5,
    unreliable: true,
    crash: true,
    partitions: true,
    maxraftstate: 1000,
  }),
  genericTest({
    ...base,
    part: "3B",
    clients: 15,
    servers: 7,
    unreliable: true,
    crash: true,
    partitions: true,
    maxraftstate: 1000,
    randomKeys: true,
  }),
  genericTest({
    ...base,
    part: "reads",
    clients: 5,
    unreliable: true,
    crash: true,
    partitions: true,
    allConsistencies: true,
  }),
  genericTest({
    ...base,
    part: "reads",
    clients: 5,
    unreliable: true,
    crash: true,
    partitions: true,
    maxraftstate: 1000,
    allConsistencies: true,
  }),
  ...coordinationTests,
  ...txnTests,
  ...recipesTests,
];
