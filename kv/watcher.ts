/**
 * A watch, on the client's side: it polls any server for the changes to a key or range from
 * where it stopped, moving to the next server when one fails, so that its events come in
 * revision order with none missed and none twice, across leader failover, restarts and
 * reconnects. Each poll returns at most a bounded batch; a watcher that falls behind the
 * servers' history window gets an error saying so.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Clock, sleep } from "../util/clock.ts";
import { RpcAuthenticationError, type RpcClient, RpcError } from "../rpc/types.ts";
import type { KeyRange } from "./store.ts";
import {
  isWatchReply,
  KV_WATCH_METHOD,
  MAX_WATCH_WAIT_MS,
  type WatchEvent,
  type WatchReply,
} from "./watch_protocol.ts";

/** Default for {@linkcode WatcherOptions.waitMs}. */
export const DEFAULT_WATCH_WAIT_MS = 1_000;
/** Extra time a poll's call gets beyond the server's wait. */
const CALL_MARGIN_MS = 2_000;
/** Pause after every server was tried once without an answer. */
const RETRY_PAUSE_MS = 50;
/** Most servers tried for one batch before giving up with an error. */
const MAX_CALLS_PER_BATCH = 10_000;

/** Options of a {@linkcode Watcher}. */
export interface WatcherOptions {
  /** How long a server holds a poll that finds nothing (0 to 30 000 ms); default 1000. */
  readonly waitMs?: number;
}

/** The error a watcher throws when the history no longer reaches back to where it stands. */
export class WatchCompactedError extends Error {
  /** The oldest revision the server still holds. */
  readonly oldestRevision: number;

  /** Creates the error for a watcher at `revision`. */
  constructor(revision: number, oldestRevision: number) {
    super(
      `Cannot watch from revision ${revision}: the history now starts at revision ${oldestRevision} (the watcher fell behind or started too early)`,
    );
    this.name = "WatchCompactedError";
    this.oldestRevision = oldestRevision;
  }
}

/** Changes to a key or range, from a revision on, one batch per {@linkcode Watcher.next}. */
export class Watcher {
  readonly #servers: readonly RpcClient[];
  readonly #clock: Clock;
  readonly #range: KeyRange;
  readonly #waitMs: number;
  #server = 0;
  #nextRevision: number;
  #nextSub = 0;
  #closed = false;

  /** A watch of `range` from revision `fromRevision` (≥ 1) through `servers`. */
  constructor(
    servers: readonly RpcClient[],
    clock: Clock,
    range: KeyRange,
    fromRevision: number,
    options: WatcherOptions = {},
  ) {
    assert(servers.length > 0, "Cannot watch without servers");
    assert(
      Number.isSafeInteger(fromRevision) && fromRevision >= 1,
      `Cannot watch from ${fromRevision}`,
    );
    this.#servers = servers;
    this.#clock = clock;
    this.#range = range;
    this.#nextRevision = fromRevision;
    this.#waitMs = options.waitMs ?? DEFAULT_WATCH_WAIT_MS;
    assert(
      this.#waitMs >= 0 && this.#waitMs <= MAX_WATCH_WAIT_MS,
      `Cannot wait ${this.#waitMs} ms per poll`,
    );
  }

  /** The revision the next events start from: one past the last revision seen. */
  get nextRevision(): number {
    return this.#nextRevision;
  }

  /** Stops the watch: a poll in progress rejects at its next attempt. */
  close(): void {
    this.#closed = true;
  }

  /**
   * The next batch of events, in revision order (empty when nothing changed within the wait).
   * Throws {@linkcode WatchCompactedError} when the history no longer holds where it stands.
   */
  async next(): Promise<WatchEvent[]> {
    // Servers that said compacted in a row: each keeps its own history, so ask them all.
    let compacted = 0;
    for (let calls = 0; calls < MAX_CALLS_PER_BATCH; calls++) {
      if (this.#closed) throw new Error("Cannot watch: the watcher was closed");
      const reply = await this.#poll(this.#servers[this.#server]);
      if (reply?.err === "OK") return this.#take(reply);
      compacted = reply?.err === "ErrCompacted" ? compacted + 1 : 0;
      if (reply?.err === "ErrCompacted" && compacted === this.#servers.length) {
        throw new WatchCompactedError(this.#nextRevision, reply.nextRevision);
      }
      this.#server = (this.#server + 1) % this.#servers.length;
      if (this.#server === 0) await sleep(this.#clock, RETRY_PAUSE_MS);
    }
    throw new Error(`Cannot watch: no server answered ${MAX_CALLS_PER_BATCH} polls`);
  }

  async #poll(server: RpcClient): Promise<WatchReply | null> {
    const request = {
      key: this.#range.key,
      ...(this.#range.end === undefined ? {} : { end: this.#range.end }),
      fromRevision: this.#nextRevision,
      fromSub: this.#nextSub,
      waitMs: this.#waitMs,
    };
    try {
      const reply = await server.call(KV_WATCH_METHOD, request, {
        timeoutMs: this.#waitMs + CALL_MARGIN_MS,
      });
      return isWatchReply(reply) ? reply : null;
    } catch (error) {
      // A refused handshake (TLS or the cluster secret) repeats on every retry: report it.
      if (error instanceof RpcAuthenticationError) throw error;
      if (error instanceof RpcError && error.kind !== "closed") return null;
      throw error;
    }
  }

  /** Checks a batch continues where the watcher stood, and moves past it. */
  #take(reply: WatchReply): WatchEvent[] {
    let revision = this.#nextRevision;
    let sub = this.#nextSub;
    for (const event of reply.events) {
      if (event.revision < revision || (event.revision === revision && event.sub < sub)) {
        throw new Error(
          `Cannot watch: a server sent revision ${event.revision}.${event.sub} after ${revision}.${sub}`,
        );
      }
      revision = event.revision;
      sub = event.sub + 1;
    }
    const ahead = reply.nextRevision > revision ||
      (reply.nextRevision === revision && reply.nextSub >= sub);
    if (ahead) {
      revision = reply.nextRevision;
      sub = reply.nextSub;
    }
    this.#nextRevision = revision;
    this.#nextSub = sub;
    return reply.events;
  }
}
