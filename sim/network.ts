/**
 * The simulated network, with the semantics of the labs' network (`labrpc`): named client ends
 * that are connected to named servers and enabled or disabled one by one (to cut partitions),
 * an unreliable mode that delays and drops requests and replies, long reordering of replies, long
 * delays before a call to an unreachable server fails, and RPC and byte counts. Arguments and
 * replies go through the real codec, so handlers get copies and byte counts are those of the wire.
 *
 * Every random choice comes from the simulation's random source, in a fixed order, and every
 * delivery and drop is folded into the simulation's trace hash, so a run replays exactly.
 *
 * Zero-delay steps (all of them on a reliable network) run as promise continuations instead of
 * timers: they cost no timer event and no virtual time, as in labrpc where a reliable RPC takes
 * no added delay.
 *
 * An optional per-message latency ({@linkcode SimNetwork.setLatency}, off by default) gives every
 * delivered request and every delivered reply a travel time of its own, drawn uniformly from a
 * range. Services whose clients loop on a reliable network need it, or virtual time never moves
 * while they loop and "milliseconds per operation" means nothing; labrpc has no such delay, so
 * the Raft suites leave it off and keep labrpc's semantics and traces.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { TimerHandle } from "../util/clock.ts";
import { decode, encode } from "../rpc/codec.ts";
import { errorText } from "../util/error_text.ts";
import {
  type CallOptions,
  type RpcClient,
  RpcError,
  type RpcErrorKind,
  type RpcHandlers,
} from "../rpc/types.ts";
import type { Simulation } from "./simulation.ts";
import type { NetworkOutcome } from "./recorder.ts";

/** Most extra delay, exclusive, before an unreliable network delivers a request (labrpc: 27). */
export const UNRELIABLE_MAX_DELAY_MS = 27;
/** Out of 1000: how many requests, and then how many replies, an unreliable network drops. */
export const UNRELIABLE_DROPS_PER_THOUSAND = 100;
/** Long reordering delays a reply when a draw below this bound comes out below the next one. */
export const REORDER_DRAW_BOUND = 900;
/** Long reordering delays replies whose draw from {@linkcode REORDER_DRAW_BOUND} is below this. */
export const REORDER_DRAW_THRESHOLD = 600;
/** A reordered reply waits this long at least. */
export const REORDER_MIN_DELAY_MS = 200;
/** A reordered reply waits up to this much longer than {@linkcode REORDER_MIN_DELAY_MS}. */
export const REORDER_MAX_EXTRA_DELAY_MS = 2000;
/** With long delays on, a call to an unreachable server fails after up to this long (exclusive). */
export const LONG_FAILURE_DELAY_MS = 7000;
/** With long delays off, a call to an unreachable server fails after up to this long (exclusive). */
export const SHORT_FAILURE_DELAY_MS = 100;
/** How often labrpc checks whether the server of a running handler was deleted or cut off. */
export const DEAD_SERVER_POLL_MS = 100;
/** Calls that may be in flight at once; more means a runaway caller. */
export const MAX_CALLS_IN_FLIGHT = 1_000_000;
/**
 * Default for {@linkcode SimNetworkOptions.maxStepsAtOneInstant}: about a second of wall time of
 * RPCs that all happen at one virtual instant.
 */
export const DEFAULT_MAX_STEPS_AT_ONE_INSTANT = 200_000;

/** Limits of a {@linkcode SimNetwork}. */
export interface SimNetworkOptions {
  /**
   * Zero-delay steps (requests handed to a server, failures delivered) that may happen at one
   * virtual instant. Past it the network is livelocked (say a client retries a reliable server in
   * a loop that never waits) and the run fails, instead of hanging with virtual time stuck.
   */
  maxStepsAtOneInstant?: number;
}

interface ServerEntry {
  readonly name: string;
  readonly handlers: RpcHandlers;
  incomingCount: number;
}

interface EndEntry {
  readonly name: string;
  /** The end's number, in order of creation, for the trace hash. */
  readonly index: number;
  enabled: boolean;
  serverName: string | null;
  closed: boolean;
}

/** One call's journey through the network, and the caller's promise. */
interface Exchange {
  readonly end: EndEntry;
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: RpcError) => void;
  settled: boolean;
  /** When the call was made, and when its handler answered: for a recorder's arrows. */
  readonly sentMs: number;
  repliedMs: number;
  timeoutTimer: TimerHandle | null;
  /** The server whose handler is running (as captured when the call was made), else null. */
  handlerServer: ServerEntry | null;
  handlerServerName: string;
  handlerStartMs: number;
  deathCheckArmed: boolean;
}

