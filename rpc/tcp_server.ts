/**
 * The RPC server over TCP or a Unix socket. Each connection carries many calls at once: requests
 * `[0, id, method, args]` run concurrently, and replies `[1, id, true, result]` or
 * `[1, id, false, "error message"]` go back in whatever order the handlers finish. A peer that
 * sends bytes we cannot read loses its connection, with a log line; everyone else is unaffected.
 *
 * @module
 */
import { dirname } from "node:path";
import { assert } from "../util/assert.ts";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame } from "./codec.ts";
import { errorText } from "../util/error_text.ts";
import { type Address, formatAddress, toAddress } from "./address.ts";
import {
  type CloseReason,
  FramedConnection,
  MAX_IN_FLIGHT_CALLS,
  ProtocolError,
} from "./framed_connection.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import {
  admitConnection,
  assertNoUnixTls,
  listenTls,
  servesTls,
} from "../security/secure_transport.ts";
import { isHandshakeFrame } from "../security/handshake.ts";
import type { RpcHandlers, RpcTraffic } from "./types.ts";

/** Connections one server serves at once unless told otherwise; more are refused. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

/** Error messages sent back to callers are cut to this length, so a reply stays small. */
const MAX_ERROR_MESSAGE_CHARS = 4096;

/** Pause after the listener fails to accept (out of file descriptors, say) before trying again. */
const ACCEPT_RETRY_DELAY_MS = 100;

/** Options for {@linkcode serve}. */
export interface ServerOptions {
  /** Largest frame accepted or sent, in bytes; default 64 MiB. */
  maxFrameBytes?: number;
  /** Connections served at once; further ones are closed with a log line. Default 1024. */
  maxConnections?: number;
  /** Where problems with peers are reported, one line each; default standard error. */
  log?: (line: string) => void;
  /**
   * TLS (when it has a certificate and key) and the cluster secret every client must prove
   * before its first request is read; default plain TCP, no secret.
   */
  security?: TransportSecurity;
  /** Where calls received and bytes are counted; default nowhere. */
  traffic?: RpcTraffic;
}

/** A running server. */
export interface RpcServer {
  /** The address it listens on, with the real port when port 0 was asked for. */
  readonly address: Address;
  /** Stops listening, closes every connection, and resolves once all sockets are released. */
  close(): Promise<void>;
}

/**
 * Listens on `address` and serves `handlers`. A stale Unix socket file (one nobody listens on) is
 * removed first; the socket file is removed again on close.
 *
 * @example
 * ```ts
 * const server = await serve("127.0.0.1:0", { "Echo.Say": (args) => args });
 * console.log(formatAddress(server.address));
 * await server.close();
 * ```
 */
export async function serve(
  address: Address | string,
  handlers: RpcHandlers,
  options: ServerOptions = {},
): Promise<RpcServer> {
  const wanted = toAddress(address);
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  assert(
    Number.isSafeInteger(maxFrameBytes) && maxFrameBytes > 0,
    `Server frame limit ${maxFrameBytes} is not a positive whole number of bytes`,
  );
  assert(
    Number.isSafeInteger(maxConnections) && maxConnections > 0,
    `Server connection limit ${maxConnections} is not a positive whole number`,
  );
  const log = options.log ?? ((line: string) => console.error(line));
  const security = options.security;
  const listener = await listen(wanted, security);
  const traffic = options.traffic ?? null;
  return new TcpRpcServer(listener, wanted, handlers, {
    maxFrameBytes,
    maxConnections,
    log,
    security,
    traffic,
  });
}

async function listen(
  address: Address,
  security: TransportSecurity | undefined,
): Promise<Deno.Listener> {
  assertNoUnixTls(address, security);
  if (address.kind === "tcp") {
    const tls = security !== undefined && servesTls(security);
    try {
      if (tls) return listenTls(address, security);
      return Deno.listen({ transport: "tcp", hostname: address.hostname, port: address.port });
    } catch (error) {
      // listenTls words its own failures, all but a busy address.
      if (tls && !(error instanceof Deno.errors.AddrInUse)) throw error;
      throw new Error(`Cannot listen on ${formatAddress(address)}: ${listenProblem(error)}`);
    }
  }
  await removeStaleSocket(address.path);
  try {
    return Deno.listen({ transport: "unix", path: address.path });
  } catch (error) {
    const problem = error instanceof Deno.errors.NotFound
      ? `its folder ${dirname(address.path)} does not exist`
      : listenProblem(error);
    throw new Error(`Cannot listen on unix:${address.path}: ${problem}`);
  }
}

