/**
 * A cluster of `kv-server` (or `raft-peer`) processes of this program on this machine, with a
 * data folder each: what the demo, the benchmark, the fault suite and the tests start. Nodes
 * listen on Unix sockets in the cluster's folder (so a restarted node never finds its address
 * taken) or on free loopback TCP ports, and can be wired through a {@linkcode LinkProxy} so that
 * single links can be cut. Nodes are killed (-9 by default) and restarted on their own folders;
 * the cluster polls their `Status` until it reaches a state, and runs `dsys kv` clients against
 * itself. Spare nodes have an address and a folder from the start but are started later, with
 * `--join`, to be added to the running cluster with `dsys member add` as an operator would.
 *
 * Every process and socket is released by {@linkcode ProcessCluster.close}, as Deno's test
 * sanitizers require.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { errorText } from "../util/error_text.ts";
import { type Random, unseededRandom } from "../util/random.ts";
import {
  type Child,
  type ChildExit,
  ChildGroup,
  waitUntilListening,
} from "../util/child_process.ts";
import {
  currentLeader,
  DEFAULT_STATUS_TIMEOUT_MS,
  fetchStatus,
  type NodeStatus,
  type StatusRow,
} from "../peer/status.ts";
import { LinkProxy } from "./link_proxy.ts";
import {
  loadTransportSecurity,
  type SecurityFiles,
  type TransportSecurity,
} from "../security/transport_security.ts";
import { securityEnv } from "../security/security_options.ts";
import { type CommandResult, KvShell, runKvCommand } from "./kv_clients.ts";

/** Most nodes a cluster may have. */
export const MAX_CLUSTER_NODES = 16;
/** How long a node may take from spawn to listening (a restart replays its log first). */
export const NODE_START_TIMEOUT_MS = 20_000;
/** Pause between status polls while waiting for the cluster to reach a state. */
const POLL_MS = 50;

/** Options of {@linkcode ProcessCluster.start}. */
export interface ProcessClusterOptions {
  /** Number of nodes that set up the cluster (its `--peers`), all started at once. */
  readonly size: number;
  /**
   * Spare nodes, ids `size` onwards: their addresses and folders are reserved at start, but
   * they run only once {@linkcode ProcessCluster.startNode} starts them, with `--join`. Default
   * 0. Not with `proxied`: a joined node dials the addresses the membership records.
   */
  readonly spares?: number;
  /** Which program the nodes run; default `kv-server`. */
  readonly kind?: NodeStatus["kind"];
  /** `--maxraftstate` of kv-server nodes; omitted: never snapshot. */
  readonly maxRaftStateBytes?: number;
  /**
   * `unix` (the default): sockets in the cluster's folder. `tcp`: loopback ports that were free
   * at start, the addresses a user would type.
   */
  readonly transport?: "unix" | "tcp";
  /**
   * Wire every node-to-node and client-to-node connection through a link proxy (links `i->j`
   * and `client->k`); the proxy's lossy links draw from `random`.
   */
  readonly proxied?: { readonly random: Random };
  /**
   * TLS and cluster-secret files every node and `dsys kv` client is started with (as `DSYS_*`
   * environment variables), and the cluster's own status polls use. TLS needs `tcp`.
   */
  readonly security?: SecurityFiles;
  /**
   * An existing folder for the nodes' data folders (`node-<id>`), which the caller removes.
   * Default: a new temporary folder, removed by {@linkcode ProcessCluster.close}.
   */
  readonly dir?: string;
  /** More arguments for node `id`'s command line, as `--metrics 127.0.0.1:9100`; default none. */
  readonly nodeArgs?: (id: number) => readonly string[];
}

/** One node: where it lives and its current incarnation. */
interface NodeSlot {
  readonly id: number;
  readonly listenAddress: string;
  readonly dataDir: string;
  /** Whether it joins a running cluster (a spare) rather than being one of `--peers`. */
  readonly joins: boolean;
  child: Child | null;
  /** How many times this node was started. */
  starts: number;
}

/** A running cluster of processes; see the module documentation. */
export class ProcessCluster {
  /** Number of nodes that set up the cluster. */
  readonly size: number;
  /** The ids of the nodes that set up the cluster, in order: 0 to `size - 1`. */
  readonly ids: readonly number[];
  /** The ids of the spare nodes, in order, after `ids`. */
  readonly spareIds: readonly number[];
  /** The folder holding the nodes' data folders (and sockets). */
  readonly root: string;
  /** The proxy the nodes talk through, when proxied. */
  readonly proxy: LinkProxy | null;
  readonly #options: ProcessClusterOptions;
  readonly #nodes: NodeSlot[];
  readonly #group = new ChildGroup();
  readonly #shells = new Set<KvShell>();
  /** What the cluster's own status polls use: the nodes' security, loaded once. */
  readonly #security: TransportSecurity | undefined;
  /** What each child process is given, so that it runs with the cluster's security. */
  readonly #env: Record<string, string>;

