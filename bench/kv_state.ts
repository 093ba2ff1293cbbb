/**
 * `dsys bench kv-state`: what a large key/value state costs. It applies N puts of V-byte values
 * through the state machine (as a log would), then measures the snapshot (size, time), a restore
 * in a fresh process of this program (time and resident memory, as a restart or a new follower
 * installing the snapshot pays), and, as the baseline measured in the same run, the same keys
 * held in a `Map` and written whole as MessagePack — the design the SQLite store replaced.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { realClock } from "../util/clock.ts";
import { decode, encode } from "../rpc/codec.ts";
import { KvStateMachine } from "../kv/state_machine.ts";
import { ChildGroup } from "../util/child_process.ts";
import { unseededRandom } from "../util/random.ts";
import { connect } from "../rpc/tcp_client.ts";
import { Clerk } from "../kv/clerk.ts";
import { ProcessCluster } from "../cluster/process_cluster.ts";

/** Most keys one run may load. */
export const MAX_STATE_KEYS = 10_000_000;

/** Options of {@linkcode runKvStateBench}. */
export interface KvStateBenchOptions {
  /** Keys to load. */
  readonly keys: number;
  /** Bytes of each value. */
  readonly valueBytes: number;
  /** Also load the keys into a real 3-node cluster and time a follower installing them. */
  readonly follower?: boolean;
  /** Where the table goes; default standard output. */
  readonly print?: (line: string) => void;
}

