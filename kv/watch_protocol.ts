/**
 * Watches as a long poll: a client asks any server for the changes to a key or a range from a
 * revision on; the server answers at once with what its history holds (at most
 * {@linkcode MAX_WATCH_EVENTS}), or, when there is nothing yet, once something changes or the
 * wait runs out. The client asks again from after the last revision it saw — of whichever
 * server, since every replica's history is the same log's — so events come in revision order,
 * none missed and none twice, across failover and reconnects. The server keeps no buffer per
 * watcher: a watcher that falls behind the history window is told (ErrCompacted), not dropped.
 *
 * @module
 */
import type { KeyRecord } from "./store.ts";
import { MAX_KEY_CHARS } from "./command.ts";
import { objectOf, wholeNumberField } from "../util/message_fields.ts";

/** The RPC method of a watch poll; args {@linkcode WatchRequest}, result {@linkcode WatchReply}. */
export const KV_WATCH_METHOD = "KV.Watch";
/** The most events one poll answers. */
export const MAX_WATCH_EVENTS = 1_000;
/** The longest a poll waits for a change. */
export const MAX_WATCH_WAIT_MS = 30_000;

/** One poll: changes to `[key, end)` (or `key` alone) from revision `fromRevision` on. */
export interface WatchRequest {
  readonly key: string;
  readonly end?: string;
  /** The first revision wanted (≥ 1). */
  readonly fromRevision: number;
  /** The first change wanted within `fromRevision` (a revision may hold many); default 0. */
  readonly fromSub?: number;
  /** How long to wait when nothing changed yet (0: answer at once). */
  readonly waitMs: number;
}

/** One change, as a watcher sees it. */
export interface WatchEvent {
  readonly type: "put" | "delete";
  readonly key: string;
  /** The value written ("" for a delete). */
  readonly value: string;
  readonly revision: number;
  /** Its order within its revision. */
  readonly sub: number;
  /** The key after a put (version, revisions, lease); absent for a delete. */
  readonly record?: KeyRecord;
  /** The value before the change, when the key existed. */
  readonly previousValue?: string;
}

/** A server's answer to a poll. */
export interface WatchReply {
  /** OK; ErrCompacted when `fromRevision` is no longer in the history; or try elsewhere. */
  readonly err: "OK" | "ErrCompacted" | "ErrWrongLeader" | "ErrTimeout";
  /** The changes, in revision order. */
  readonly events: WatchEvent[];
  /**
   * Where to ask next: every change before change `nextSub` of revision `nextRevision` has been
   * answered. With ErrCompacted: one past the compacted revision, the oldest still held.
   */
  readonly nextRevision: number;
  readonly nextSub: number;
}

/** Checks a poll's arguments; throws naming the bad field. */
export function parseWatchRequest(value: unknown): WatchRequest {
  const what = "watch";
  const fields = objectOf(value, what);
  if (typeof fields.key !== "string" || fields.key.length > MAX_KEY_CHARS) {
    throw new Error(`Bad watch: key must be a string of at most ${MAX_KEY_CHARS} characters`);
  }
  if (fields.end !== undefined && typeof fields.end !== "string") {
    throw new Error("Bad watch: end must be a string");
  }
  const fromRevision = wholeNumberField(fields, "fromRevision", what);
  if (fromRevision < 1) throw new Error("Bad watch: fromRevision must be a whole number ≥ 1");
  const fromSub = fields.fromSub === undefined ? 0 : wholeNumberField(fields, "fromSub", what);
  const waitMs = wholeNumberField(fields, "waitMs", what);
  if (waitMs > MAX_WATCH_WAIT_MS) {
    throw new Error(`Bad watch: waitMs must be 0 to ${MAX_WATCH_WAIT_MS}`);
  }
  return {
    key: fields.key,
    ...(fields.end === undefined ? {} : { end: fields.end as string }),
    fromRevision,
    fromSub,
    waitMs,
  };
}

/** Whether `value` is a well-formed {@linkcode WatchReply}. */
export function isWatchReply(value: unknown): value is WatchReply {
  if (typeof value !== "object" || value === null) return false;
  const reply = value as Record<string, unknown>;
  return ["OK", "ErrCompacted", "ErrWrongLeader", "ErrTimeout"].includes(reply.err as string) &&
    Array.isArray(reply.events) && reply.events.length <= MAX_WATCH_EVENTS &&
    Number.isSafeInteger(reply.nextRevision) && Number.isSafeInteger(reply.nextSub);
}
