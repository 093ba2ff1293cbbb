/**
 * `dsys bench coordination`: the coordination service's operations on a real 3-node cluster
 * (kv-server processes on loopback, fsync on every persist), in one run: puts/s of closed-loop
 * clients (the baseline), transactions/s (each compares its key's version and puts: a
 * compare-and-swap counter), and watch fan-out: events per second delivered to many watchers of
 * one prefix while writers put under it. Every figure is also given as a ratio of puts/s.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import { connect } from "../rpc/tcp_client.ts";
import { Clerk } from "../kv/clerk.ts";
import { Watcher } from "../kv/watcher.ts";
import { prefixEnd } from "../kv/store.ts";
import { ProcessCluster } from "../cluster/process_cluster.ts";

/** Options of {@linkcode runCoordinationBench}. */
export interface CoordinationBenchOptions {
  /** Closed-loop clients of the put and txn levels. */
  readonly clients: number;
  /** Watchers of the fan-out level. */
  readonly watchers: number;
  /** Seconds per level. */
  readonly seconds: number;
  /** Where lines go; default standard output. */
  readonly print?: (line: string) => void;
}

/** One measured level. */
export interface CoordinationRow {
  readonly level: string;
  readonly perSecond: number;
  readonly detail: string;
}

const LEADER_TIMEOUT_MS = 15_000;
const VALUE = "v".repeat(100);
/** Writers of the fan-out level. */
const FANOUT_WRITERS = 8;

type Servers = ReturnType<typeof connect>[];

/** Runs the three levels on one cluster, prints the table and returns its rows. */
export async function runCoordinationBench(
  options: CoordinationBenchOptions,
): Promise<CoordinationRow[]> {
  assert(options.clients >= 1 && options.watchers >= 1 && options.seconds > 0, "Bad bench options");
  const print = options.print ?? ((line: string) => console.log(line));
  const cluster = await ProcessCluster.start({
    size: 3,
    transport: "tcp",
    maxRaftStateBytes: 8 << 20,
  });
  const servers = cluster.clientAddresses().map((address) => connect(address, { log: () => {} }));
  try {
    await cluster.waitForLeader(LEADER_TIMEOUT_MS);
    const puts = await closedLoop(servers, options, "put");
    const txns = await closedLoop(servers, options, "txn");
    const fanout = await watchFanOut(servers, options);
    const rows: CoordinationRow[] = [
      { level: `puts, ${options.clients} clients`, perSecond: puts, detail: "1.00x puts" },
      {
        level: `txns, ${options.clients} clients`,
        perSecond: txns,
        detail: `${(txns / puts).toFixed(2)}x puts`,
      },
      {
        level: `watch events, ${options.watchers} watchers`,
        perSecond: fanout.eventsPerSecond,
        detail: `${fanout.putsPerSecond.toFixed(0)} puts/s watched by each; ${
          (fanout.eventsPerSecond / puts).toFixed(1)
        }x puts`,
      },
    ];
    print(
      `coordination bench: 3 kv-server processes on loopback with fsync, ${options.seconds} s per level`,
    );
    print(`${"level".padEnd(32)}${"per second".padStart(12)}  detail`);
    for (const row of rows) {
      print(`${row.level.padEnd(32)}${row.perSecond.toFixed(0).padStart(12)}  ${row.detail}`);
    }
    return rows;
  } finally {
    for (const server of servers) server.close();
    await cluster.close();
  }
}

/** Operations per second of closed-loop clients doing puts, or version-checked txns. */
async function closedLoop(
  servers: Servers,
  options: CoordinationBenchOptions,
  kind: "put" | "txn",
): Promise<number> {
  const clerks = Array.from(
    { length: options.clients },
    () => new Clerk(servers, realClock, unseededRandom()),
  );
  await Promise.all(clerks.map((clerk, index) => clerk.put(`${kind}/${index}`, VALUE)));
  let operations = 0;
  const startMs = performance.now();
  const endMs = startMs + options.seconds * 1000;
  await Promise.all(clerks.map(async (clerk, index) => {
    const key = `${kind}/${index}`;
    let version = (await clerk.getVersioned(key)).version;
    while (performance.now() < endMs) {
      if (kind === "put") {
        await clerk.put(key, VALUE);
      } else {
        const reply = await clerk.txn({
          compare: [{ key, target: "version", op: "=", value: version }],
          success: [{ kind: "put", key, value: VALUE }],
          failure: [],
        });
        assert(reply.succeeded === true, `The txn on ${key} at version ${version} failed`);
        version++;
      }
      operations++;
    }
  }));
  for (const clerk of clerks) clerk.close();
  return operations / ((performance.now() - startMs) / 1000);
}

/** Events per second delivered to `options.watchers` watchers of one prefix. */
async function watchFanOut(
  servers: Servers,
  options: CoordinationBenchOptions,
): Promise<{ eventsPerSecond: number; putsPerSecond: number }> {
  const writer = new Clerk(servers, realClock, unseededRandom());
  const start = await writer.send({ kind: "range", key: "", value: "", end: "", limit: 1 });
  writer.close();
  const range = { key: "fan/", end: prefixEnd("fan/") };
  const watchers = Array.from(
    { length: options.watchers },
    () => new Watcher(servers, realClock, range, (start.revision ?? 0) + 1, { waitMs: 500 }),
  );
  let events = 0;
  let puts = 0;
  let writing = true;
  const startMs = performance.now();
  const endMs = startMs + options.seconds * 1000;
  const watching = watchers.map(async (watcher) => {
    // Bounded by the level's time: every poll waits at most 500 ms.
    while (writing) {
      // Read `events` only after the await: `events += await …` would add to a stale total.
      const batch = await watcher.next();
      events += batch.length;
    }
  });
  const writers = Array.from({ length: FANOUT_WRITERS }, async (_, index) => {
    const clerk = new Clerk(servers, realClock, unseededRandom());
    while (performance.now() < endMs) {
      await clerk.put(`fan/${index}`, VALUE);
      puts++;
    }
    clerk.close();
  });
  await Promise.all(writers);
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  writing = false;
  await Promise.all(watching);
  for (const watcher of watchers) watcher.close();
  return { eventsPerSecond: events / elapsedSeconds, putsPerSecond: puts / elapsedSeconds };
}
