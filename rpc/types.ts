/**
 * The RPC interface that the TCP transport and the simulated network both present, so that
 * MapReduce, Raft and the key/value service run unchanged on either.
 *
 * @module
 */

/** Why a call failed. `remote` means the server answered with an error. */
export type RpcErrorKind = "timeout" | "unreachable" | "remote" | "closed";

/**
 * Why a call found no server, when the transport can tell: nothing listens at the port
 * (`refused`) or at the socket's path (`no socket`), no connection came within the connect
 * timeout (`connect timeout`), or the connection broke with an error or with bytes that are not
 * this protocol (`broken`). Clients tell an address that is wrong from one that is slow by it.
 */
export type UnreachableReason = "refused" | "no socket" | "connect timeout" | "broken";

/** A failed call. `kind` tells whether the server may have run the handler. */
export class RpcError extends Error {
  /** How the call failed. */
  readonly kind: RpcErrorKind;
  /** For some `unreachable` calls, why; null when the transport does not say. */
  readonly reason: UnreachableReason | null;

  /** Creates the error; `message` is a plain sentence naming the method and the address. */
  constructor(kind: RpcErrorKind, message: string, reason: UnreachableReason | null = null) {
    super(message);
    this.name = "RpcError";
    this.kind = kind;
    this.reason = reason;
  }
}

/**
 * A call that failed before it was sent because the connection could not be secured: the TLS
 * handshake failed, or one side could not prove the cluster secret. Its kind is `unreachable`
 * (the server never saw the call), but retrying cannot help until the configuration changes.
 */
export class RpcAuthenticationError extends RpcError {
  /** Creates the error; `message` names the address and what failed. */
  constructor(message: string) {
    super("unreachable", message);
    this.name = "RpcAuthenticationError";
  }
}

/** Options for one call. */
export interface CallOptions {
  /** Give up after this long; the call rejects with kind `timeout`. */
  timeoutMs?: number;
}

/** The calling side of a connection to one server. */
export interface RpcClient {
  /**
   * Calls `method` on the server with `args` and resolves with the handler's result. Rejects with
   * {@linkcode RpcError}: `remote` for an unknown method or a handler that threw, `timeout` when
   * no reply came in time, `unreachable` when the server could not be reached.
   */
  call<Result = unknown>(method: string, args: unknown, options?: CallOptions): Promise<Result>;
  /** Closes the connection; calls in flight reject with kind `closed`. */
  close(): void;
}

/**
 * Counts of a process's RPC traffic, for its metrics: plain numbers the transport adds to, so
 * counting costs an increment. One object may be shared by a server and many clients.
 */
export interface RpcTraffic {
  /** Requests received by servers. */
  callsIn: number;
  /** Requests sent by clients. */
  callsOut: number;
  /** Bytes read from sockets, frame headers included. */
  bytesIn: number;
  /** Bytes handed to sockets to write, frame headers included. */
  bytesOut: number;
}

/** A fresh {@linkcode RpcTraffic} with every count zero. */
export function noTraffic(): RpcTraffic {
  return { callsIn: 0, callsOut: 0, bytesIn: 0, bytesOut: 0 };
}

/** A server-side handler: takes the decoded arguments, returns (or resolves to) the result. */
export type RpcHandler = (args: unknown) => unknown;

/** The methods a server offers, by name (for example `Coordinator.RequestTask`). */
export type RpcHandlers = Readonly<Record<string, RpcHandler>>;
