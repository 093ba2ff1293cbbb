/**
 * Real key/value clusters for fault tests: `dsys kv-server` processes on Unix sockets in a temp
 * folder (so a restarted node never finds its address taken), optionally wired through a
 * {@linkcode LinkProxy} so that single links can be cut; nodes killed with -9 and restarted on
 * their own data folders; `dsys kv` one-shot commands and `dsys kv shell` clients whose results
 * become a history for the linearizability checker.
 *
 * Every process and socket is released by {@linkcode KvCluster.close}, as Deno's test
 * sanitizers require.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { errorText } from "../util/error_text.ts";
import { connect } from "../rpc/tcp_client.ts";
import { selfCommand } from "../util/self_command.ts";
import {
  type Child,
  type ChildExit,
  ChildGroup,
  waitUntilListening,
} from "../util/child_process.ts";
import type { Operation, OperationKind } from "../linearizability/mod.ts";
import { UNKNOWN_RETURN_MS } from "../linearizability/mod.ts";
import { LinkProxy } from "./link_proxy.ts";
import type { Random } from "../util/random.ts";

/** How long a node may take from spawn to listening (a restart replays its log first). */
export const NODE_START_TIMEOUT_MS = 20_000;
/** How long a `Status` call may take before the node counts as not answering. */
export const STATUS_TIMEOUT_MS = 1_000;
/** Pause between polls while waiting for the cluster to reach a state. */
const POLL_MS = 50;

/** The part of a node's `Status` answer the fault tests read. */
export interface NodeState {
  /** The node's id. */
  readonly id: number;
  /** follower, candidate or leader. */
  readonly role: string;
  /** Its current term. */
  readonly term: number;
  /** Who it believes leads, or -1. */
  readonly leader: number;
  /** Highest index it knows committed. */
  readonly commitIndex: number;
  /** Highest index applied to its state machine. */
  readonly appliedIndex: number;
}

/** Options of {@linkcode KvCluster.start}. */
export interface ClusterOptions {
  /** Number of nodes. */
  readonly size: number;
  /** `--maxraftstate` of every node; omitted: never snapshot. */
  readonly maxRaftStateBytes?: number;
  /**
   * Wire every node-to-node and client-to-node connection through a link proxy (links `i->j`
   * and `client->k`); the proxy's lossy links draw from `random`.
   */
  readonly proxied?: { readonly random: Random };
}

/** One node: where it lives and its current incarnation. */
interface NodeSlot {
  readonly id: number;
  readonly listenAddress: string;
  readonly dataDir: string;
  child: Child | null;
  /** How many times this node was started. */
  starts: number;
}

/** A running cluster of `kv-server` processes. */
export class KvCluster {
  /** Number of nodes. */
  readonly size: number;
  /** The temp folder holding sockets and data folders. */
  readonly root: string;
  /** The proxy the nodes talk through, when proxied. */
  readonly proxy: LinkProxy | null;
  readonly #nodes: NodeSlot[];
  readonly #maxRaftStateBytes: number | undefined;
  readonly #group = new ChildGroup();
  readonly #shells = new Set<KvShell>();