/** Why a listen failed, in words: the usual causes named, others as the system said. */
function listenProblem(error: unknown): string {
  if (error instanceof Deno.errors.AddrInUse) return "the address is already in use";
  if (error instanceof Deno.errors.AddrNotAvailable) return "no interface has that address";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return errorText(error);
}

/** Removes a socket file left by a server that died, but never one a live server listens on. */
async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (info.isSocket !== true) {
    throw new Error(`Cannot listen on unix:${path}: the path exists and is not a socket`);
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    await Deno.remove(path);
    return;
  }
  throw new Error(`Cannot listen on unix:${path}: another server is listening there`);
}

interface ResolvedServerOptions {
  maxFrameBytes: number;
  maxConnections: number;
  log: (line: string) => void;
  security: TransportSecurity | undefined;
  traffic: RpcTraffic | null;
}

/** One accepted connection and the requests it has in flight. */
interface ServerConnection {
  framed: FramedConnection;
  peer: string;
  inFlightCount: number;
}

class TcpRpcServer implements RpcServer {
  readonly address: Address;
  readonly #listener: Deno.Listener;
  readonly #handlers: RpcHandlers;
  readonly #options: ResolvedServerOptions;
  readonly #connections = new Set<ServerConnection>();
  /** Connections still in their TLS or secret handshake, which count towards the limit. */
  readonly #admitting = new Map<Deno.Conn, Promise<void>>();
  readonly #accepting: Promise<void>;
  #acceptedCount = 0;
  #closing: Promise<void> | null = null;
  #wakeAcceptLoop: (() => void) | null = null;

