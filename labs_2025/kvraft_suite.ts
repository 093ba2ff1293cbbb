/**
 * The 2025 lab's replicated key/value tests (kvraft1/kvraft_test.go, parts 4B and 4C), ported
 * with the lab's names, steps and constants on virtual time (see kvraft_harness.ts), with the
 * versioned clerk: clients race to Put JSON entries to one key (or to random keys of a hundred)
 * at the versions they read, while the network drops messages, partitions and servers restart.
 *
 * Beyond the lab: every test's operations are recorded (the lab records its generic tests'
 * only), the whole history is checked once at the end of a generic test (the lab checks it after
 * each iteration; the history only grows, so the last check covers the earlier ones), and a
 * check that cannot decide fails the test where the lab's assumes the history is fine. In
 * `TestOnePartition4B`, the Get sent into the minority must complete after the heal: the lab's
 * `select` has a `default` that skips that wait.
 *
 * @module
 */
import type { Clerk } from "../kv/clerk.ts";
import type { LabTest } from "../labs/suite.ts";
import { ELECTION_TIMEOUT_MS } from "../labs/kv_harness.ts";
import { partitioner } from "../labs/kv_suite.ts";
import { OK } from "../kv/protocol.ts";
import {
  checkGet,
  checkLinearizable,
  checkPutConcurrent,
  type ClientResult,
  get,
  makeKeys,
  oneClientPut,
  put,
  putAtLeastOnce,
  spawnClientsAndWait,
} from "./kv_tester.ts";
import { type KvraftTester, runKvraftTest } from "./kvraft_harness.ts";

/** Iterations of the generic test. */
const ITERATIONS = 3;
/** How long the clients of one iteration run. */
const CLIENT_RUN_MS = 1_000;
/** Keys of the random-keys tests. */
const KEY_COUNT = 100;
/** Puts of the speed test. */
const SPEED_OPS = 1000;
/** The lab's heartbeat interval; the speed test wants at least three operations per interval. */
const HEARTBEAT_INTERVAL_MS = 100;
const OPS_PER_INTERVAL = 3;

/** The parameters of the lab's `MakeTest`. */
interface Generic {
  readonly name: string;
  readonly part: string;
  readonly clients: number;
  readonly servers: number;
  readonly reliable: boolean;
  readonly crash: boolean;
  readonly partitions: boolean;
  readonly maxraftstate: number;
  readonly randomKeys: boolean;
}

/** The lab's `makeTitle`. */
function title(g: Generic): string {
  let text = "Test: ";
  if (g.crash) text += "restarts, ";
  if (g.partitions) text += "partitions, ";
  if (g.maxraftstate !== -1) text += "snapshots, ";
  if (g.randomKeys) text += "random keys, ";
  return `${text}${g.clients > 1 ? "many clients" : "one client"} (${g.part})`;
}

/** One iteration of the generic test: clients race, the network and servers suffer, checks. */
async function genericIteration(
  t: KvraftTester,
  g: Generic,
  checker: Clerk,
  keys: readonly string[],
  total: ClientResult,
): Promise<void> {
  const cfg = t.cfg;
  let partitionerDone = false;
  const clients = (async () => {
    const results = await spawnClientsAndWait(
      t,
      g.clients,
      CLIENT_RUN_MS,
      (me, clerk, done) => oneClientPut(t, clerk, me, keys, g.randomKeys, done),
    );
    if (g.randomKeys) return;
    const reliable = t.reliable && !g.crash && !g.partitions;
    await checkPutConcurrent(t, checker, keys[0], results, total, reliable);
  })();
  clients.catch((error) => {
    if (!t.finished) t.simulation.fail(error);
  });
  let partitioning: Promise<void> | null = null;
  if (g.partitions) {
    // Allow the clients to perform some operations without interruption.
    await t.sleep(1000);
    partitioning = partitioner(cfg, () => partitionerDone);
  }
  await clients;
  if (partitioning !== null) {
    partitionerDone = true;
    await partitioning;
    // A client may have submitted a request in a minority: it returns only once that server
    // learns of a new term, so reconnect and wait for one.
    cfg.connectAll();
    await t.sleep(ELECTION_TIMEOUT_MS);
  }
  if (g.crash) {
    for (let i = 0; i < g.servers; i++) cfg.shutdownServer(i);
    await t.sleep(ELECTION_TIMEOUT_MS);
    for (let i = 0; i < g.servers; i++) cfg.startServer(i);
    cfg.connectAll();
  }
  if (g.maxraftstate > 0) {
    // Checked after the servers processed every request and had time to snapshot.
    const size = cfg.logSize();
    if (size > 8 * g.maxraftstate) t.fatal(`logs were not trimmed (${size} > 8*${g.maxraftstate})`);
  }
  if (g.maxraftstate < 0) {
    const snapshotSize = cfg.snapshotSize();
    if (snapshotSize > 0) {
      t.fatal(
        `snapshot too large (${snapshotSize}), should not be used when maxraftstate = ${g.maxraftstate}`,
      );
    }
  }
}

