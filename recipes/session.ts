/**
 * A session, as etcd's concurrency package has one: a lease the session keeps alive while it
 * lasts, to which a recipe attaches its keys (a lock's, a candidate's), so that they vanish
 * when the holder dies or is cut off for longer than the lease's time to live. Keep-alives go
 * out three times per time to live, on a clerk of their own.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { errorText } from "../util/error_text.ts";
import type { TimerHandle } from "../util/clock.ts";
import type { Clerk } from "../kv/clerk.ts";
import { MAX_LEASE_TTL_MS, MIN_LEASE_TTL_MS } from "../kv/command.ts";
import type { KvConnection } from "./connection.ts";

/** Keep-alives per time to live: one may be lost, or slow through a failover, and the next renews. */
const KEEPALIVES_PER_TTL = 3;

/** The error a recipe throws when its session's lease ended under it. */
export class SessionLostError extends Error {
  /** Creates the error for lease `lease`, with why the session knows it ended. */
  constructor(lease: number, why: string) {
    super(`Session of lease ${lease} ended: ${why}`);
    this.name = "SessionLostError";
  }
}

/** A lease kept alive until {@linkcode Session.close} or until the service ends it. */
export class Session {
  /** The lease the session's keys are attached to. */
  readonly lease: number;
  /** The lease's time to live. */
  readonly ttlMs: number;
  readonly #connection: KvConnection;
  readonly #keeper: Clerk;
  readonly #ended: Promise<SessionLostError>;
  #end!: (error: SessionLostError) => void;
  #lost: SessionLostError | null = null;
  #closed = false;
  #timer: TimerHandle = null;

  private constructor(connection: KvConnection, lease: number, ttlMs: number) {
    this.lease = lease;
    this.ttlMs = ttlMs;
    this.#connection = connection;
    this.#keeper = connection.makeClerk();
    this.#ended = new Promise((resolve) => this.#end = resolve);
    this.#schedule();
  }

  /** Grants a lease of `ttlMs` through `clerk` and starts keeping it alive. */
  static async start(connection: KvConnection, clerk: Clerk, ttlMs: number): Promise<Session> {
    assert(
      Number.isSafeInteger(ttlMs) && ttlMs >= MIN_LEASE_TTL_MS && ttlMs <= MAX_LEASE_TTL_MS,
      `Cannot start a session of ${ttlMs} ms: ${MIN_LEASE_TTL_MS} to ${MAX_LEASE_TTL_MS} ms are allowed`,
    );
    const lease = await clerk.leaseGrant(ttlMs);
    return new Session(connection, lease, ttlMs);
  }

  /** The reason the lease is known to have ended, or null while the session believes it lives. */
  get lost(): SessionLostError | null {
    return this.#lost;
  }

  /** Resolves once the lease is known to have ended (never after a {@linkcode close}). */
  get ended(): Promise<SessionLostError> {
    return this.#ended;
  }

  /** Throws the {@linkcode SessionLostError} if the lease is known to have ended. */
  check(): void {
    if (this.#lost !== null) throw this.#lost;
  }

  /**
   * Stops the keep-alives and revokes the lease through `clerk`, which deletes every key
   * attached to it; a lease already gone is fine.
   */
  async close(clerk: Clerk): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#keeper.close();
    await clerk.leaseRevoke(this.lease);
  }

  /** Stops the keep-alives without revoking: the lease ends by itself after its time to live. */
  abandon(): void {
    this.#closed = true;
    this.#connection.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#keeper.close();
  }

  #schedule(): void {
    this.#timer = this.#connection.clock.setTimeout(() => {
      this.#timer = null;
      void this.#renew();
    }, this.ttlMs / KEEPALIVES_PER_TTL);
  }

  async #renew(): Promise<void> {
    if (this.#closed) return;
    let ttlMs: number | null;
    try {
      ttlMs = await this.#keeper.leaseKeepAlive(this.lease);
    } catch (error) {
      if (!this.#closed) this.#lose(`its keep-alive failed: ${errorText(error)}`);
      return;
    }
    if (this.#closed) return;
    if (ttlMs === null) {
      this.#lose("the service no longer knows it (it expired or was revoked)");
      return;
    }
    this.#schedule();
  }

  #lose(why: string): void {
    this.#lost = new SessionLostError(this.lease, why);
    this.#keeper.close();
    this.#end(this.#lost);
  }
}
