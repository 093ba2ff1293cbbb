/**
 * The RPC client over TCP or a Unix socket. One connection carries every call, each tagged with a
 * request id so replies can come back in any order. The client connects on its first call and,
 * after the connection fails or drops, connects again on a later call once a backoff delay has
 * passed. A call is sent at most once: when its connection drops, it fails and the caller decides.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Clock, realClock, type TimerHandle } from "../util/clock.ts";
import { CodecError, DEFAULT_MAX_FRAME_BYTES, encodeFrame, TLS_MISMATCH } from "./codec.ts";
import { errorText } from "../util/error_text.ts";
import { type Address, formatAddress, toAddress } from "./address.ts";
import {
  type CloseReason,
  FramedConnection,
  MAX_IN_FLIGHT_CALLS,
  ProtocolError,
} from "./framed_connection.ts";
import {
  type CallOptions,
  RpcAuthenticationError,
  type RpcClient,
  RpcError,
  type RpcTraffic,
  type UnreachableReason,
} from "./types.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { dialSecurely } from "../security/secure_transport.ts";
import { AuthenticationError, isHandshakeFrame, refusalReason } from "../security/handshake.ts";

/** How long a call waits for its reply unless told otherwise. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** How long one connection attempt may take unless told otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Reconnect backoff unless told otherwise: doubles from `initial` up to `max` after each failure. */
export const DEFAULT_RECONNECT_BACKOFF_MS = { initial: 50, max: 1000 };

/** Options for {@linkcode connect}. */
export interface ClientOptions {
  /** Largest frame accepted or sent, in bytes; default 64 MiB. */
  maxFrameBytes?: number;
  /** Timeout of a call that gives none of its own; default 10 000 ms. */
  defaultTimeoutMs?: number;
  /** Time allowed for one connection attempt; default 5000 ms. */
  connectTimeoutMs?: number;
  /** Delay before reconnecting after a failure; default 50 ms doubling up to 1000 ms. */
  reconnectBackoffMs?: { initial: number; max: number };
  /** Calls allowed in flight at once; exceeding it is a programming error. Default 100 000. */
  maxInFlightCalls?: number;
  /** Where a refused reply stream is reported, one line each; default standard error. */
  log?: (line: string) => void;
  /** TLS (when it has a CA) and the cluster secret to prove; default plain TCP, no secret. */
  security?: TransportSecurity;
  /** Where calls sent and bytes are counted; default nowhere. */
  traffic?: RpcTraffic;
}

/**
 * Creates a client for the server at `address`. Nothing happens until the first call, so a client
 * may be made before its server starts.
 *
 * @example
 * ```ts
 * const client = connect("127.0.0.1:4000", { defaultTimeoutMs: 2000 });
 * const reply = await client.call("Echo.Say", { text: "hello" });
 * client.close();
 * ```
 */
export function connect(address: Address | string, options: ClientOptions = {}): RpcClient {
  return new TcpRpcClient(toAddress(address), resolveOptions(options));
}

interface ResolvedClientOptions {
  maxFrameBytes: number;
  defaultTimeoutMs: number;
  connectTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  maxInFlightCalls: number;
  log: (line: string) => void;
  security: TransportSecurity | undefined;
  traffic: RpcTraffic | null;
}

