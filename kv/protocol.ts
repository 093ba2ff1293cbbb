/**
 * What clerks and key/value servers say to each other: one RPC method that carries a
 * {@linkcode KvCommand} and answers with a {@linkcode KvReply}.
 *
 * @module
 */
import type { KvCommand } from "./command.ts";
import type { KeyRecord } from "./store.ts";

/** The RPC method a clerk calls on a server; its argument is a {@linkcode KvCommand}. */
export const KV_OPERATION_METHOD = "KV.Operation";

/** The operation was applied (or the read done). */
export const OK = "OK";
/** This server is not the leader (or lost leadership before the operation was applied). */
export const ERR_WRONG_LEADER = "ErrWrongLeader";
/** The operation was not applied in time; it may still be, so the clerk retries. */
export const ERR_TIMEOUT = "ErrTimeout";
/** A versioned Put found another version: nothing was written. */
export const ERR_VERSION = "ErrVersion";
/** The key does not exist (a Get, or a Put of version > 0). */
export const ERR_NO_KEY = "ErrNoKey";
/** A read at a revision the server's history no longer holds. */
export const ERR_COMPACTED = "ErrCompacted";
/** A read at a revision that has not happened yet. */
export const ERR_FUTURE_REVISION = "ErrFutureRevision";
/** A Put or a lease operation names a lease that does not exist. */
export const ERR_LEASE_NOT_FOUND = "ErrLeaseNotFound";
/** A lease-grant found as many leases as the service allows (kv/command.ts). */
export const ERR_TOO_MANY_LEASES = "ErrTooManyLeases";

/** Answers that are the operation's outcome: the clerk stops retrying on any of them. */
export const FINAL_ERRORS = [
  OK,
  ERR_VERSION,
  ERR_NO_KEY,
  ERR_COMPACTED,
  ERR_FUTURE_REVISION,
  ERR_LEASE_NOT_FOUND,
  ERR_TOO_MANY_LEASES,
] as const;

/** How an operation came out. */
export type KvError = typeof FINAL_ERRORS[number] | typeof ERR_WRONG_LEADER | typeof ERR_TIMEOUT;

/** What one operation of a transaction did. */
export interface TxnResponse {
  /** The operation's kind. */
  readonly kind: "put" | "delete" | "range";
  /** A put's new version. */
  readonly version?: number;
  /** A delete's count of keys deleted. */
  readonly deleted?: number;
  /** A range's keys. */
  readonly records?: KeyRecord[];
  /** Whether the range left keys out. */
  readonly more?: boolean;
}

/** A server's answer to a {@linkcode KvCommand}. */
export interface KvReply {
  /** {@linkcode OK}, the operation's refusal, or why the clerk must try again (elsewhere). */
  readonly err: KvError;
  /** For a Get that found its key, the value; "" otherwise. */
  readonly value: string;
  /** The store's revision when the operation was applied or the read done. */
  readonly revision?: number;
  /** A Get's version of the key (0: missing); a Put's or Append's new version. */
  readonly version?: number;
  /** A Get's record (when found) or a Range's keys, in key order. */
  readonly records?: KeyRecord[];
  /** Whether a Range left keys out (ask again from after the last one). */
  readonly more?: boolean;
  /** A Delete's count of keys deleted. */
  readonly deleted?: number;
  /** A Txn: whether its comparisons held. */
  readonly succeeded?: boolean;
  /** A Txn: what each operation of the branch it ran did. */
  readonly responses?: TxnResponse[];
  /** A lease-grant's new lease, or the lease a keep-alive renewed. */
  readonly lease?: number;
  /** A lease's time to live: granted, or left after a keep-alive. */
  readonly ttlMs?: number;
}

export type { KvCommand };

const ERRORS: readonly string[] = [...FINAL_ERRORS, ERR_WRONG_LEADER, ERR_TIMEOUT];

/** Whether `value` is a well-formed {@linkcode KvReply} (its optional fields as the clerk needs). */
export function isKvReply(value: unknown): value is KvReply {
  if (typeof value !== "object" || value === null) return false;
  const reply = value as Record<string, unknown>;
  if (!ERRORS.includes(reply.err as string) || typeof reply.value !== "string") return false;
  for (const name of ["revision", "version", "deleted", "lease", "ttlMs"]) {
    if (reply[name] !== undefined && !Number.isSafeInteger(reply[name])) return false;
  }
  return (reply.records === undefined || Array.isArray(reply.records)) &&
    (reply.responses === undefined || Array.isArray(reply.responses));
}