  private constructor(
    root: string,
    options: ProcessClusterOptions,
    security: TransportSecurity | undefined,
  ) {
    this.#security = security;
    this.#env = securityEnv(options.security);
    this.size = options.size;
    this.ids = Array.from({ length: options.size }, (_, id) => id);
    this.spareIds = Array.from({ length: options.spares ?? 0 }, (_, spare) => options.size + spare);
    this.root = root;
    this.#options = options;
    const slots = [...this.ids, ...this.spareIds];
    const addresses = options.transport === "tcp"
      ? freeLoopbackAddresses(slots.length)
      : slots.map((id) => `unix:${root}/node-${id}.sock`);
    this.#nodes = slots.map((id) => ({
      id,
      listenAddress: addresses[id],
      dataDir: `${root}/node-${id}`,
      joins: id >= options.size,
      child: null,
      starts: 0,
    }));
    this.proxy = options.proxied === undefined
      ? null
      : new LinkProxy({ random: options.proxied.random });
    if (this.proxy !== null) this.#addLinks(this.proxy);
  }

  /** Starts `options.size` nodes (not the spares) and waits until each listens. */
  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const spares = options.spares ?? 0;
    assert(
      options.size >= 1 && Number.isSafeInteger(spares) && spares >= 0 &&
        options.size + spares <= MAX_CLUSTER_NODES,
      `Cannot start a cluster of ${options.size} nodes and ${spares} spares: 1 to ${MAX_CLUSTER_NODES} nodes in all are allowed`,
    );
    assert(
      spares === 0 || options.proxied === undefined,
      `Cannot reserve ${spares} spares in a proxied cluster: joined nodes dial members directly`,
    );
    const security = options.security === undefined
      ? undefined
      : await loadTransportSecurity(options.security);
    const root = options.dir ?? await Deno.makeTempDir({ prefix: "dsys-cluster-" });
    const cluster = new ProcessCluster(root, options, security);
    try {
      await Promise.all(cluster.ids.map((id) => cluster.startNode(id)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  #addLinks(proxy: LinkProxy): void {
    for (const to of this.#nodes) {
      for (const from of this.#nodes) {
        if (from.id !== to.id) proxy.addLink(`${from.id}->${to.id}`, to.listenAddress);
      }
      proxy.addLink(`client->${to.id}`, to.listenAddress);
    }
  }

  /** The `--peers` list node `id` is started with: its own address, and links to the others. */
  #peerList(id: number): string[] {
    return this.#nodes.filter((node) => !node.joins).map((node) =>
      node.id === id || this.proxy === null
        ? node.listenAddress
        : this.proxy.link(`${id}->${node.id}`).address
    );
  }

  /** The addresses clients dial for `ids` (every node by default): through the proxy if any. */
  clientAddresses(ids: readonly number[] = this.ids): string[] {
    return ids.map((id) =>
      this.proxy === null ? this.#node(id).listenAddress : this.proxy.link(`client->${id}`).address
    );
  }

  /** The data folder of node `id`. */
  dataDir(id: number): string {
    return this.#node(id).dataDir;
  }

  /** Whether node `id` runs now. */
  isRunning(id: number): boolean {
    const child = this.#node(id).child;
    return child !== null && !child.hasExited;
  }

  /** How many times node `id` was started. */
  starts(id: number): number {
    return this.#node(id).starts;
  }

  /** The address node `id` listens on, which `dsys member add --address` gives the cluster. */
  listenAddress(id: number): string {
    return this.#node(id).listenAddress;
  }

  /**
   * Starts node `id` on its own data folder and waits until it listens: with its `--peers` when
   * it set the cluster up, with `--join --listen` when it is a spare (the first time with an
   * empty folder, later on the files of the cluster it joined). Throws with the node's output if
   * it exits first (it refused its files, say).
   */
  async startNode(id: number): Promise<void> {
    const node = this.#node(id);
    assert(!this.isRunning(id), `Cannot start node ${id}: it is running`);
    const kind = this.#options.kind ?? "kv-server";
    const maxRaftStateBytes = this.#options.maxRaftStateBytes;
    const placement = node.joins
      ? ["--join", "--listen", node.listenAddress]
      : ["--peers", this.#peerList(id).join(",")];
    const args = [
      kind,
      "--id",
      `${id}`,
      ...placement,
      "--data",
      node.dataDir,
      ...(maxRaftStateBytes === undefined ? [] : ["--maxraftstate", `${maxRaftStateBytes}`]),
      ...(this.#options.nodeArgs?.(id) ?? []),
    ];
    node.child = this.#group.spawn(args, { cwd: this.root, env: this.#env });
    node.starts++;
    try {
      await waitUntilListening(node.child, node.listenAddress, NODE_START_TIMEOUT_MS);
    } catch (error) {
      throw new Error(`Node ${id} (start ${node.starts}) did not come up: ${errorText(error)}`);
    }
  }

  /** Sends `signal` to node `id` (default SIGKILL) and waits until it is gone. */
  async kill(id: number, signal: Deno.Signal = "SIGKILL"): Promise<ChildExit> {
    const child = this.#node(id).child;
    assert(child !== null, `Cannot kill node ${id}: it was never started`);
    return await child.kill(signal);
  }

  /**
   * Sends `signal` to node `id` without waiting for it to exit: SIGSTOP freezes it (as a long
   * pause of its process would), SIGCONT lets it go on with its state and its clock's jump.
   */
  signal(id: number, signal: Deno.Signal): void {
    const child = this.#node(id).child;
    assert(child !== null, `Cannot signal node ${id}: it was never started`);
    child.signal(signal);
  }

  /** Node `id`'s exit if it exited although nobody killed it, else null. */
  async unexpectedExit(id: number): Promise<ChildExit | null> {
    const child = this.#node(id).child;
    if (child === null || !child.hasExited) return null;
    return await child.exited;
  }

  /** Node `id`'s status, or null when it does not answer. Asks directly, never via the proxy. */
  async status(id: number): Promise<NodeStatus | null> {
    return (await this.#statusRows([id]))[0].status;
  }

  /**
   * The status rows of `ids` (the nodes that set the cluster up by default) in that order,
   * unreachable nodes included as such.
   */
  statusRows(ids: readonly number[] = this.ids): Promise<StatusRow[]> {
    return this.#statusRows(ids);
  }

  #statusRows(ids: readonly number[]): Promise<StatusRow[]> {
    return Promise.all(
      ids.map((id) =>
        fetchStatus(this.#node(id).listenAddress, DEFAULT_STATUS_TIMEOUT_MS, this.#security)
      ),
    );
  }

  /**
   * Waits until one of `ids` (every node by default) is leader of a term no other node of `ids`
   * has passed, and returns its id. Throws after `timeoutMs` with the statuses seen last.
   */
  waitForLeader(timeoutMs: number, ids: readonly number[] = this.ids): Promise<number> {
    return this.#waitFor(ids, timeoutMs, `No leader among nodes ${ids.join(", ")}`, (rows) => {
      const leader = currentLeader(rows);
      return leader === -1 ? null : leader;
    });
  }

  /**
   * Waits until every node of `ids` answers with the same term, leader, commit index and applied
   * index, and applied equals commit; returns those statuses. Throws after `timeoutMs`.
   */
  waitForConvergence(
    timeoutMs: number,
    ids: readonly number[] = this.ids,
  ): Promise<NodeStatus[]> {
    return this.#waitFor(ids, timeoutMs, `Nodes ${ids.join(", ")} did not converge`, converged);
  }

  /**
   * Polls the status of `ids` (the nodes that set the cluster up by default) until `done(rows)`
   * holds, returning those rows; throws after `timeoutMs` with the last rows, so a failure says
   * where the cluster stood.
   */
  waitForStatus(
    done: (rows: StatusRow[]) => boolean,
    timeoutMs: number,
    what: string,
    ids: readonly number[] = this.ids,
  ): Promise<StatusRow[]> {
    return this.#waitFor(
      ids,
      timeoutMs,
      `Cluster did not reach ${what}`,
      (rows) => done(rows) ? rows : null,
    );
  }

  /** Polls the status of `ids` until `found` gives a result; throws `failure` after `timeoutMs`. */
  async #waitFor<Result>(
    ids: readonly number[],
    timeoutMs: number,
    failure: string,
    found: (rows: StatusRow[]) => Result | null,
  ): Promise<Result> {
    const deadlineMs = performance.now() + timeoutMs;
    let rows: StatusRow[] = [];
    while (performance.now() < deadlineMs) {
      rows = await this.#statusRows(ids);
      const result = found(rows);
      if (result !== null) return result;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`${failure} within ${timeoutMs} ms: ${describeRows(rows)}`);
  }

  /**
   * Runs `dsys kv --servers <servers> --timeout <seconds> <args…>` to its end and returns its exit
   * code and output.
   */
  runKv(
    servers: readonly string[],
    timeoutSeconds: number,
    args: readonly string[],
  ): Promise<CommandResult> {
    return runKvCommand(servers, timeoutSeconds, args, this.root, this.#env);
  }

  /** Starts a `dsys kv shell` client of `servers` whose operations give up after `timeoutSeconds`. */
  startShell(servers: readonly string[], timeoutSeconds: number): KvShell {
    const shell = new KvShell(servers, timeoutSeconds, this.root, this.#env);
    this.#shells.add(shell);
    return shell;
  }

  /**
   * Splits the nodes into `groups`: every link between nodes of different groups is black-holed
   * (both directions), every link inside a group is healed. Client links stay as they are, so a
   * client pinned to a group reaches it. Needs a proxied cluster.
   */
  partition(groups: ReadonlyArray<readonly number[]>): void {
    const proxy = this.proxy;
    assert(proxy !== null, "Cannot partition a cluster that is not proxied");
    const groupOf = new Map<number, number>();
    groups.forEach((group, index) => group.forEach((id) => groupOf.set(id, index)));
    assert(groupOf.size === this.size, `Groups ${JSON.stringify(groups)} do not cover the nodes`);
    for (const from of this.#nodes) {
      for (const to of this.#nodes) {
        if (from.id === to.id) continue;
        const link = proxy.link(`${from.id}->${to.id}`);
        if (groupOf.get(from.id) === groupOf.get(to.id)) link.heal();
        else link.cut("blackhole");
      }
    }
  }

  /** Heals every link of the proxy: node links and client links alike. */
  healAll(): void {
    assert(this.proxy !== null, "Cannot heal a cluster that is not proxied");
    for (const link of this.proxy.links()) link.heal();
  }

  /**
   * Closes every shell, kills every node, closes the proxy and removes the folder unless the
   * caller gave it; the cluster cannot start nodes afterwards.
   */
  async close(): Promise<void> {
    await Promise.all([...this.#shells].map((shell) => shell.close()));
    await this.#group.killAll();
    await this.proxy?.close();
    if (this.#options.dir === undefined) await Deno.remove(this.root, { recursive: true });
  }

  #node(id: number): NodeSlot {
    const node = this.#nodes[id];
    assert(node !== undefined, `The cluster has no node ${id}`);
    return node;
  }
}

/** The statuses when every one is present and agrees on term, leader, commit and applied index. */
function converged(rows: readonly StatusRow[]): NodeStatus[] | null {
  const statuses = rows.map((row) => row.status);
  const first = statuses[0];
  if (first === null || first === undefined || first.leader < 0) return null;
  const agree = statuses.every((status) =>
    status !== null && status.term === first.term && status.leader === first.leader &&
    status.commitIndex === first.commitIndex && status.appliedIndex === first.commitIndex
  );
  return agree ? statuses as NodeStatus[] : null;
}

/** What a failed wait saw: each node's role, term, leader and indexes, or why it did not answer. */
function describeRows(rows: readonly StatusRow[]): string {
  return JSON.stringify(rows.map((row) => {
    const status = row.status;
    if (status === null) return { address: row.address, error: row.error };
    const { id, role, term, leader, commitIndex, appliedIndex } = status;
    return { id, role, term, leader, commitIndex, appliedIndex };
  }));
}

/**
 * Where {@linkcode freeLoopbackPorts} looks: below the ephemeral ports the system hands out as
 * the local ports of outgoing connections (32768 onwards on Linux, 49152 on macOS). A port up
 * there can be taken between its check and its use, or while its node is down, by any
 * connection on the machine (a client redialling that very port included), and the node then
 * cannot listen again.
 */
const FREE_PORT_RANGE = { first: 20_000, end: 32_768 } as const;
/** Places in the range tried before giving up: a bound for a machine whose ports are all taken. */
const FREE_PORT_ATTEMPTS = 100;

/**
 * The first of `count` consecutive loopback ports that were free a moment ago, from a random
 * place below the ephemeral ports: each is bound, then all are released.
 */
export function freeLoopbackPorts(count: number): number {
  const span = FREE_PORT_RANGE.end - FREE_PORT_RANGE.first;
  assert(
    Number.isSafeInteger(count) && count >= 1 && count <= span,
    `Cannot find ${count} consecutive free ports: 1 to ${span} may be asked for`,
  );
  const random = unseededRandom();
  for (let attempt = 0; attempt < FREE_PORT_ATTEMPTS; attempt++) {
    const base = FREE_PORT_RANGE.first + random.int(span - count + 1);
    const listeners: Deno.Listener[] = [];
    try {
      for (let port = base; port < base + count; port++) {
        listeners.push(Deno.listen({ hostname: "127.0.0.1", port }));
      }
      return base;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      // One of them is taken: try another place.
    } finally {
      for (const listener of listeners) listener.close();
    }
  }
  throw new Error(
    `Found no ${count} consecutive free loopback ports in ${FREE_PORT_ATTEMPTS} attempts`,
  );
}

/** `count` loopback addresses on consecutive ports that were free a moment ago. */
export function freeLoopbackAddresses(count: number): string[] {
  const base = freeLoopbackPorts(count);
  return Array.from({ length: count }, (_, offset) => `127.0.0.1:${base + offset}`);
}