function resolveOptions(options: ClientOptions): ResolvedClientOptions {
  const backoff = options.reconnectBackoffMs ?? DEFAULT_RECONNECT_BACKOFF_MS;
  const resolved: ResolvedClientOptions = {
    maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    defaultTimeoutMs: options.defaultTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    backoffInitialMs: backoff.initial,
    backoffMaxMs: backoff.max,
    maxInFlightCalls: options.maxInFlightCalls ?? MAX_IN_FLIGHT_CALLS,
    log: options.log ?? ((line: string) => console.error(line)),
    security: options.security,
    traffic: options.traffic ?? null,
  };
  assert(
    Number.isSafeInteger(resolved.maxFrameBytes) && resolved.maxFrameBytes > 0,
    `Client frame limit ${resolved.maxFrameBytes} is not a positive whole number of bytes`,
  );
  assertDuration(resolved.defaultTimeoutMs, "Default call timeout");
  assertDuration(resolved.connectTimeoutMs, "Connect timeout");
  assertDuration(resolved.backoffInitialMs, "Initial reconnect backoff");
  assert(
    resolved.backoffMaxMs >= resolved.backoffInitialMs,
    `Reconnect backoff maximum ${resolved.backoffMaxMs} ms is below its initial ` +
      `${resolved.backoffInitialMs} ms`,
  );
  assert(
    Number.isSafeInteger(resolved.maxInFlightCalls) && resolved.maxInFlightCalls > 0 &&
      resolved.maxInFlightCalls <= MAX_IN_FLIGHT_CALLS,
    `In-flight call limit ${resolved.maxInFlightCalls} is not between 1 and ${MAX_IN_FLIGHT_CALLS}`,
  );
  return resolved;
}

function assertDuration(durationMs: number, what: string): void {
  assert(
    Number.isFinite(durationMs) && durationMs >= 0,
    `${what} of ${durationMs} ms is not a finite, non-negative duration`,
  );
}

/** A call waiting for its reply; `frame` is kept only until it is written. */
interface PendingCall {
  method: string;
  frame: Uint8Array | null;
  timer: TimerHandle;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** Request ids wrap here; far more than the calls that can be in flight at once. */
const REQUEST_ID_LIMIT = 2 ** 32;

class TcpRpcClient implements RpcClient {
  readonly #address: Address;
  readonly #label: string;
  readonly #options: ResolvedClientOptions;
  readonly #clock: Clock = realClock;
  /** Calls in the order they were made; unsent ones wait for the next connection. */
  readonly #pending = new Map<number, PendingCall>();
  #nextRequestId = 0;
  #connection: FramedConnection | null = null;
  #connectAttempt: AbortController | null = null;
  #retryTimer: TimerHandle | null = null;
  /** Delay applied after the latest failure; 0 after a success. */
  #backoffMs = 0;
  #earliestAttemptMs = 0;
  #closed = false;
  /** Why the server refused this client on the current connection, once it said so. */
  #refusal: string | null = null;

  constructor(address: Address, options: ResolvedClientOptions) {
    this.#address = address;
    this.#label = formatAddress(address);
    this.#options = options;
  }

