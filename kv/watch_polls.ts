/**
 * A server's side of watches: it answers a poll from the history of its store, and holds a poll
 * that found nothing until the store changes or the poll's wait runs out. Polls waiting at once
 * are bounded; waking them after applies is coalesced into one pass per turn of the clock, so a
 * burst of writes costs each waiting poll one query.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";
import type { Change, KvStore } from "./store.ts";
import {
  MAX_WATCH_EVENTS,
  type WatchEvent,
  type WatchReply,
  type WatchRequest,
} from "./watch_protocol.ts";

/** A poll that found nothing yet. */
interface WaitingPoll {
  readonly request: WatchRequest;
  readonly resolve: (reply: WatchReply) => void;
  timer: TimerHandle;
}

/** Default for the bound on waiting polls. */
export const DEFAULT_MAX_WAITING_POLLS = 10_000;

/** The watch polls of one server. */
export class WatchPolls {
  readonly #clock: Clock;
  readonly #store: () => KvStore;
  readonly #maxWaiting: number;
  readonly #waiting = new Set<WaitingPoll>();
  #wakeTimer: TimerHandle = null;

  /** Polls answered from `store()` (the server's current store), timed on `clock`. */
  constructor(clock: Clock, store: () => KvStore, maxWaiting = DEFAULT_MAX_WAITING_POLLS) {
    assert(maxWaiting >= 1, `Cannot hold ${maxWaiting} watch polls`);
    this.#clock = clock;
    this.#store = store;
    this.#maxWaiting = maxWaiting;
  }

  /** How many polls wait. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Answers `request` now if there is something to say, else when there is, or at its wait. */
  poll(request: WatchRequest): WatchReply | Promise<WatchReply> {
    const reply = this.#answer(request);
    if (reply.err !== "OK" || reply.events.length > 0 || request.waitMs === 0) return reply;
    if (this.#waiting.size >= this.#maxWaiting) {
      return { err: "ErrTimeout", events: [], nextRevision: reply.nextRevision, nextSub: 0 };
    }
    return new Promise((resolve) => {
      const poll: WaitingPoll = { request, resolve, timer: null };
      poll.timer = this.#clock.setTimeout(() => {
        poll.timer = null;
        this.#finish(poll, this.#answer(request));
      }, request.waitMs);
      this.#waiting.add(poll);
    });
  }

  /** The store changed: waiting polls look again (once per turn, however many changes). */
  changed(): void {
    if (this.#waiting.size === 0 || this.#wakeTimer !== null) return;
    this.#wakeTimer = this.#clock.setTimeout(() => {
      this.#wakeTimer = null;
      for (const poll of [...this.#waiting]) {
        const reply = this.#answer(poll.request);
        if (reply.err !== "OK" || reply.events.length > 0) this.#finish(poll, reply);
      }
    }, 0);
  }

  /** Answers every waiting poll "try elsewhere": the server stops. */
  close(): void {
    this.#clock.clearTimeout(this.#wakeTimer);
    this.#wakeTimer = null;
    for (const poll of [...this.#waiting]) {
      this.#finish(poll, {
        err: "ErrWrongLeader",
        events: [],
        nextRevision: poll.request.fromRevision,
        nextSub: poll.request.fromSub ?? 0,
      });
    }
  }

  #finish(poll: WaitingPoll, reply: WatchReply): void {
    if (!this.#waiting.delete(poll)) return;
    this.#clock.clearTimeout(poll.timer);
    poll.timer = null;
    poll.resolve(reply);
  }

  #answer(request: WatchRequest): WatchReply {
    const store = this.#store();
    if (request.fromRevision <= store.compactedRevision) {
      return {
        err: "ErrCompacted",
        events: [],
        nextRevision: store.compactedRevision + 1,
        nextSub: 0,
      };
    }
    const range = request.end === undefined
      ? { key: request.key }
      : { key: request.key, end: request.end };
    const changes = store.changesFrom(
      range,
      request.fromRevision,
      MAX_WATCH_EVENTS,
      request.fromSub ?? 0,
    );
    if (changes.length === MAX_WATCH_EVENTS) {
      // Possibly cut short: continue right after the last change sent.
      const last = changes[changes.length - 1];
      return {
        err: "OK",
        events: changes.map(eventOf),
        nextRevision: last.revision,
        nextSub: last.sub + 1,
      };
    }
    // Everything up to the store's revision is answered.
    const nextRevision = Math.max(request.fromRevision, store.revision + 1);
    const nextSub = nextRevision === request.fromRevision ? request.fromSub ?? 0 : 0;
    return { err: "OK", events: changes.map(eventOf), nextRevision, nextSub };
  }
}

function eventOf(change: Change): WatchEvent {
  return {
    type: change.type,
    key: change.record.key,
    value: change.type === "put" ? change.record.value : "",
    revision: change.revision,
    sub: change.sub,
    ...(change.type === "put" ? { record: change.record } : {}),
    ...(change.previous === null ? {} : { previousValue: change.previous.value }),
  };
}
