/**
 * A cluster of `kv-server` (or `raft-peer`) processes of this program on this machine, on free
 * loopback ports with a data folder each: what the demo, the benchmark and the tests start.
 * Nodes can be killed (-9 by default) and restarted on their own folders; `stop` kills and reaps
 * every process, so Deno's test sanitizers stay quiet.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Child, type ChildExit, ChildGroup, type ChildOutput } from "../util/child_process.ts";
import { waitUntilListening } from "../util/child_process.ts";
import { currentLeader, fetchStatuses, type StatusRow } from "../peer/status.ts";

/** Most nodes a local cluster may have. */
export const MAX_LOCAL_NODES = 16;
/** How long a node may take to start listening. */
const LISTEN_TIMEOUT_MS = 30_000;
/** Pause between status polls while waiting for a leader or for a node to catch up. */
const POLL_MS = 50;
/** How long a status call may take before the node counts as unreachable. */
const STATUS_TIMEOUT_MS = 500;

/** How to start a {@linkcode LocalCluster}. */
export interface LocalClusterOptions {
  /** Number of nodes. */
  readonly size: number;
  /** Folder holding each node's data folder (`node-<id>`); it must exist. */
  readonly baseDir: string;
  /** Which program the nodes run; default `kv-server`. */
  readonly kind?: "kv-server" | "raft-peer";
  /** `--maxraftstate` of kv-server nodes; default -1 (never snapshot). */
  readonly maxRaftStateBytes?: number;
  /** What happens to the nodes' output; default `piped` (the tail is kept for errors). */
  readonly output?: ChildOutput;
}

/** A running local cluster; see the module documentation. */
export class LocalCluster {
  /** Every node's address, in id order. */
  readonly addresses: readonly string[];
  readonly #options: LocalClusterOptions;
  readonly #group = new ChildGroup();
  readonly #children: (Child | null)[];

  private constructor(options: LocalClusterOptions, addresses: readonly string[]) {
    this.#options = options;
    this.addresses = addresses;
    this.#children = addresses.map(() => null);
  }

  /** Picks free ports, starts every node, and waits until all of them listen. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    assert(
      options.size >= 1 && options.size <= MAX_LOCAL_NODES,
      `Cannot start a cluster of ${options.size} nodes: 1 to ${MAX_LOCAL_NODES} are allowed`,
    );
    const cluster = new LocalCluster(options, freeLoopbackAddresses(options.size));
    try {
      for (let id = 0; id < options.size; id++) cluster.#spawn(id);
      await Promise.all(cluster.addresses.map((_, id) => cluster.#waitListening(id)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The data folder of node `id`. */
  dataDir(id: number): string {
    return `${this.#options.baseDir}/node-${id}`;
  }

  /** Whether node `id` runs. */
  isRunning(id: number): boolean {
    const child = this.#children[id];
    return child !== null && !child.hasExited;
  }

  /** Sends `signal` to node `id` (default SIGKILL) and waits for it to exit. */
  async kill(id: number, signal: Deno.Signal = "SIGKILL"): Promise<ChildExit> {
    const child = this.#children[id];
    assert(child !== null, `Node ${id} was never started`);
    if (!child.hasExited) {
      try {
        Deno.kill(child.pid, signal);
      } catch {
        // It exited between the check and the kill.
      }
    }
    return await child.exited;
  }

  /** Starts node `id` again on its own data folder and waits until it listens. */
  async restart(id: number): Promise<void> {
    assert(!this.isRunning(id), `Cannot restart node ${id}: it is running`);
    this.#spawn(id);
    await this.#waitListening(id);
  }

  /** Every node's status (unreachable nodes included as such). */
  async status(): Promise<StatusRow[]> {
    return await fetchStatuses(this.addresses, STATUS_TIMEOUT_MS);
  }

  /**
   * Waits until some node other than those in `excluding` leads, and returns its id; throws
   * after `timeoutMs`.
   */
  async waitForLeader(timeoutMs: number, excluding: readonly number[] = []): Promise<number> {
    const deadlineMs = performance.now() + timeoutMs;
    while (performance.now() < deadlineMs) {
      const leader = currentLeader(await this.status());
      if (leader !== -1 && !excluding.includes(leader)) return leader;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`No leader among ${this.addresses.join(", ")} within ${timeoutMs} ms`);
  }

  /**
   * Polls status until `done(rows)` holds, returning those rows; throws after `timeoutMs`
   * with the last rows, so a failure says where the cluster stood.
   */
  async waitForStatus(
    done: (rows: StatusRow[]) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<StatusRow[]> {
    const deadlineMs = performance.now() + timeoutMs;
    let rows: StatusRow[] = [];
    while (performance.now() < deadlineMs) {
      rows = await this.status();
      if (done(rows)) return rows;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(
      `Cluster did not reach ${what} within ${timeoutMs} ms: ${JSON.stringify(rows)}`,
    );
  }

  /** Kills and reaps every node; the cluster cannot start nodes afterwards. */
  async stop(): Promise<void> {
    await this.#group.killAll();
  }

  /** The output tail of node `id`'s last incarnation, once it exited (piped output only). */
  async outputOf(id: number): Promise<string> {
    const child = this.#children[id];
    assert(child !== null && child.hasExited, `Node ${id} has not exited`);
    return (await child.exited).output;
  }

  #spawn(id: number): void {
    const kind = this.#options.kind ?? "kv-server";
    const args = [
      kind,
      "--id",
      String(id),
      "--peers",
      this.addresses.join(","),
      "--data",
      this.dataDir(id),
    ];
    if (kind === "kv-server") {
      args.push("--maxraftstate", String(this.#options.maxRaftStateBytes ?? -1));
    }
    this.#children[id] = this.#group.spawn(args, {
      cwd: this.#options.baseDir,
      output: this.#options.output ?? "piped",
    });
  }

  async #waitListening(id: number): Promise<void> {
    const child = this.#children[id];
    assert(child !== null, `Node ${id} was never started`);
    await waitUntilListening(child, this.addresses[id], LISTEN_TIMEOUT_MS);
  }
}

/**
 * `count` loopback addresses whose ports were free a moment ago: each is bound to port 0 and
 * released, all at once so no two are the same.
 */
export function freeLoopbackAddresses(count: number): string[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const addresses = listeners.map((listener) => `127.0.0.1:${listener.addr.port}`);
  for (const listener of listeners) listener.close();
  return addresses;
}
