/**
 * A TCP proxy for fault tests of real processes: one listener per directed link (node i to node
 * j, or a client to node k) that forwards bytes to the link's target. Processes are wired through
 * it (node i's `--peers` entry j is the proxy address of link i->j), and the test then cuts,
 * delays or degrades single links while the processes run.
 *
 * A cut link either black-holes traffic (connections stay open but nothing gets through, as in a
 * real partition: callers see timeouts) or refuses it (connections are closed at once: callers see
 * resets). A lossy link drops whole connections at random, never bytes inside one, because a TCP
 * stream never loses bytes in the middle; a dropped connection loses every call in flight on it.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Clock, realClock, type TimerHandle } from "../util/clock.ts";
import { type Random, unseededRandom } from "../util/random.ts";
import { type Address, toAddress } from "../rpc/address.ts";

/** How a cut link treats traffic: `blackhole` swallows it, `refuse` closes connections at once. */
export type CutStyle = "blackhole" | "refuse";

/** Default for {@linkcode LinkProxyOptions.maxConnectionsPerLink}. */
export const DEFAULT_MAX_CONNECTIONS_PER_LINK = 256;
/** Default for {@linkcode LinkProxyOptions.maxQueuedBytes}. */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Bytes read from a socket at once. */
const READ_BUFFER_BYTES = 64 * 1024;

/** Options of a {@linkcode LinkProxy}. */
export interface LinkProxyOptions {
  /** Decides which connections a lossy link drops; seed it to replay a run. Default unseeded. */
  readonly random?: Random;
  /** Times delayed bytes; default the real clock. */
  readonly clock?: Clock;
  /** Connections one link holds at once; more are closed on arrival. Default 256. */
  readonly maxConnectionsPerLink?: number;
  /** Delayed bytes one direction of a connection may hold before it stops reading. Default 4 MiB. */
  readonly maxQueuedBytes?: number;
}

/** What one link has done so far. */
export interface LinkStats {
  /** Connections accepted by the link's listener. */
  readonly acceptedConnections: number;
  /** Connections forwarded to the target. */
  readonly forwardedConnections: number;
  /** Connections closed on arrival: refused by a cut, over the limit, or target unreachable. */
  readonly refusedConnections: number;
  /** Connections closed at random by a lossy link, on arrival or while forwarding. */
  readonly droppedConnections: number;
  /** Bytes delivered, both directions. */
  readonly forwardedBytes: number;
  /** Bytes swallowed by a black hole, both directions. */
  readonly discardedBytes: number;
  /** Bytes read and waiting out their delay now, both directions. */
  readonly delayedBytes: number;
  /** Connections open now (forwarded or black-holed). */
  readonly openConnections: number;
}

/** A proxy holding any number of links; {@linkcode LinkProxy.close} releases every socket. */
export class LinkProxy {
  readonly #links = new Map<string, Link>();
  readonly #random: Random;
  readonly #clock: Clock;
  readonly #maxConnectionsPerLink: number;
  readonly #maxQueuedBytes: number;
  #closed = false;