/** The lab's `GenericTest`. */
function genericTest(g: Generic): LabTest {
  return {
    name: g.name,
    part: g.part,
    run: (context) =>
      runKvraftTest(context, g, async (t) => {
        t.begin(title(g));
        const checker = t.makeClerk();
        const keys = g.randomKeys ? makeKeys(KEY_COUNT) : ["k"];
        const total: ClientResult = { ok: 0, maybe: 0 };
        for (let iteration = 0; iteration < ITERATIONS; iteration++) {
          await genericIteration(t, g, checker, keys, total);
        }
        checkLinearizable(t);
        t.cfg.end();
      }),
  };
}

/** The lab's `GenericTestSpeed`: 1000 Puts, on average under a third of a heartbeat each. */
function speedTest(name: string, part: string, maxraftstate: number): LabTest {
  const options = { servers: 3, reliable: true, maxraftstate };
  return {
    name,
    part,
    run: (context) =>
      runKvraftTest(context, options, async (t) => {
        t.begin(`Test: one client (${part} speed)`);
        const clerk = t.makeClerk();
        // Once the first operation completes, a leader is elected and the servers are ready.
        await get(t, clerk, "x");
        const startMs = t.simulation.now();
        for (let i = 0; i < SPEED_OPS; i++) {
          const outcome = await put(t, clerk, "k", String(i), i);
          if (outcome !== OK) t.fatal(`Put err ${outcome}`);
        }
        const durationMs = t.simulation.now() - startMs;
        const got = await get(t, clerk, "k");
        if (got.err !== OK) t.fatal(`Get err ${got.err}`);
        if (got.version !== SPEED_OPS) t.fatal(`Get too few ops ${got.version}`);
        const perOpMs = durationMs / SPEED_OPS;
        const limitMs = HEARTBEAT_INTERVAL_MS / OPS_PER_INTERVAL;
        if (perOpMs > limitMs) {
          t.fatal(`Operations completed too slowly ${perOpMs.toFixed(1)}ms/op > ${limitMs}ms/op`);
        }
        t.log(`  ${perOpMs.toFixed(2)} simulated ms per operation (limit ${limitMs.toFixed(1)})`);
        checkLinearizable(t);
        t.cfg.end();
      }),
  };
}

/**
 * The lab's `TestOnePartition4B`: Puts and Gets sent into the minority (which holds the old
 * leader) do not complete until the partition heals; the majority goes on meanwhile.
 */