/** What happened to a call, as folded into the trace hash. */
const enum TraceKind {
  Unreachable = 1,
  RequestDropped,
  Dispatched,
  ServerDead,
  ReplyDropped,
  ReplyDelivered,
}

/** The recorder's name for each kind of step. */
const OUTCOME_OF_KIND: Readonly<Record<TraceKind, NetworkOutcome>> = {
  [TraceKind.Unreachable]: "unreachable",
  [TraceKind.RequestDropped]: "request dropped",
  [TraceKind.Dispatched]: "request delivered",
  [TraceKind.ServerDead]: "server dead",
  [TraceKind.ReplyDropped]: "reply dropped",
  [TraceKind.ReplyDelivered]: "reply delivered",
};

/** What a handler produced, encoded: a result or the text of the error it threw. */
type Reply = { ok: true; bytes: Uint8Array } | { ok: false; message: string; bytes: Uint8Array };

/** A simulated network of client ends and servers on a {@linkcode Simulation}'s clock. */
export class SimNetwork {
  readonly #simulation: Simulation;
  readonly #ends = new Map<string, EndEntry>();
  readonly #servers = new Map<string, ServerEntry>();
  readonly #inFlight = new Set<Exchange>();
  readonly #handlersRunning = new Set<Exchange>();
  #reliable = true;
  #longReordering = false;
  #longDelays = false;
  #cleanedUp = false;
  #minLatencyMs = 0;
  #maxLatencyMs = 0;
  #totalCount = 0;
  #totalBytes = 0;
  #stepInstantMs = -1;
  #stepsAtInstant = 0;
  readonly #maxStepsAtOneInstant: number;

  /** Creates an empty, reliable network on `simulation`'s clock and random source. */
  constructor(simulation: Simulation, options: SimNetworkOptions = {}) {
    this.#simulation = simulation;
    this.#maxStepsAtOneInstant = options.maxStepsAtOneInstant ?? DEFAULT_MAX_STEPS_AT_ONE_INSTANT;
    assert(
      this.#maxStepsAtOneInstant > 0,
      `Cannot allow ${this.#maxStepsAtOneInstant} network steps at one instant`,
    );
  }