  /** Creates an empty proxy. */
  constructor(options: LinkProxyOptions = {}) {
    this.#random = options.random ?? unseededRandom();
    this.#clock = options.clock ?? realClock;
    this.#maxConnectionsPerLink = options.maxConnectionsPerLink ??
      DEFAULT_MAX_CONNECTIONS_PER_LINK;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    assert(
      this.#maxConnectionsPerLink > 0,
      `Link connection limit ${this.#maxConnectionsPerLink} is not positive`,
    );
    assert(this.#maxQueuedBytes > 0, `Link queue limit ${this.#maxQueuedBytes} is not positive`);
  }

  /**
   * Opens link `name` on a fresh 127.0.0.1 port, forwarding to `target`; returns the link, whose
   * {@linkcode Link.address} is what the sender should dial.
   */
  addLink(name: string, target: Address | string): Link {
    assert(!this.#closed, `Cannot add link ${name}: the proxy is closed`);
    assert(!this.#links.has(name), `Cannot add link ${name}: the proxy already has it`);
    const listener = Deno.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
    const link = new Link(name, toAddress(target), listener, {
      random: this.#random,
      clock: this.#clock,
      maxConnections: this.#maxConnectionsPerLink,
      maxQueuedBytes: this.#maxQueuedBytes,
    });
    this.#links.set(name, link);
    return link;
  }

  /** The link called `name`; throws if there is none. */
  link(name: string): Link {
    const link = this.#links.get(name);
    if (link === undefined) throw new Error(`The proxy has no link called ${name}`);
    return link;
  }

  /** Every link, in the order they were added. */
  links(): Link[] {
    return [...this.#links.values()];
  }

  /** Closes every listener and connection and waits until all are released. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#links.values()].map((link) => link.close()));
  }
}

interface LinkSettings {
  readonly random: Random;
  readonly clock: Clock;
  readonly maxConnections: number;
  readonly maxQueuedBytes: number;
}

interface MutableStats {
  acceptedConnections: number;
  forwardedConnections: number;
  refusedConnections: number;
  droppedConnections: number;
  forwardedBytes: number;
  discardedBytes: number;
  delayedBytes: number;
}

/** One directed link: a listener and the connections it forwards. */
export class Link {
  /** The link's name, for example `0->1` or `client->2`. */
  readonly name: string;
  /** Where the link forwards to. */
  readonly target: Address;
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #settings: LinkSettings;
  readonly #connections = new Set<ProxiedConnection>();
  readonly #stats: MutableStats = {
    acceptedConnections: 0,
    forwardedConnections: 0,
    refusedConnections: 0,
    droppedConnections: 0,
    forwardedBytes: 0,
    discardedBytes: 0,
    delayedBytes: 0,
  };
  readonly #accepting: Promise<void>;
  #cut: CutStyle | null = null;
  #delayMs = 0;
  #lossProbability = 0;
  #closing: Promise<void> | null = null;

  /** Starts serving `listener`; made by {@linkcode LinkProxy.addLink}. */
  constructor(
    name: string,
    target: Address,
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    settings: LinkSettings,
  ) {
    this.name = name;
    this.target = target;
    this.#listener = listener;
    this.#settings = settings;
    this.#accepting = this.#acceptLoop();
  }

  /** The address senders dial, `127.0.0.1:port`. */
  get address(): string {
    return `127.0.0.1:${this.#listener.addr.port}`;
  }

  /** Whether the link is cut now. */
  get isCut(): boolean {
    return this.#cut !== null;
  }

  /** A copy of the link's counters. */
  stats(): LinkStats {
    return { ...this.#stats, openConnections: this.#connections.size };
  }

  /**
   * Cuts the link: from now on nothing gets through. `blackhole` (the default) keeps connections
   * open and swallows what they carry; `refuse` closes them, and new ones on arrival.
   */
  cut(style: CutStyle = "blackhole"): void {
    this.#cut = style;
    for (const connection of this.#connections) {
      if (style === "refuse") connection.close();
      else connection.blackhole();
    }
  }

  /**
   * Restores the link to a plain forwarder: no cut, delay or loss. Black-holed connections are
   * closed, since the bytes they swallowed are gone and their streams cannot continue.
   */
  heal(): void {
    this.#cut = null;
    this.#delayMs = 0;
    this.#lossProbability = 0;
    for (const connection of this.#connections) {
      if (connection.isBlackholed) connection.close();
    }
  }

  /** Delays every byte forwarded from now on by `delayMs` (in both directions). */
  setDelay(delayMs: number): void {
    assert(Number.isFinite(delayMs) && delayMs >= 0, `Link delay ${delayMs} ms is not valid`);
    this.#delayMs = delayMs;
  }

  /**
   * Makes the link lossy: each new connection, and each forwarded chunk's connection, is dropped
   * with probability `probability`.
   */
  setLoss(probability: number): void {
    assert(probability >= 0 && probability <= 1, `Loss probability ${probability} is not valid`);
    this.#lossProbability = probability;
  }

  /** Closes every connection of the link (they may reconnect), as a network blip would. */
  dropConnections(): void {
    for (const connection of this.#connections) connection.close();
  }

  /** Stops listening, closes every connection, and waits until all sockets are released. */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    const connections = [...this.#connections];
    for (const connection of connections) connection.close();
    await Promise.all(connections.map((connection) => connection.finished));
  }

  async #acceptLoop(): Promise<void> {
    // Bounded by the listener's life: it ends when close() closes the listener.
    while (this.#closing === null) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        // The listener was closed (the only way accept fails on loopback in a test).
        return;
      }
      this.#stats.acceptedConnections++;
      const refusal = this.#closing === null ? this.#refusal() : "refused";
      if (refusal !== null) {
        this.#count(refusal);
        closeQuietly(conn);
        continue;
      }
      conn.setNoDelay(true);
      this.#track(new ProxiedConnection(conn, this.#port(), this.#settings));
    }
  }

  /** Why a connection arriving now must be closed (refused by a cut or the limit, or lost). */
  #refusal(): "refused" | "dropped" | null {
    if (this.#cut === "refuse") return "refused";
    if (this.#connections.size >= this.#settings.maxConnections) return "refused";
    return this.#shouldDrop() ? "dropped" : null;
  }

  #track(connection: ProxiedConnection): void {
    this.#connections.add(connection);
    if (this.#cut === "blackhole") connection.blackhole();
    connection.start();
    connection.finished.then(() => this.#connections.delete(connection));
  }

  /** Whether the loss setting drops a connection now; draws from the random source only if lossy. */
  #shouldDrop(): boolean {
    return this.#lossProbability > 0 && this.#settings.random.next() < this.#lossProbability;
  }

  #count(event: "forwarded" | "refused" | "dropped"): void {
    if (event === "forwarded") this.#stats.forwardedConnections++;
    else if (event === "refused") this.#stats.refusedConnections++;
    else this.#stats.droppedConnections++;
  }

  /** Counts bytes delivered, swallowed, or queued (negative: dequeued). */
  #countBytes(delivered: number, discarded: number, queued: number): void {
    this.#stats.forwardedBytes += delivered;
    this.#stats.discardedBytes += discarded;
    this.#stats.delayedBytes += queued;
    assert(this.#stats.delayedBytes >= 0, `Link ${this.name} has negative delayed bytes`);
  }

  /** What the link's connections may see and do: its target, settings and counters. */
  #port(): LinkPort {
    return {
      target: this.target,
      shouldDrop: () => this.#shouldDrop(),
      delayMs: () => this.#delayMs,
      count: (event) => this.#count(event),
      countBytes: (delivered, discarded, queued) => this.#countBytes(delivered, discarded, queued),
    };
  }
}

/** A link as its connections see it. */
interface LinkPort {
  readonly target: Address;
  shouldDrop(): boolean;
  delayMs(): number;
  count(event: "forwarded" | "refused" | "dropped"): void;
  countBytes(delivered: number, discarded: number, queued: number): void;
}

/** One accepted connection, its connection to the target, and the two pumps between them. */
class ProxiedConnection {
  readonly #inbound: Deno.TcpConn;
  readonly #link: LinkPort;
  readonly #settings: LinkSettings;
  #outbound: Deno.Conn | null = null;
  #blackholed = false;
  #closed = false;
  #started: Promise<void> = Promise.resolve();
  readonly #pipes: DelayedPipe[] = [];

  constructor(inbound: Deno.TcpConn, link: LinkPort, settings: LinkSettings) {
    this.#inbound = inbound;
    this.#link = link;
    this.#settings = settings;
  }

  /** Resolves once both sockets are closed and both pumps have stopped. */
  get finished(): Promise<void> {
    return this.#started.then(() => Promise.all(this.#pipes.map((pipe) => pipe.finished)))
      .then(() => {});
  }

  get isBlackholed(): boolean {
    return this.#blackholed;
  }

  start(): void {
    this.#started = this.#run();
  }

  /** Stops forwarding for good; what arrives from either side is read and thrown away. */
  blackhole(): void {
    this.#blackholed = true;
    for (const pipe of this.#pipes) pipe.discardQueued();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#inbound);
    if (this.#outbound !== null) closeQuietly(this.#outbound);
    for (const pipe of this.#pipes) pipe.stop();
  }

  async #run(): Promise<void> {
    const outbound = this.#blackholed ? null : await this.#dial();
    if (this.#closed) {
      if (outbound !== null) closeQuietly(outbound);
      return;
    }
    this.#outbound = outbound;
    if (outbound === null && !this.#blackholed) {
      this.#link.count("refused");
      this.close();
      return;
    }
    if (outbound !== null) this.#link.count("forwarded");
    const hooks: PipeHooks = {
      isBlackholed: () => this.#blackholed,
      shouldDrop: () => this.#link.shouldDrop(),
      delayMs: () => this.#link.delayMs(),
      onBytes: (delivered, discarded, queued) =>
        this.#link.countBytes(delivered, discarded, queued),
      onDrop: () => {
        this.#link.count("dropped");
        this.close();
      },
      onEnd: () => this.close(),
    };
    this.#pipes.push(new DelayedPipe(this.#inbound, outbound, hooks, this.#settings));
    if (outbound !== null) {
      this.#pipes.push(new DelayedPipe(outbound, this.#inbound, hooks, this.#settings));
    }
    if (this.#closed) { for (const pipe of this.#pipes) pipe.stop(); }
  }

  /** Connects to the link's target; null when it cannot be reached. */
  async #dial(): Promise<Deno.Conn | null> {
    const target = this.#link.target;
    try {
      if (target.kind === "unix") {
        return await Deno.connect({ transport: "unix", path: target.path });
      }
      const conn = await Deno.connect({ hostname: target.hostname, port: target.port });
      conn.setNoDelay(true);
      return conn;
    } catch {
      // The target is down or not listening yet: the sender sees its connection closed.
      return null;
    }
  }
}

interface PipeHooks {
  isBlackholed(): boolean;
  shouldDrop(): boolean;
  delayMs(): number;
  onBytes(delivered: number, discarded: number, queued: number): void;
  onDrop(): void;
  onEnd(): void;
}

interface Chunk {
  readonly bytes: Uint8Array;
  readonly dueMs: number;
}

/**
 * One direction of a connection: reads chunks from `source` and writes each to `sink` once its
 * delay has passed, in order. At most `maxQueuedBytes` wait at once; beyond that it stops reading,
 * so a slow or delayed link pushes back on the sender as TCP would.
 */
class DelayedPipe {
  readonly finished: Promise<void>;
  readonly #source: Deno.Conn;
  readonly #sink: Deno.Conn | null;
  readonly #hooks: PipeHooks;
  readonly #settings: LinkSettings;
  readonly #queue: Chunk[] = [];
  #queuedBytes = 0;
  #sourceEnded = false;
  #stopped = false;
  #wakeWriter: (() => void) | null = null;
  #wakeReader: (() => void) | null = null;
  #timer: TimerHandle | null = null;

  constructor(source: Deno.Conn, sink: Deno.Conn | null, hooks: PipeHooks, settings: LinkSettings) {
    this.#source = source;
    this.#sink = sink;
    this.#hooks = hooks;
    this.#settings = settings;
    this.finished = Promise.all([this.#readLoop(), this.#writeLoop()]).then(() => {});
  }

  /** Throws away what waits to be written (the link went into a black hole). */
  discardQueued(): void {
    this.#hooks.onBytes(0, this.#queuedBytes, -this.#queuedBytes);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#wake();
  }

  /** Ends both loops; the owner closes the sockets. */
  stop(): void {
    this.#stopped = true;
    this.#hooks.onBytes(0, 0, -this.#queuedBytes);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    if (this.#timer !== null) this.#settings.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#wake();
  }

  #wake(): void {
    this.#wakeWriter?.();
    this.#wakeReader?.();
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    // Bounded by the socket: it ends when the peer closes or the owner closes the socket.
    while (!this.#stopped) {
      const count = await readQuietly(this.#source, buffer);
      if (count === null) {
        // Deliver what is still delayed before the connection closes, as the network would.
        this.#sourceEnded = true;
        this.#wakeWriter?.();
        return;
      }
      if (this.#hooks.isBlackholed() || this.#sink === null) {
        this.#hooks.onBytes(0, count, 0);
        continue;
      }
      if (this.#hooks.shouldDrop()) {
        this.#hooks.onDrop();
        return;
      }
      const dueMs = this.#settings.clock.now() + this.#hooks.delayMs();
      this.#queue.push({ bytes: buffer.slice(0, count), dueMs });
      this.#queuedBytes += count;
      this.#hooks.onBytes(0, 0, count);
      this.#wakeWriter?.();
      // Bounded: each pass waits for the writer to drain or for stop().
      while (!this.#stopped && this.#queuedBytes >= this.#settings.maxQueuedBytes) {
        await new Promise<void>((resolve) => this.#wakeReader = resolve);
        this.#wakeReader = null;
      }
    }
  }

  async #writeLoop(): Promise<void> {
    // Bounded by stop(): every pass writes one chunk or waits for one.
    while (!this.#stopped) {
      const chunk = this.#queue[0];
      if (chunk === undefined && this.#sourceEnded) {
        this.#hooks.onEnd();
        return;
      }
      if (chunk === undefined) {
        await new Promise<void>((resolve) => this.#wakeWriter = resolve);
        this.#wakeWriter = null;
        continue;
      }
      const waitMs = chunk.dueMs - this.#settings.clock.now();
      if (waitMs > 0) {
        await new Promise<void>((resolve) => {
          this.#wakeWriter = resolve;
          this.#timer = this.#settings.clock.setTimeout(resolve, waitMs);
        });
        this.#wakeWriter = null;
        if (this.#timer !== null) this.#settings.clock.clearTimeout(this.#timer);
        this.#timer = null;
        continue;
      }
      this.#queue.shift();
      this.#queuedBytes -= chunk.bytes.length;
      this.#hooks.onBytes(0, 0, -chunk.bytes.length);
      this.#wakeReader?.();
      if (this.#sink === null || !(await writeAll(this.#sink, chunk.bytes))) {
        this.#hooks.onEnd();
        return;
      }
      this.#hooks.onBytes(chunk.bytes.length, 0, 0);
    }
  }
}

/** Reads into `buffer`; null at end of stream or on any socket error (closed, reset). */
async function readQuietly(conn: Deno.Conn, buffer: Uint8Array): Promise<number | null> {
  try {
    return await conn.read(buffer);
  } catch {
    // A reset or our own close ends the stream like an orderly end would.
    return null;
  }
}

/** Writes all of `bytes`; false if the socket failed or was closed. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  let offset = 0;
  try {
    // Bounded: every write makes progress or throws.
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
    return true;
  } catch {
    // The receiver hung up or we closed the socket: the connection is over either way.
    return false;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