/** What one phase measured. */
interface Row {
  readonly what: string;
  readonly seconds: number;
  readonly detail: string;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function timed<T>(body: () => T): { result: T; seconds: number } {
  const startMs = realClock.now();
  const result = body();
  return { result, seconds: (realClock.now() - startMs) / 1000 };
}

/** Loads the state, measures, prints the table, and returns its rows. */
export async function runKvStateBench(options: KvStateBenchOptions): Promise<Row[]> {
  assert(
    Number.isSafeInteger(options.keys) && options.keys >= 1 && options.keys <= MAX_STATE_KEYS,
    `Cannot load ${options.keys} keys: give 1 to ${MAX_STATE_KEYS}`,
  );
  const print = options.print ?? ((line: string) => console.log(line));
  const value = "v".repeat(options.valueBytes);
  const keyOf = (index: number) => `key-${String(index).padStart(8, "0")}`;
  const rows: Row[] = [];
  const machine = new KvStateMachine({ historyRevisions: 0 });
  const load = timed(() => {
    for (let index = 0; index < options.keys; index++) {
      machine.apply(index + 1, {
        clientId: 1,
        sequence: index + 1,
        kind: "put",
        key: keyOf(index),
        value,
      });
    }
  });
  rows.push({
    what: "apply puts",
    seconds: load.seconds,
    detail: `${Math.round(options.keys / load.seconds)} puts/s`,
  });
  const snapshot = timed(() => machine.encodeSnapshot());
  rows.push({
    what: "take snapshot",
    seconds: snapshot.seconds,
    detail: mib(snapshot.result.length),
  });
  const rss = Deno.memoryUsage().rss;
  const folder = await Deno.makeTempDir({ prefix: "dsys-kv-state-" });
  try {
    const path = `${folder}/snapshot`;
    await Deno.writeFile(path, snapshot.result);
    const restart = await restoreInChild(folder, path);
    rows.push({
      what: "restore (fresh process)",
      seconds: restart.seconds,
      detail: `RSS ${mib(restart.rssBytes)} after`,
    });
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
  const baseline = measureMapBaseline(options.keys, keyOf, value);
  rows.push(...baseline);
  if (options.follower === true) {
    const catchUp = await measureFollowerCatchUp(options.keys, options.valueBytes);
    rows.push({
      what: "3 nodes: load through clerks",
      seconds: options.keys / catchUp.loadPutsPerSecond,
      detail: `${Math.round(catchUp.loadPutsPerSecond)} puts/s`,
    });
    rows.push({
      what: "3 nodes: follower installs state",
      seconds: catchUp.catchUpSeconds,
      detail: `its data folder ${mib(catchUp.followerDataBytes)}`,
    });
  }
  print(
    `kv-state bench: ${options.keys} keys of ${options.valueBytes} bytes (this process: RSS ${
      mib(rss)
    } with the state loaded)`,
  );
  print(`${"what".padEnd(32)}${"seconds".padStart(9)}  detail`);
  for (const row of rows) {
    print(`${row.what.padEnd(32)}${row.seconds.toFixed(2).padStart(9)}  ${row.detail}`);
  }
  return rows;
}

/** The replaced design: a Map, written whole as MessagePack and read back into a Map. */
function measureMapBaseline(keys: number, keyOf: (index: number) => string, value: string): Row[] {
  const map = new Map<string, string>();
  for (let index = 0; index < keys; index++) map.set(keyOf(index), value);
  const encoded = timed(() => {
    const flat: string[] = [];
    for (const [key, each] of map) flat.push(key, each);
    return encode({ data: flat });
  });
  const decoded = timed(() => {
    const restored = new Map<string, string>();
    const flat = (decode(encoded.result) as { data: string[] }).data;
    for (let at = 0; at < flat.length; at += 2) restored.set(flat[at], flat[at + 1]);
    return restored.size;
  });
  return [
    {
      what: "baseline: Map as MessagePack",
      seconds: encoded.seconds,
      detail: mib(encoded.result.length),
    },
    {
      what: "baseline: MessagePack to Map",
      seconds: decoded.seconds,
      detail: `${decoded.result} keys`,
    },
  ];
}

/** Restores the snapshot at `path` in a fresh process; its time and resident memory after. */
async function restoreInChild(
  folder: string,
  path: string,
): Promise<{ seconds: number; rssBytes: number }> {
  const group = new ChildGroup();
  try {
    const exit = await group.spawn(["bench", "kv-state", "--restore", path], { cwd: folder })
      .exited;
    const match = /restored in ([\d.]+) s, RSS (\d+)/.exec(exit.output);
    if (exit.code !== 0 || match === null) {
      throw new Error(`The restoring process failed (code ${exit.code}): ${exit.output}`);
    }
    return { seconds: Number(match[1]), rssBytes: Number(match[2]) };
  } finally {
    await group.killAll();
  }
}

/** The child's side: restores the snapshot at `path` and prints the time and resident memory. */
export async function restoreSnapshotFile(path: string): Promise<void> {
  const bytes = await Deno.readFile(path);
  const machine = new KvStateMachine();
  const restore = timed(() => machine.restoreSnapshot(bytes));
  console.log(
    `restored in ${
      restore.seconds.toFixed(3)
    } s, RSS ${Deno.memoryUsage().rss}, ${machine.appliedIndex} entries`,
  );
}

/** What {@linkcode measureFollowerCatchUp} measured. */
export interface FollowerCatchUp {
  /** Puts per second while loading the keys into a 3-node cluster missing one follower. */
  readonly loadPutsPerSecond: number;
  /** Seconds from restarting the follower until it applied everything the leader had. */
  readonly catchUpSeconds: number;
  /** Bytes of the follower's data folder afterwards (its snapshot, log and state). */
  readonly followerDataBytes: number;
}

/**
 * A follower that missed a whole state: a 3-node real cluster (kv-server processes, fsync),
 * one follower stopped while `keys` puts of `valueBytes` go in (the leader snapshots past
 * 64 MiB of log), then restarted: it must install the leader's snapshot, streamed in chunks.
 */
export async function measureFollowerCatchUp(
  keys: number,
  valueBytes: number,
): Promise<FollowerCatchUp> {
  const cluster = await ProcessCluster.start({
    size: 3,
    transport: "tcp",
    maxRaftStateBytes: 64 * 1024 * 1024,
  });
  const servers = cluster.clientAddresses().map((address) => connect(address, { log: () => {} }));
  try {
    const leader = await cluster.waitForLeader(30_000);
    const follower = cluster.ids.find((id) => id !== leader)!;
    await cluster.kill(follower);
    const value = "v".repeat(valueBytes);
    const clients = 64;
    const loadStartMs = realClock.now();
    await Promise.all(Array.from({ length: clients }, async (_, client) => {
      const clerk = new Clerk(servers, realClock, unseededRandom());
      for (let index = client; index < keys; index += clients) {
        await clerk.put(`key-${String(index).padStart(8, "0")}`, value);
      }
      clerk.close();
    }));
    const loadSeconds = (realClock.now() - loadStartMs) / 1000;
    const target = (await cluster.status(leader))?.appliedIndex ?? 0;
    const startMs = realClock.now();
    await cluster.startNode(follower);
    // Bounded: gives up after ten minutes.
    for (;;) {
      const applied = (await cluster.status(follower))?.appliedIndex ?? 0;
      if (applied >= target) break;
      if (realClock.now() - startMs > 600_000) throw new Error(`Node ${follower} never caught up`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const catchUpSeconds = (realClock.now() - startMs) / 1000;
    return {
      loadPutsPerSecond: keys / loadSeconds,
      catchUpSeconds,
      followerDataBytes: await folderBytes(cluster.dataDir(follower)),
    };
  } finally {
    for (const server of servers) server.close();
    await cluster.close();
  }
}

async function folderBytes(folder: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(folder)) {
    const path = `${folder}/${entry.name}`;
    total += entry.isDirectory ? await folderBytes(path) : (await Deno.stat(path)).size;
  }
  return total;
}