  /** Creates a client end named `endName`, disabled and not connected (as in labrpc). */
  makeEnd(endName: string): RpcClient {
    if (this.#ends.has(endName)) throw new Error(`Cannot make end "${endName}": it already exists`);
    const end: EndEntry = {
      name: endName,
      index: this.#ends.size,
      enabled: false,
      serverName: null,
      closed: false,
    };
    this.#ends.set(endName, end);
    return {
      call: <Result>(method: string, args: unknown, options?: CallOptions) =>
        this.#call(end, method, args, options) as Promise<Result>,
      close: () => this.#closeEnd(end),
    };
  }

  /** Connects end `endName` to the server named `serverName` (which may be added later). */
  connect(endName: string, serverName: string): void {
    this.#end(endName, "connect").serverName = serverName;
  }

  /** Enables or disables end `endName`; a disabled end reaches nothing. */
  enable(endName: string, enabled: boolean): void {
    const end = this.#end(endName, enabled ? "enable" : "disable");
    end.enabled = enabled;
    if (!enabled) this.#armDeathChecks();
    const recorder = this.#simulation.recorder;
    if (recorder !== null) {
      recorder.endEnabled(this.#simulation.now(), endName, end.serverName ?? "", enabled);
    }
  }

  /** Adds a server named `serverName`, replacing (as if deleting) any server of that name. */
  addServer(serverName: string, handlers: RpcHandlers): void {
    const replaced = this.#servers.has(serverName);
    this.#servers.set(serverName, { name: serverName, handlers, incomingCount: 0 });
    if (replaced) this.#armDeathChecks();
    this.#simulation.recorder?.serverChanged(this.#simulation.now(), serverName, true);
  }

  /** Deletes the server named `serverName`: calls to it fail, and so do calls it is handling. */
  deleteServer(serverName: string): void {
    if (!this.#servers.delete(serverName)) return;
    this.#armDeathChecks();
    this.#simulation.recorder?.serverChanged(this.#simulation.now(), serverName, false);
  }

  /** Reliable (the default) delivers everything without delay; unreliable delays and drops. */
  setReliable(reliable: boolean): void {
    this.#reliable = reliable;
  }

  /** When on, about two thirds of replies are delayed by 200 to 2200 ms. */
  setLongReordering(on: boolean): void {
    this.#longReordering = on;
  }

  /** When on, calls to unreachable servers fail after up to 7 s instead of up to 100 ms. */
  setLongDelays(on: boolean): void {
    this.#longDelays = on;
  }

  /**
   * Gives every request and every reply a travel time drawn uniformly from
   * [`minLatencyMs`, `maxLatencyMs`], on top of the unreliable mode's delay. (0, 0), the default,
   * is labrpc's instant delivery and draws nothing from the random source.
   */
  setLatency(minLatencyMs: number, maxLatencyMs: number): void {
    assert(
      Number.isFinite(minLatencyMs) && minLatencyMs >= 0 && maxLatencyMs >= minLatencyMs &&
        Number.isFinite(maxLatencyMs),
      `Cannot set a latency of ${minLatencyMs} to ${maxLatencyMs} ms`,
    );
    this.#minLatencyMs = minLatencyMs;
    this.#maxLatencyMs = maxLatencyMs;
  }

  /** RPCs dispatched to the server now named `serverName` (its handler was called). */
  getCount(serverName: string): number {
    const server = this.#servers.get(serverName);
    if (server === undefined) {
      throw new Error(`Cannot count RPCs of server "${serverName}": there is no such server`);
    }
    return server.incomingCount;
  }

  /** RPCs sent through any end, delivered or not. */
  getTotalCount(): number {
    return this.#totalCount;
  }

  /** Encoded bytes of every request sent and every reply delivered. */
  getTotalBytes(): number {
    return this.#totalBytes;
  }

  /** Shuts the network down: calls in flight and later calls reject with kind `closed`. */
  cleanup(): void {
    this.#cleanedUp = true;
    for (const exchange of [...this.#inFlight]) {
      this.#settleFailure(exchange, "closed", "the network was shut down");
    }
  }

  #end(endName: string, action: string): EndEntry {
    const end = this.#ends.get(endName);
    if (end === undefined) throw new Error(`Cannot ${action} end "${endName}": no such end`);
    return end;
  }

  #closeEnd(end: EndEntry): void {
    end.closed = true;
    for (const exchange of [...this.#inFlight]) {
      if (exchange.end === end) this.#settleFailure(exchange, "closed", "the end was closed");
    }
  }

  #call(end: EndEntry, method: string, args: unknown, options?: CallOptions): Promise<unknown> {
    if (this.#cleanedUp || end.closed) {
      const why = this.#cleanedUp ? "the network was shut down" : "the end was closed";
      return Promise.reject(new RpcError("closed", describeCall(end, method, why)));
    }
    assert(
      this.#inFlight.size < MAX_CALLS_IN_FLIGHT,
      `Cannot call ${method} through end "${end.name}": ${MAX_CALLS_IN_FLIGHT} calls are in flight`,
    );
    let argsBytes: Uint8Array;
    try {
      argsBytes = encode(args);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#totalCount += 1;
    this.#totalBytes += argsBytes.length;
    return new Promise((resolve, reject) => {
      const exchange: Exchange = {
        end,
        method,
        resolve,
        reject,
        settled: false,
        sentMs: this.#simulation.now(),
        repliedMs: 0,
        timeoutTimer: null,
        handlerServer: null,
        handlerServerName: "",
        handlerStartMs: 0,
        deathCheckArmed: false,
      };
      this.#inFlight.add(exchange);
      if (options?.timeoutMs !== undefined) this.#armTimeout(exchange, options.timeoutMs);
      this.#route(exchange, argsBytes);
    });
  }

  #armTimeout(exchange: Exchange, timeoutMs: number): void {
    exchange.timeoutTimer = this.#simulation.setTimeout(() => {
      exchange.timeoutTimer = null;
      this.#settleFailure(exchange, "timeout", `no reply came within ${timeoutMs} ms`);
    }, timeoutMs);
  }

