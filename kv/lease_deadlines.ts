/**
 * When each lease ends, as the leader sees it. Only a leader times leases: it renews a lease on
 * a keep-alive and proposes its expiry as a log entry once the deadline passes, so every replica
 * deletes the lease's keys at the same point of the log and none by its own clock. A peer that
 * becomes leader starts every lease's deadline afresh, a full time to live from then, before it
 * expires any: the keep-alives the old leader took are lost with its clock, and the clients get a
 * whole TTL to find the new leader.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock } from "../util/clock.ts";
import { MAX_LEASES } from "./command.ts";

/** A lease the leader times. */
interface Deadline {
  readonly ttlMs: number;
  deadlineMs: number;
  /** When its expiry was last proposed (null: not yet); proposals may be lost. */
  proposedAtMs: number | null;
}

/** The leader's lease deadlines; empty while this peer does not lead. */
export class LeaseDeadlines {
  readonly #clock: Clock;
  readonly #deadlines = new Map<number, Deadline>();
  /** The term this peer leads in, or null when it does not lead. */
  #term: number | null = null;

  /** Deadlines measured on `clock`. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether this peer times leases (it leads). */
  get leading(): boolean {
    return this.#term !== null;
  }

  /** How many leases are timed. */
  get size(): number {
    return this.#deadlines.size;
  }

  /**
   * Notes who leads: on becoming leader in `term`, every lease of `leases` gets a full time to
   * live from now; on losing leadership, every deadline is forgotten.
   */
  observe(isLeader: boolean, term: number, leases: () => { id: number; ttlMs: number }[]): void {
    if (!isLeader) {
      this.#term = null;
      this.#deadlines.clear();
      return;
    }
    if (this.#term === term) return;
    this.#term = term;
    this.#deadlines.clear();
    for (const { id, ttlMs } of leases()) this.granted(id, ttlMs);
  }

  /** A lease was granted (applied while leading): it lives `ttlMs` from now. */
  granted(id: number, ttlMs: number): void {
    if (!this.leading) return;
    assert(this.#deadlines.size < MAX_LEASES || this.#deadlines.has(id), "Too many leases timed");
    this.#deadlines.set(id, { ttlMs, deadlineMs: this.#clock.now() + ttlMs, proposedAtMs: null });
  }

  /** A keep-alive: lease `id` lives a full time to live from now; returns it, or null if unknown. */
  keepAlive(id: number): number | null {
    const lease = this.#deadlines.get(id);
    if (lease === undefined) return null;
    lease.deadlineMs = this.#clock.now() + lease.ttlMs;
    lease.proposedAtMs = null;
    return lease.ttlMs;
  }

  /** A lease ended (revoked or expired, as applied). */
  ended(id: number): void {
    this.#deadlines.delete(id);
  }

  /**
   * The leases past their deadline whose expiry is not proposed, or was proposed more than
   * `retryMs` ago (the proposal may have been lost); each is marked proposed now.
   */
  due(retryMs: number): number[] {
    const now = this.#clock.now();
    const due: number[] = [];
    for (const [id, lease] of this.#deadlines) {
      if (lease.deadlineMs > now) continue;
      if (lease.proposedAtMs !== null && now - lease.proposedAtMs < retryMs) continue;
      lease.proposedAtMs = now;
      due.push(id);
    }
    return due;
  }

  /** Time left on lease `id`, or null when it is not timed here. */
  remainingMs(id: number): number | null {
    const lease = this.#deadlines.get(id);
    return lease === undefined ? null : Math.max(0, lease.deadlineMs - this.#clock.now());
  }
}