  constructor(
    listener: Deno.Listener,
    wanted: Address,
    handlers: RpcHandlers,
    options: ResolvedServerOptions,
  ) {
    this.#listener = listener;
    this.#handlers = handlers;
    this.#options = options;
    const bound = listener.addr;
    this.address = bound.transport === "tcp"
      ? { kind: "tcp", hostname: bound.hostname, port: bound.port }
      : wanted;
    this.#accepting = this.#acceptLoop();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    try {
      this.#listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    this.#wakeAcceptLoop?.();
    await this.#accepting;
    const admitting = [...this.#admitting];
    for (const [conn] of admitting) closeQuietly(conn);
    await Promise.all(admitting.map(([, finished]) => finished));
    const connections = [...this.#connections];
    for (const connection of connections) connection.framed.close();
    await Promise.all(connections.map((connection) => connection.framed.finished()));
    if (this.address.kind === "unix") {
      try {
        await Deno.remove(this.address.path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  }

  get #label(): string {
    return `RPC server on ${formatAddress(this.address)}`;
  }

  async #acceptLoop(): Promise<void> {
    // Bounded by the listener's life: it ends when close() closes the listener.
    while (this.#closing === null) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing !== null) return;
        this.#options.log(`${this.#label}: cannot accept a connection: ${errorText(error)}`);
        await this.#pauseAccepting();
        continue;
      }
      if (this.#closing !== null) {
        conn.close();
        return;
      }
      this.#admit(conn);
    }
  }

  /** Waits before the next accept, but wakes at once when the server closes. */
  #pauseAccepting(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeAcceptLoop = null;
        resolve();
      }, ACCEPT_RETRY_DELAY_MS);
      this.#wakeAcceptLoop = () => {
        clearTimeout(timer);
        this.#wakeAcceptLoop = null;
        resolve();
      };
    });
  }

  #admit(conn: Deno.Conn): void {
    this.#acceptedCount++;
    const peer = describePeer(conn.remoteAddr, this.#acceptedCount);
    const open = this.#connections.size + this.#admitting.size;
    if (open >= this.#options.maxConnections) {
      this.#options.log(
        `${this.#label}: refusing the connection from ${peer}: ` +
          `already serving ${open} connections, the limit`,
      );
      conn.close();
      return;
    }
    if (servesTls(this.#options.security) || this.#options.security?.secret !== undefined) {
      this.#admitting.set(conn, this.#authenticate(conn, peer));
      return;
    }
    this.#serveConnection(conn, peer);
  }

  /** Serves `conn` once its handshakes succeed; else logs one line naming `peer` and closes it. */
  async #authenticate(conn: Deno.Conn, peer: string): Promise<void> {
    const admission = await admitConnection(conn, this.#options.security);
    this.#admitting.delete(conn);
    if (this.#closing !== null) {
      closeQuietly(conn);
      return;
    }
    if (!admission.ok) {
      if (!admission.quiet) {
        this.#options.log(
          `${this.#label}: refusing the connection from ${peer}: ${admission.reason}`,
        );
      }
      closeQuietly(conn);
      return;
    }
    this.#serveConnection(conn, peer);
  }

  #serveConnection(conn: Deno.Conn, peer: string): void {
    // The hooks run only after this returns: the first read is asynchronous.
    const connection: ServerConnection = {
      peer,
      inFlightCount: 0,
      framed: new FramedConnection(conn, this.#options.maxFrameBytes, {
        onFrame: (value) => this.#onRequest(connection, value),
        onClose: (reason) => this.#onClose(connection, reason),
      }, this.#options.traffic),
    };
    this.#connections.add(connection);
  }

  #onClose(connection: ServerConnection, reason: CloseReason): void {
    this.#connections.delete(connection);
    // Peers that hang up or reset are normal in a distributed system; only refused bytes are news.
    if (reason.kind === "protocol") {
      this.#options.log(
        `${this.#label}: closing the connection from ${connection.peer}: ${reason.message}`,
      );
    }
  }

  #onRequest(connection: ServerConnection, value: unknown): void {
    if (isHandshakeFrame(value)) {
      throw new ProtocolError(
        "the client offers a cluster secret (--secret-file) but this server has none",
      );
    }
    const request = parseRequest(value);
    if (connection.inFlightCount >= MAX_IN_FLIGHT_CALLS) {
      throw new ProtocolError(`the peer has more than ${MAX_IN_FLIGHT_CALLS} calls in flight`);
    }
    connection.inFlightCount++;
    if (this.#options.traffic !== null) this.#options.traffic.callsIn++;
    void this.#runHandler(request.method, request.args).then((reply) => {
      connection.inFlightCount--;
      assert(connection.inFlightCount >= 0, `Connection ${connection.peer} finished extra calls`);
      connection.framed.send(this.#encodeReply(request.id, request.method, reply));
    });
  }

  /** Runs the handler; every outcome, including a throw, becomes a reply. */
  async #runHandler(method: string, args: unknown): Promise<Reply> {
    if (!Object.hasOwn(this.#handlers, method)) {
      return { ok: false, value: `No method named ${JSON.stringify(method)}` };
    }
    try {
      return { ok: true, value: await this.#handlers[method](args) };
    } catch (error) {
      return { ok: false, value: errorText(error).slice(0, MAX_ERROR_MESSAGE_CHARS) };
    }
  }

  #encodeReply(id: number, method: string, reply: Reply): Uint8Array {
    try {
      return encodeFrame([1, id, reply.ok, reply.value], this.#options.maxFrameBytes);
    } catch (error) {
      // The caller must hear about a result we cannot send, or it would wait for its timeout.
      const message = `Cannot send the result of ${method}: ${errorText(error)}`;
      return encodeFrame([1, id, false, message.slice(0, MAX_ERROR_MESSAGE_CHARS)]);
    }
  }
}

/** A handler's outcome: its result, or the message of what it threw. */
interface Reply {
  ok: boolean;
  value: unknown;
}

interface Request {
  id: number;
  method: string;
  args: unknown;
}

/** Checks that a frame is `[0, id, method, args]`; anything else is a protocol error. */
function parseRequest(value: unknown): Request {
  if (!Array.isArray(value) || value.length !== 4 || value[0] !== 0) {
    throw new ProtocolError("malformed frame: expected a request [0, id, method, args]");
  }
  const [, id, method, args] = value;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
    throw new ProtocolError("malformed frame: the request id is not a whole number");
  }
  if (typeof method !== "string") {
    throw new ProtocolError(`malformed frame: the method of request ${id} is not a string`);
  }
  return { id, method, args };
}

/** Closes a socket that may already be closed (the peer reset it, or the server shut down). */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

function describePeer(address: Deno.Addr, connectionNumber: number): string {
  if (address.transport === "tcp" || address.transport === "udp") {
    return `${address.hostname}:${address.port}`;
  }
  return `Unix socket client #${connectionNumber}`;
}