  private constructor(root: string, options: ClusterOptions) {
    assert(options.size > 0 && options.size <= 9, `Cluster size ${options.size} is not 1 to 9`);
    this.size = options.size;
    this.root = root;
    this.#maxRaftStateBytes = options.maxRaftStateBytes;
    this.#nodes = Array.from({ length: options.size }, (_, id) => ({
      id,
      listenAddress: `unix:${root}/node-${id}.sock`,
      dataDir: `${root}/node-${id}`,
      child: null,
      starts: 0,
    }));
    this.proxy = options.proxied === undefined
      ? null
      : new LinkProxy({ random: options.proxied.random });
    if (this.proxy !== null) this.#addLinks(this.proxy);
  }

  /** Starts `options.size` nodes and waits until each listens. */
  static async start(options: ClusterOptions): Promise<KvCluster> {
    const root = await Deno.makeTempDir({ prefix: "dsys-cluster-" });
    const cluster = new KvCluster(root, options);
    try {
      await Promise.all(cluster.#nodes.map((node) => cluster.startNode(node.id)));
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
  peerList(id: number): string[] {
    return this.#nodes.map((node) =>
      node.id === id || this.proxy === null
        ? node.listenAddress
        : this.proxy.link(`${id}->${node.id}`).address
    );
  }

  /** The addresses clients dial for `ids` (every node by default): through the proxy if any. */
  clientAddresses(ids: readonly number[] = this.#nodes.map((node) => node.id)): string[] {
    return ids.map((id) =>
      this.proxy === null ? this.#node(id).listenAddress : this.proxy.link(`client->${id}`).address
    );
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

  /**
   * Starts node `id` on its own data folder and waits until it listens. Throws with the node's
   * output if it exits first (it refused its files, say).
   */
  async startNode(id: number): Promise<void> {
    const node = this.#node(id);
    assert(!this.isRunning(id), `Cannot start node ${id}: it is running`);
    const args = [
      "kv-server",
      "--id",
      `${id}`,
      "--peers",
      this.peerList(id).join(","),
      "--data",
      node.dataDir,
      ...(this.#maxRaftStateBytes === undefined
        ? []
        : ["--maxraftstate", `${this.#maxRaftStateBytes}`]),
    ];
    node.child = this.#group.spawn(args, { cwd: this.root });
    node.starts++;
    try {
      await waitUntilListening(node.child, node.listenAddress, NODE_START_TIMEOUT_MS);
    } catch (error) {
      throw new Error(`Node ${id} (start ${node.starts}) did not come up: ${errorText(error)}`);
    }
  }

  /** Kills node `id` with SIGKILL and waits until it is gone; returns how it ended. */
  async kill(id: number): Promise<ChildExit> {
    const child = this.#node(id).child;
    assert(child !== null, `Cannot kill node ${id}: it was never started`);
    if (!child.hasExited) {
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch {
        // It exited on its own between the check and the kill; its exit says how.
      }
    }
    return await child.exited;
  }

  /** Node `id`'s exit if it exited although nobody killed it, else null. */
  async unexpectedExit(id: number): Promise<ChildExit | null> {
    const child = this.#node(id).child;
    if (child === null || !child.hasExited) return null;
    return await child.exited;
  }

  /** Node `id`'s `Status`, or null when it does not answer. Asks directly, never via the proxy. */
  async status(id: number): Promise<NodeState | null> {
    const client = connect(this.#node(id).listenAddress, {
      log: () => {},
      connectTimeoutMs: STATUS_TIMEOUT_MS,
    });
    try {
      const answer = await client.call("Status", null, { timeoutMs: STATUS_TIMEOUT_MS });
      return readState(answer);
    } catch {
      return null;
    } finally {
      client.close();
    }
  }

  /** Every node's status in id order (null for one that does not answer). */
  statuses(): Promise<Array<NodeState | null>> {
    return Promise.all(this.#nodes.map((node) => this.status(node.id)));
  }

  /**
   * Waits until one of `ids` is leader of a term no other node of `ids` has passed, and returns
   * its id. Throws after `timeoutMs` with the statuses seen last.
   */
  async waitForLeader(
    timeoutMs: number,
    ids: readonly number[] = this.#nodes.map((node) => node.id),
  ): Promise<number> {
    let seen: Array<NodeState | null> = [];
    for (let waitedMs = 0; waitedMs <= timeoutMs; waitedMs += POLL_MS) {
      seen = await Promise.all(ids.map((id) => this.status(id)));
      const highestTerm = Math.max(...seen.map((state) => state?.term ?? 0));
      const leader = seen.find((state) => state?.role === "leader" && state.term === highestTerm);
      if (leader !== undefined && leader !== null) return leader.id;
      await pause(POLL_MS);
    }
    throw new Error(
      `No leader among nodes ${ids.join(", ")} within ${timeoutMs} ms: ${JSON.stringify(seen)}`,
    );
  }

  /**
   * Waits until every node of `ids` answers with the same term, leader, commit index and applied
   * index, and applied equals commit; returns those statuses. Throws after `timeoutMs`.
   */
  async waitForConvergence(
    timeoutMs: number,
    ids: readonly number[] = this.#nodes.map((node) => node.id),
  ): Promise<NodeState[]> {
    let seen: Array<NodeState | null> = [];
    for (let waitedMs = 0; waitedMs <= timeoutMs; waitedMs += POLL_MS) {
      seen = await Promise.all(ids.map((id) => this.status(id)));
      if (converged(seen)) return seen as NodeState[];
      await pause(POLL_MS);
    }
    throw new Error(
      `Nodes ${ids.join(", ")} did not converge within ${timeoutMs} ms: ${JSON.stringify(seen)}`,
    );
  }

  /**
   * Runs `dsys kv --servers <servers> --timeout <seconds> <args…>` to its end and returns its exit
   * code and output.
   */
  async runKv(
    servers: readonly string[],
    timeoutSeconds: number,
    args: readonly string[],
  ): Promise<CommandResult> {
    const [program, ...programArgs] = selfCommand([
      "kv",
      "--servers",
      servers.join(","),
      "--timeout",
      `${timeoutSeconds}`,
      ...args,
    ]);
    const callMs = wallClockMs();
    const output = await new Deno.Command(program, {
      args: programArgs,
      cwd: this.root,
      stdin: "null",
    }).output();
    const returnMs = wallClockMs();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      callMs,
      returnMs,
    };
  }

  /** Starts a `dsys kv shell` client of `servers` whose operations give up after `timeoutSeconds`. */
  startShell(servers: readonly string[], timeoutSeconds: number): KvShell {
    const shell = new KvShell(servers, timeoutSeconds, this.root);
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

  /** Closes every shell, kills every node, closes the proxy and removes the temp folder. */
  async close(): Promise<void> {
    await Promise.all([...this.#shells].map((shell) => shell.close()));
    await this.#group.killAll();
    await this.proxy?.close();
    await Deno.remove(this.root, { recursive: true });
  }

  #node(id: number): NodeSlot {
    const node = this.#nodes[id];
    assert(node !== undefined, `The cluster has no node ${id}`);
    return node;
  }
}

/** Whether every status is present and agrees on term, leader, commit and applied index. */
function converged(states: ReadonlyArray<NodeState | null>): boolean {
  const first = states[0];
  if (first === null || first === undefined || first.leader < 0) return false;
  return states.every((state) =>
    state !== null && state.term === first.term && state.leader === first.leader &&
    state.commitIndex === first.commitIndex && state.appliedIndex === first.commitIndex
  );
}

function readState(answer: unknown): NodeState {
  const fields = answer as Record<string, unknown>;
  for (const name of ["id", "term", "leader", "commitIndex", "appliedIndex"]) {
    if (typeof fields[name] !== "number") {
      throw new Error(`Status answer lacks a number ${name}: ${JSON.stringify(answer)}`);
    }
  }
  return {
    id: fields.id as number,
    role: String(fields.role),
    term: fields.term as number,
    leader: fields.leader as number,
    commitIndex: fields.commitIndex as number,
    appliedIndex: fields.appliedIndex as number,
  };
}

function pause(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

/** How a one-shot command ended. */
export interface CommandResult {
  /** Its exit code. */
  readonly code: number;
  /** Everything it printed on standard output. */
  readonly stdout: string;
  /** Everything it printed on standard error. */
  readonly stderr: string;
  /**
   * When the command was started and when it had exited, on the shells' clock (ms since the
   * epoch): an interval that contains the operation, as a history needs.
   */
  readonly callMs: number;
  readonly returnMs: number;
}

/** The clock `dsys kv shell` stamps results with, so both kinds of client share one history. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One result line of `dsys kv shell`. */
export interface ShellResult {
  /** get, put or append. */
  readonly op: OperationKind;
  /** The key. */
  readonly key: string;
  /** The value written ("" for get). */
  readonly value: string;
  /** The value read by a get that succeeded. */
  readonly output: string;
  /** Whether the operation was applied. */
  readonly ok: boolean;
  /** Whether its outcome is unknown (it timed out: it may or may not take effect). */
  readonly unknown: boolean;
  /** The clerk's client id for this operation. */
  readonly clientId: number;
  /** When the shell sent it, ms since the Unix epoch. */
  readonly callMs: number;
  /** When the shell got the answer (or gave up). */
  readonly returnMs: number;
}

/** Most result lines one shell keeps waiting to be read; a bound on a runaway process. */
const MAX_PENDING_SHELL_LINES = 1_000;

/**
 * A `dsys kv shell` process: {@linkcode KvShell.run} writes one operation line and resolves with
 * its JSON result line. One operation at a time, as the shell's clerk requires.
 */
export class KvShell {
  readonly #process: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: LineReader;
  readonly #stderr: Promise<string>;
  #busy = false;
  #closed: Promise<void> | null = null;

  /** Starts the shell; made by {@linkcode KvCluster.startShell}. */
  constructor(servers: readonly string[], timeoutSeconds: number, cwd: string) {
    const [program, ...programArgs] = selfCommand([
      "kv",
      "--servers",
      servers.join(","),
      "--timeout",
      `${timeoutSeconds}`,
      "shell",
    ]);
    this.#process = new Deno.Command(program, {
      args: programArgs,
      cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#process.stdin.getWriter();
    this.#lines = new LineReader(this.#process.stdout);
    this.#stderr = new Response(this.#process.stderr).text();
  }

  /** Runs one operation (`get K`, `put K V`, `append K V`) and returns its result. */
  async run(kind: OperationKind, key: string, value = ""): Promise<ShellResult> {
    assert(!this.#busy && this.#closed === null, "The shell is busy or closed");
    assert(!/[\s]/.test(key) && !value.includes("\n"), `Bad shell operand ${key} ${value}`);
    this.#busy = true;
    try {
      const line = kind === "get" ? `get ${key}\n` : `${kind} ${key} ${value}\n`;
      await this.#writer.write(new TextEncoder().encode(line));
      const next = await this.#lines.next();
      if (next === null) {
        const status = await this.#process.status;
        throw new Error(`The kv shell exited with code ${status.code}: ${await this.#stderr}`);
      }
      return readShellResult(next);
    } finally {
      this.#busy = false;
    }
  }

  /** Ends the shell (closes its input, then kills it if needed) and waits until it is gone. */
  close(): Promise<void> {
    this.#closed ??= this.#shutDown();
    return this.#closed;
  }

  async #shutDown(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // The shell is already gone: its input is closed.
    }
    try {
      this.#process.kill("SIGKILL");
    } catch {
      // It exited after its input closed.
    }
    await this.#lines.finished;
    await this.#process.status;
    await this.#stderr;
  }
}

/** Reads a stream's lines from the start, so the stream is drained even if nobody asks. */
class LineReader {
  readonly finished: Promise<void>;
  readonly #lines: string[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.finished = this.#read(stream);
  }

  /** The next line, or null once the stream ended. */
  async next(): Promise<string | null> {
    // Bounded: each pass either returns or waits for the reader to add a line or end.
    while (this.#lines.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#lines.shift() ?? null;
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      this.#lines.push(...parts);
      assert(this.#lines.length <= MAX_PENDING_SHELL_LINES, "The kv shell printed too many lines");
      this.#wake?.();
    }
    this.#ended = true;
    this.#wake?.();
  }
}

function readShellResult(line: string): ShellResult {
  const result = JSON.parse(line) as ShellResult & { error?: string };
  if (typeof result.op !== "string" || typeof result.ok !== "boolean") {
    throw new Error(`The kv shell answered ${line}`);
  }
  return result;
}

/** The shell result as an operation of a history: unknown outcome gets an infinite return. */
export function toOperation(result: ShellResult): Operation {
  return {
    clientId: result.clientId,
    kind: result.op,
    key: result.key,
    value: result.value,
    output: result.ok ? result.output : "",
    callMs: result.callMs,
    returnMs: result.ok ? result.returnMs : UNKNOWN_RETURN_MS,
  };
}