const onePartition: LabTest = {
  name: "TestOnePartition4B",
  part: "4B",
  run: (context) =>
    runKvraftTest(
      context,
      { servers: 5, reliable: false, maxraftstate: -1 },
      async (t: KvraftTester) => {
        const cfg = t.cfg;
        t.begin("Test: progress in majority (4B)");
        const clerk = t.makeClerk();
        const version0 = await putAtLeastOnce(t, clerk, "1", "13", 0);
        const { p1, p2 } = cfg.makePartition();
        cfg.partition(p1, p2);
        const clerkP1 = t.makeClerkTo(p1);
        const clerkP2a = t.makeClerkTo(p2);
        const clerkP2b = t.makeClerkTo(p2);
        const version1 = await putAtLeastOnce(t, clerkP1, "1", "14", version0);
        await checkGet(t, clerkP1, "1", "14", version1);
        cfg.end();

        t.begin("Test: no progress in minority (4B)");
        let done0 = false;
        let done1 = false;
        // Settle with whether the operation completed; a clerk closed at cleanup counts as not.
        const put15 = putAtLeastOnce(t, clerkP2a, "1", "15", version1).then((version) => {
          done0 = true;
          return version;
        }, () => null);
        const get1 = get(t, clerkP2b, "1").then(() => done1 = true, () => false);
        await t.sleep(1000);
        if (done0) t.fatal("Put in minority completed");
        if (done1) t.fatal("Get in minority completed");
        await checkGet(t, clerkP1, "1", "14", version1);
        const version2 = await putAtLeastOnce(t, clerkP1, "1", "16", version1);
        await checkGet(t, clerkP1, "1", "16", version2);
        cfg.end();

        t.begin("Test: completion after heal (4B)");
        cfg.connectAll();
        cfg.connectClient(clerkP2a, cfg.all());
        cfg.connectClient(clerkP2b, cfg.all());
        await t.sleep(ELECTION_TIMEOUT_MS);
        const deadline = t.sleep(30 * 100).then(() => null);
        const version15 = await Promise.race([put15, deadline]);
        if (version15 === null) t.fatal("Put did not complete");
        if (!await Promise.race([get1, deadline.then(() => false)])) {
          t.fatal("Get did not complete");
        }
        await checkGet(t, clerk, "1", "15", version15);
        checkLinearizable(t);
        cfg.end();
      },
    ),
};

/**
 * The lab's `TestSnapshotRPC4C`: a server that fell behind catches up by InstallSnapshot, and
 * the majority trims its log though the minority does not answer.
 */
const snapshotRpc: LabTest = {
  name: "TestSnapshotRPC4C",
  part: "4C",
  run: (context) =>
    runKvraftTest(context, { servers: 3, reliable: true, maxraftstate: 1000 }, async (t) => {
      const cfg = t.cfg;
      const maxraftstate = 1000;
      t.begin("Test: InstallSnapshot RPC (4C)");
      const clerk = t.makeClerk();
      const versionA = await putAtLeastOnce(t, clerk, "a", "A", 0);
      await checkGet(t, clerk, "a", "A", versionA);
      // A bunch of puts into the majority partition.
      cfg.partition([0, 1], [2]);
      const clerk01 = t.makeClerkTo([0, 1]);
      for (let i = 0; i < 50; i++) await putAtLeastOnce(t, clerk01, String(i), String(i), 0);
      await t.sleep(ELECTION_TIMEOUT_MS);
      const versionB = await putAtLeastOnce(t, clerk01, "b", "B", 0);
      // The majority must have thrown away most of its log.
      const size = cfg.logSize();
      if (size > 8 * maxraftstate) t.fatal(`logs were not trimmed (${size} > 8*${maxraftstate})`);
      // Now a group that needs the lagging server, so that it has to catch up.
      cfg.partition([0, 2], [1]);
      const clerk02 = t.makeClerkTo([0, 2]);
      const versionC = await putAtLeastOnce(t, clerk02, "c", "C", 0);
      await putAtLeastOnce(t, clerk02, "d", "D", 0);
      await checkGet(t, clerk02, "a", "A", versionA);
      await checkGet(t, clerk02, "b", "B", versionB);
      await checkGet(t, clerk02, "1", "1", 1);
      await checkGet(t, clerk02, "49", "49", 1);
      // Now everybody.
      cfg.partition([0, 1, 2], []);
      const versionE = await putAtLeastOnce(t, clerk, "e", "E", 0);
      await checkGet(t, clerk, "c", "C", versionC);
      await checkGet(t, clerk, "e", "E", versionE);
      await checkGet(t, clerk, "1", "1", 1);
      checkLinearizable(t);
      cfg.end();
    }),
};