  /** Decides, from the network's state when the call is made, what becomes of the request. */
  #route(exchange: Exchange, argsBytes: Uint8Array): void {
    const end = exchange.end;
    const serverName = end.serverName;
    const server = serverName === null ? undefined : this.#servers.get(serverName);
    if (!end.enabled || serverName === null || server === undefined) {
      const boundMs = this.#longDelays ? LONG_FAILURE_DELAY_MS : SHORT_FAILURE_DELAY_MS;
      const delayMs = this.#simulation.random.int(boundMs);
      const why = !end.enabled
        ? "the end is disabled"
        : serverName === null
        ? "the end is not connected"
        : `server "${serverName}" does not exist`;
      this.#after(delayMs, () => {
        this.#trace(TraceKind.Unreachable, exchange, 0, argsBytes);
        this.#settleFailure(exchange, "unreachable", why);
      });
      return;
    }
    const reliable = this.#reliable;
    const longReordering = this.#longReordering;
    const delayMs = (reliable ? 0 : this.#simulation.random.int(UNRELIABLE_MAX_DELAY_MS)) +
      this.#latencyDraw();
    this.#after(delayMs, () => {
      if (!reliable && this.#dropDraw()) {
        this.#trace(TraceKind.RequestDropped, exchange, 0, argsBytes);
        this.#settleFailure(exchange, "unreachable", "the network lost the request");
        return;
      }
      this.#dispatch(exchange, serverName, server, argsBytes, reliable, longReordering);
    });
  }

  /** Runs the handler of `server` (the one captured when the call was made, as labrpc does). */
  #dispatch(
    exchange: Exchange,
    serverName: string,
    server: ServerEntry,
    argsBytes: Uint8Array,
    reliable: boolean,
    longReordering: boolean,
  ): void {
    server.incomingCount += 1;
    this.#trace(TraceKind.Dispatched, exchange, argsBytes.length, argsBytes);
    exchange.handlerServer = server;
    exchange.handlerServerName = serverName;
    exchange.handlerStartMs = this.#simulation.now();
    this.#handlersRunning.add(exchange);
    const finish = (reply: Reply) => this.#handlerDone(exchange, reply, reliable, longReordering);
    const handler = Object.hasOwn(server.handlers, exchange.method)
      ? server.handlers[exchange.method]
      : undefined;
    if (handler === undefined) {
      const message = `server "${serverName}" has no method ${exchange.method}`;
      queueMicrotask(() => finish(errorReply(message)));
      return;
    }
    let result: unknown;
    try {
      result = handler.call(server.handlers, decode(argsBytes));
    } catch (error) {
      queueMicrotask(() => finish(errorReply(errorText(error))));
      return;
    }
    Promise.resolve(result).then(
      (value) => finish(resultReply(value)),
      (error) => finish(errorReply(errorText(error))),
    );
  }

  #handlerDone(exchange: Exchange, reply: Reply, reliable: boolean, longReordering: boolean): void {
    const server = exchange.handlerServer;
    // Null when a death check already failed the call: labrpc stops waiting for the handler then.
    if (server === null) return;
    this.#handlersRunning.delete(exchange);
    exchange.handlerServer = null;
    exchange.repliedMs = this.#simulation.now();
    if (this.#isServerDead(exchange.end, exchange.handlerServerName, server)) {
      this.#trace(TraceKind.ServerDead, exchange, 0, null);
      this.#settleFailure(exchange, "unreachable", "the server was cut off or deleted");
      return;
    }
    if (!reliable && this.#dropDraw()) {
      this.#trace(TraceKind.ReplyDropped, exchange, 0, reply.bytes);
      this.#settleFailure(exchange, "unreachable", "the network lost the reply");
      return;
    }
    const random = this.#simulation.random;
    if (longReordering && random.int(REORDER_DRAW_BOUND) < REORDER_DRAW_THRESHOLD) {
      const extraMs = random.int(1 + random.int(REORDER_MAX_EXTRA_DELAY_MS));
      const delayMs = REORDER_MIN_DELAY_MS + extraMs + this.#latencyDraw();
      this.#after(delayMs, () => this.#deliver(exchange, reply));
      return;
    }
    const latencyMs = this.#latencyDraw();
    if (latencyMs > 0) this.#after(latencyMs, () => this.#deliver(exchange, reply));
    else this.#deliver(exchange, reply);
  }

  /** One message's travel time; 0, without touching the random source, when latency is off. */
  #latencyDraw(): number {
    if (this.#maxLatencyMs === 0) return 0;
    const spanMs = this.#maxLatencyMs - this.#minLatencyMs;
    return this.#minLatencyMs + this.#simulation.random.next() * spanMs;
  }

  #deliver(exchange: Exchange, reply: Reply): void {
    this.#totalBytes += reply.bytes.length;
    this.#trace(TraceKind.ReplyDelivered, exchange, reply.bytes.length, reply.bytes);
    if (reply.ok) {
      this.#settleSuccess(exchange, decode(reply.bytes));
    } else {
      const why = `the server's handler failed: ${reply.message}`;
      this.#settleFailure(exchange, "remote", why);
    }
  }

  #isServerDead(end: EndEntry, serverName: string, server: ServerEntry): boolean {
    return !end.enabled || this.#servers.get(serverName) !== server;
  }

  /**
   * labrpc polls every 100 ms, from when the handler started, whether the end was disabled or the
   * server deleted or replaced, and fails the call at the first poll that finds it so. Polling
   * would cost an event per running handler every 100 virtual ms, so instead each change of the
   * topology arms one check at the next poll instant of every handler it cuts off.
   */
  #armDeathChecks(): void {
    const nowMs = this.#simulation.now();
    for (const exchange of this.#handlersRunning) {
      const server = exchange.handlerServer;
      assert(server !== null, `Call of ${exchange.method} is listed as running without a server`);
      if (exchange.deathCheckArmed) continue;
      if (!this.#isServerDead(exchange.end, exchange.handlerServerName, server)) continue;
      exchange.deathCheckArmed = true;
      const polls = Math.floor((nowMs - exchange.handlerStartMs) / DEAD_SERVER_POLL_MS) + 1;
      const pollMs = exchange.handlerStartMs + polls * DEAD_SERVER_POLL_MS;
      this.#simulation.setTimeout(() => this.#deathCheck(exchange, server), pollMs - nowMs);
    }
  }

  #deathCheck(exchange: Exchange, server: ServerEntry): void {
    exchange.deathCheckArmed = false;
    if (exchange.handlerServer !== server) return;
    if (!this.#isServerDead(exchange.end, exchange.handlerServerName, server)) return;
    this.#handlersRunning.delete(exchange);
    exchange.handlerServer = null;
    this.#trace(TraceKind.ServerDead, exchange, 1, null);
    this.#settleFailure(exchange, "unreachable", "the server was cut off or deleted");
  }

  #dropDraw(): boolean {
    return this.#simulation.random.int(1000) < UNRELIABLE_DROPS_PER_THOUSAND;
  }

  /** Runs `step` after `delayMs`: a timer if there is a delay, else a promise continuation. */
  #after(delayMs: number, step: () => void): void {
    if (delayMs > 0) {
      this.#simulation.setTimeout(step, delayMs);
      return;
    }
    const nowMs = this.#simulation.now();
    if (nowMs !== this.#stepInstantMs) {
      this.#stepInstantMs = nowMs;
      this.#stepsAtInstant = 0;
    }
    this.#stepsAtInstant += 1;
    if (this.#stepsAtInstant > this.#maxStepsAtOneInstant) {
      // Dropping the step breaks the loop, so pending continuations settle and the run rejects.
      this.#simulation.fail(
        new Error(
          `Network livelocked at ${nowMs} ms: ${this.#maxStepsAtOneInstant} RPC steps ran without ` +
            `virtual time advancing (does a client retry without waiting?)`,
        ),
      );
      return;
    }
    queueMicrotask(step);
  }

  /** Folds a step into the trace hash and tells the recorder, if any, with its decoded body. */
  #trace(kind: TraceKind, exchange: Exchange, detail: number, bytes: Uint8Array | null): void {
    this.#simulation.traceEvent(kind, exchange.end.index, detail);
    const recorder = this.#simulation.recorder;
    if (recorder === null) return;
    const isReply = kind === TraceKind.ReplyDelivered || kind === TraceKind.ReplyDropped;
    recorder.networkStep(this.#simulation.now(), {
      outcome: OUTCOME_OF_KIND[kind],
      endName: exchange.end.name,
      serverName: exchange.end.serverName ?? "",
      method: exchange.method,
      sentMs: isReply ? exchange.repliedMs : exchange.sentMs,
      body: bytes === null ? undefined : decode(bytes),
    });
  }

  #settleSuccess(exchange: Exchange, value: unknown): void {
    if (!this.#finishExchange(exchange)) return;
    exchange.resolve(value);
  }

  #settleFailure(exchange: Exchange, kind: RpcErrorKind, why: string): void {
    if (!this.#finishExchange(exchange)) return;
    exchange.reject(new RpcError(kind, describeCall(exchange.end, exchange.method, why)));
  }

  /** Marks the caller's promise settled; false if it already was (the network still carries on). */
  #finishExchange(exchange: Exchange): boolean {
    if (exchange.settled) return false;
    exchange.settled = true;
    this.#inFlight.delete(exchange);
    if (exchange.timeoutTimer !== null) {
      this.#simulation.clearTimeout(exchange.timeoutTimer);
      exchange.timeoutTimer = null;
    }
    return true;
  }
}

function describeCall(end: EndEntry, method: string, why: string): string {
  return `Call of ${method} through end "${end.name}" failed: ${why}`;
}

function resultReply(value: unknown): Reply {
  try {
    return { ok: true, bytes: encode(value) };
  } catch (error) {
    return errorReply(`its result cannot be encoded: ${errorText(error)}`);
  }
}

function errorReply(message: string): Reply {
  return { ok: false, message, bytes: encode(message) };
}
