/**
 * What clerks and key/value servers say to each other: one RPC method that carries a
 * {@linkcode KvCommand} and answers with a {@linkcode KvReply}.
 *
 * @module
 */
import type { KvCommand } from "./state_machine.ts";

/** The RPC method a clerk calls on a server; its argument is a {@linkcode KvCommand}. */
export const KV_OPERATION_METHOD = "KV.Operation";

/** The operation was applied; `value` holds what a Get read. */
export const OK = "OK";
/** This server is not the leader (or lost leadership before the operation was applied). */
export const ERR_WRONG_LEADER = "ErrWrongLeader";
/** The operation was not applied in time; it may still be, so the clerk retries. */
export const ERR_TIMEOUT = "ErrTimeout";

/** How an operation came out. */
export type KvError = typeof OK | typeof ERR_WRONG_LEADER | typeof ERR_TIMEOUT;

/** A server's answer to a {@linkcode KvCommand}. */
export interface KvReply {
  /** {@linkcode OK}, or why the clerk must try again (elsewhere). */
  readonly err: KvError;
  /** For a Get that succeeded, the value read ("" for a missing key); "" otherwise. */
  readonly value: string;
}

export type { KvCommand };

/** Whether `value` is a well-formed {@linkcode KvReply}. */
export function isKvReply(value: unknown): value is KvReply {
  if (typeof value !== "object" || value === null) return false;
  const reply = value as Record<string, unknown>;
  return (reply.err === OK || reply.err === ERR_WRONG_LEADER || reply.err === ERR_TIMEOUT) &&
    typeof reply.value === "string";
}