/** The lab's `TestSnapshotSize4C`: 500 bytes is a generous bound for these operations. */
const snapshotSize: LabTest = {
  name: "TestSnapshotSize4C",
  part: "4C",
  run: (context) =>
    runKvraftTest(context, { servers: 3, reliable: true, maxraftstate: 1000 }, async (t) => {
      const cfg = t.cfg;
      const maxraftstate = 1000;
      const maxSnapshotState = 500;
      t.begin("Test: snapshot size is reasonable (4C)");
      const clerk = t.makeClerk();
      let version = 0;
      for (let i = 0; i < 200; i++) {
        version = await putAtLeastOnce(t, clerk, "x", "0", version);
        await checkGet(t, clerk, "x", "0", version);
        version = await putAtLeastOnce(t, clerk, "x", "1", version);
        await checkGet(t, clerk, "x", "1", version);
      }
      const size = cfg.logSize();
      if (size > 8 * maxraftstate) t.fatal(`logs were not trimmed (${size} > 8*${maxraftstate})`);
      const snapshotBytes = cfg.snapshotSize();
      if (snapshotBytes > maxSnapshotState) {
        t.fatal(`snapshot too large (${snapshotBytes} > ${maxSnapshotState})`);
      }
      checkLinearizable(t);
      cfg.end();
    }),
};

/** A generic test of part 4B or 4C; `clients`, `servers`, … as the lab's `MakeTest`. */
function generic(
  name: string,
  clients: number,
  servers: number,
  reliable: boolean,
  crash: boolean,
  partitions: boolean,
  maxraftstate: number,
  randomKeys = false,
): LabTest {
  const part = maxraftstate === -1 ? "4B" : "4C";
  const g = { name, part, clients, servers, reliable, crash, partitions, maxraftstate, randomKeys };
  return genericTest(g);
}

/** The lab's 4B and 4C tests, in the lab's order, with its `MakeTest` arguments. */
export const kvraftSuite: readonly LabTest[] = [
  generic("TestBasic4B", 1, 5, true, false, false, -1),
  speedTest("TestSpeed4B", "4B", -1),
  generic("TestConcurrent4B", 5, 5, true, false, false, -1),
  generic("TestUnreliable4B", 5, 5, false, false, false, -1),
  onePartition,
  generic("TestManyPartitionsOneClient4B", 1, 5, true, false, true, -1),
  generic("TestManyPartitionsManyClients4B", 5, 5, true, false, true, -1),
  generic("TestPersistOneClient4B", 1, 5, true, true, false, -1),
  generic("TestPersistConcurrent4B", 5, 5, true, true, false, -1),
  generic("TestPersistConcurrentUnreliable4B", 5, 5, false, true, false, -1),
  generic("TestPersistPartition4B", 5, 5, true, true, true, -1),
  generic("TestPersistPartitionUnreliable4B", 5, 5, false, true, true, -1),
  generic("TestPersistPartitionUnreliableLinearizable4B", 15, 7, false, true, true, -1, true),
  snapshotRpc,
  snapshotSize,
  speedTest("TestSpeed4C", "4C", 1000),
  generic("TestSnapshotRecover4C", 1, 5, true, true, false, 1000),
  generic("TestSnapshotRecoverManyClients4C", 20, 5, true, true, false, 1000),
  generic("TestSnapshotUnreliable4C", 5, 5, false, false, false, 1000),
  generic("TestSnapshotUnreliableRecover4C", 5, 5, false, true, false, 1000),
  generic("TestSnapshotUnreliableRecoverConcurrentPartition4C", 5, 5, false, true, true, 1000),
  generic(
    "TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4C",
    15,
    7,
    false,
    true,
    true,
    1000,
    true,
  ),
];