  call<Result = unknown>(
    method: string,
    args: unknown,
    options: CallOptions = {},
  ): Promise<Result> {
    if (this.#closed) {
      return Promise.reject(
        new RpcError("closed", `Cannot call ${method} on ${this.#label}: the client is closed`),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.#options.defaultTimeoutMs;
    assertDuration(timeoutMs, `Timeout of call ${method}`);
    assert(
      this.#pending.size < this.#options.maxInFlightCalls,
      `Cannot call ${method} on ${this.#label}: ${this.#pending.size} calls are already in flight`,
    );
    const id = this.#nextRequestId;
    this.#nextRequestId = (this.#nextRequestId + 1) % REQUEST_ID_LIMIT;
    assert(!this.#pending.has(id), `Request id ${id} to ${this.#label} is still in flight`);
    let frame: Uint8Array;
    try {
      frame = encodeFrame([0, id, method, args], this.#options.maxFrameBytes);
    } catch (error) {
      // Arguments that cannot be sent are the caller's bug, not a network failure.
      return Promise.reject(
        new CodecError(`Cannot call ${method} on ${this.#label}: ${errorText(error)}`),
      );
    }
    return new Promise<Result>((resolve, reject) => {
      const call: PendingCall = {
        method,
        frame,
        timer: null,
        resolve: resolve as (result: unknown) => void,
        reject,
      };
      this.#pending.set(id, call);
      if (this.#connection !== null) this.#send(this.#connection, call);
      else this.#startConnecting();
      // Armed once the frame is out, so that making a timer does not delay it. A send that
      // closed the connection (its queue was full) has failed the call already.
      if (this.#pending.get(id) === call) {
        call.timer = this.#clock.setTimeout(() => this.#expire(id, timeoutMs), timeoutMs);
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) {
      this.#clock.clearTimeout(call.timer);
      call.reject(
        new RpcError("closed", `Call ${call.method} on ${this.#label} ended: the client closed`),
      );
    }
    if (this.#retryTimer !== null) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#connectAttempt?.abort();
    this.#connection?.close();
    this.#connection = null;
  }

  #send(connection: FramedConnection, call: PendingCall): void {
    const frame = call.frame;
    assert(frame !== null, `Call ${call.method} to ${this.#label} was already sent`);
    // Marked sent first: a send that overflows the write queue closes the connection at once,
    // and the close must fail this call along with the others.
    call.frame = null;
    if (this.#options.traffic !== null) this.#options.traffic.callsOut++;
    connection.send(frame);
  }

  #expire(id: number, timeoutMs: number): void {
    const call = this.#pending.get(id);
    if (call === undefined) return;
    this.#pending.delete(id);
    call.reject(
      new RpcError(
        "timeout",
        `Call ${call.method} on ${this.#label} got no reply within ${timeoutMs} ms`,
      ),
    );
  }

  #hasUnsentCalls(): boolean {
    for (const call of this.#pending.values()) if (call.frame !== null) return true;
    return false;
  }

  /** Connects now, or once the backoff delay has passed; calls made meanwhile wait for it. */
  #startConnecting(): void {
    if (this.#closed || this.#connection !== null) return;
    if (this.#connectAttempt !== null || this.#retryTimer !== null) return;
    const waitMs = this.#earliestAttemptMs - this.#clock.now();
    if (waitMs > 0) {
      this.#retryTimer = this.#clock.setTimeout(() => {
        this.#retryTimer = null;
        if (this.#hasUnsentCalls()) this.#startConnecting();
      }, waitMs);
      return;
    }
    const attempt = new AbortController();
    this.#connectAttempt = attempt;
    void this.#dial(attempt).then((outcome) => {
      assert(this.#connectAttempt === attempt, `Two connection attempts to ${this.#label} overlap`);
      this.#connectAttempt = null;
      if (this.#closed) {
        if (outcome.conn !== undefined) outcome.conn.close();
      } else if (outcome.conn !== undefined) {
        this.#onConnected(outcome.conn);
      } else {
        this.#onConnectFailed(outcome);
      }
    });
  }

  async #dial(attempt: AbortController): Promise<DialOutcome> {
    const timeoutMs = this.#options.connectTimeoutMs;
    let timer: TimerHandle = null;
    const late = new Promise<"late">((resolve) => {
      timer = this.#clock.setTimeout(() => {
        attempt.abort();
        resolve("late");
      }, timeoutMs);
    });
    const dialling = dialSecurely(this.#address, this.#options.security, attempt.signal);
    try {
      const conn = await Promise.race([dialling, late]);
      if (conn !== "late") return { conn, problem: "", refused: false, reason: null };
      // A TLS connect cannot be aborted: close it should it still come.
      dialling.then((conn) => conn.close(), () => {});
      const problem = `no connection after ${timeoutMs} ms`;
      return { problem, refused: false, reason: "connect timeout" };
    } catch (error) {
      if (error instanceof AuthenticationError) {
        const problem = `authentication failed: ${error.message}`;
        return { problem, refused: true, reason: null };
      }
      if (attempt.signal.aborted) {
        const problem = `no connection after ${timeoutMs} ms`;
        return { problem, refused: false, reason: "connect timeout" };
      }
      if (error instanceof Deno.errors.ConnectionRefused) {
        return { problem: "connection refused", refused: false, reason: "refused" };
      }
      if (error instanceof Deno.errors.NotFound) {
        return { problem: "no socket at that path", refused: false, reason: "no socket" };
      }
      return { problem: errorText(error), refused: false, reason: null };
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  #onConnected(conn: Deno.Conn): void {
    this.#backoffMs = 0;
    const connection = new FramedConnection(conn, this.#options.maxFrameBytes, {
      onFrame: (value) => this.#onReply(value),
      onClose: (reason) => this.#onConnectionClosed(connection, reason),
    }, this.#options.traffic);
    this.#connection = connection;
    for (const call of this.#pending.values()) {
      if (call.frame !== null) this.#send(connection, call);
    }
  }

  #onConnectFailed({ problem, refused, reason }: DialOutcome): void {
    this.#noteFailure();
    const message = `Cannot reach ${this.#label}: ${problem}`;
    for (const [id, call] of this.#pending) {
      if (call.frame === null) continue;
      this.#pending.delete(id);
      this.#clock.clearTimeout(call.timer);
      call.reject(
        refused
          ? new RpcAuthenticationError(message)
          : new RpcError("unreachable", message, reason),
      );
    }
  }

  #noteFailure(): void {
    this.#backoffMs = this.#backoffMs === 0
      ? this.#options.backoffInitialMs
      : Math.min(this.#options.backoffMaxMs, this.#backoffMs * 2);
    this.#earliestAttemptMs = this.#clock.now() + this.#backoffMs;
  }

  #onReply(value: unknown): void {
    if (isHandshakeFrame(value)) {
      // Only a server that wants the cluster secret speaks the handshake to a client without one.
      const reason = refusalReason(value) ?? "the server wants the cluster secret";
      this.#refusal = `authentication failed: ${reason}; give the cluster's --secret-file`;
      throw new ProtocolError(this.#refusal);
    }
    const reply = parseReply(value);
    const call = this.#pending.get(reply.id);
    // A reply after the call timed out is expected; its caller has already moved on.
    if (call === undefined) return;
    assert(call.frame === null, `Reply to ${call.method} from ${this.#label} came before sending`);
    this.#pending.delete(reply.id);
    this.#clock.clearTimeout(call.timer);
    if (reply.ok) {
      call.resolve(reply.value);
    } else {
      call.reject(
        new RpcError("remote", `Call ${call.method} on ${this.#label} failed: ${reply.value}`),
      );
    }
  }

  #onConnectionClosed(connection: FramedConnection, reason: CloseReason): void {
    if (this.#closed) return;
    assert(this.#connection === connection, `A stale connection to ${this.#label} closed`);
    this.#connection = null;
    this.#noteFailure();
    const refusal = this.#refusal ??
      (reason.kind === "protocol" && reason.message.endsWith(TLS_MISMATCH)
        ? `authentication failed: ${TLS_MISMATCH} (give the cluster's --ca)`
        : null);
    this.#refusal = null;
    let detail = "the connection closed before the reply";
    if (reason.kind !== "end") detail += ` (${reason.message})`;
    if (refusal !== null) detail = refusal;
    else if (reason.kind === "protocol") {
      this.#options.log(`RPC client for ${this.#label}: closing the connection: ${reason.message}`);
    }
    // Every pending call was sent on this connection; none is resent, as it may have run.
    for (const [id, call] of this.#pending) {
      assert(call.frame === null, `Call ${call.method} to ${this.#label} was never sent`);
      this.#pending.delete(id);
      this.#clock.clearTimeout(call.timer);
      const message = `Cannot reach ${this.#label}: ${detail}`;
      call.reject(
        refusal === null
          ? new RpcError("unreachable", message, reason.kind === "end" ? null : "broken")
          : new RpcAuthenticationError(message),
      );
    }
  }
}

/** A connection, or why there is none; `refused` when TLS or the secret failed. */
interface DialOutcome {
  conn?: Deno.Conn;
  problem: string;
  refused: boolean;
  reason: UnreachableReason | null;
}

interface Reply {
  id: number;
  ok: boolean;
  value: unknown;
}

/** Checks that a frame is `[1, id, ok, result]`, with a message string when `ok` is false. */
function parseReply(value: unknown): Reply {
  if (!Array.isArray(value) || value.length !== 4 || value[0] !== 1) {
    throw new ProtocolError("malformed frame: expected a reply [1, id, ok, result]");
  }
  const [, id, ok, result] = value;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
    throw new ProtocolError("malformed frame: the reply id is not a whole number");
  }
  if (typeof ok !== "boolean" || (!ok && typeof result !== "string")) {
    throw new ProtocolError(`malformed frame: reply ${id} is neither a result nor an error`);
  }
  return { id, ok, value: result };
}
