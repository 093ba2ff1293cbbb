/**
 * The operations of the key/value service, as clerks send them and as they go through the Raft
 * log: the lab's Get, Put and Append, the versioned Put of the 2025 lab, and etcd's Delete, Range
 * and Txn. Every field is checked before a command is proposed or applied.
 *
 * @module
 */
import type { KeyRange } from "./store.ts";

/** The operations of the service. */
export type KvOperationKind =
  | "get"
  | "put"
  | "append"
  | "delete"
  | "range"
  | "txn"
  | "lease-grant"
  | "lease-revoke"
  | "lease-keepalive"
  | "lease-expire";
/** Every {@linkcode KvOperationKind}. */
export const OPERATION_KINDS: readonly KvOperationKind[] = [
  "get",
  "put",
  "append",
  "delete",
  "range",
  "txn",
  "lease-grant",
  "lease-revoke",
  "lease-keepalive",
  "lease-expire",
];
/** The operations that only read: they never enter the log. */
export const READ_KINDS: readonly KvOperationKind[] = ["get", "range"];
/**
 * The leader's expiry of a lease, proposed by a server, never by a clerk: applied without the
 * duplicate table (expiring a lease twice is expiring it once).
 */
export const LEASE_EXPIRE_KIND: KvOperationKind = "lease-expire";

/**
 * How fresh a read must be:
 * - `linearizable`: it reflects every write acknowledged before it began (a read index from the
 *   leader, confirmed by a round of heartbeats; no log write);
 * - `lease`: the same while the leader's clock drifts no more than allowed (the leader answers
 *   within its lease, without the round);
 * - `serializable`: the state of the server asked, at once, which may be stale (a partitioned or
 *   lagging server answers from what it has).
 */
export type Consistency = "linearizable" | "lease" | "serializable";

/** Every {@linkcode Consistency}, strongest first. */
export const CONSISTENCIES: readonly Consistency[] = ["linearizable", "lease", "serializable"];

/** What a transaction's comparison looks at: as etcd's Compare targets. */
export type CompareTarget = "value" | "version" | "create" | "mod";
/** How it compares. */
export type CompareOp = "=" | "!=" | "<" | ">";

/**
 * One comparison of a transaction: `target` of `key` `op` `value`. A missing key has value "",
 * version 0 and revisions 0, so `version = 0` asks that a key not exist.
 */
export interface Compare {
  /** The key compared. */
  readonly key: string;
  /** What of it. */
  readonly target: CompareTarget;
  /** How. */
  readonly op: CompareOp;
  /** Against what: a string for `value`, a number otherwise. */
  readonly value: string | number;
}

/** One operation inside a transaction. */
export type TxnOp =
  | { readonly kind: "put"; readonly key: string; readonly value: string; readonly lease?: number }
  | { readonly kind: "delete"; readonly key: string; readonly end?: string }
  | {
    readonly kind: "range";
    readonly key: string;
    readonly end?: string;
    readonly limit?: number;
  };

/** A transaction: if every comparison holds, `success` runs, else `failure`; all at one revision. */
export interface Txn {
  /** Comparisons that must all hold. */
  readonly compare: readonly Compare[];
  /** Operations run when they do. */
  readonly success: readonly TxnOp[];
  /** Operations run when one does not. */
  readonly failure: readonly TxnOp[];
}

/** One operation as a clerk sends it and, unless it only reads, as it goes through the log. */
export interface KvCommand {
  /** The clerk that issued it. */
  readonly clientId: number;
  /** The clerk's number for this operation: fresh per operation, the same on every retry. */
  readonly sequence: number;
  /** What it does. */
  readonly kind: KvOperationKind;
  /** The key (or the start of the range). */
  readonly key: string;
  /** The value written; "" when nothing is. */
  readonly value: string;
  /** For a read: how fresh it must be; default linearizable. Never in the log. */
  readonly consistency?: Consistency;
  /**
   * For a Put: write only if the key's version is this (0: only if the key does not exist), as
   * the 2025 lab's Put; absent: write whatever the version.
   */
  readonly version?: number;
  /** For a Put: the lease the key is attached to (absent or 0: none); the lease of a lease-*. */
  readonly lease?: number;
  /** For a lease-grant: how long the lease lives without a keep-alive. */
  readonly ttlMs?: number;
  /**
   * For a Put: create a new key named `key` followed by the put's revision in 20 digits (unique,
   * and increasing in the order of creation), as ZooKeeper's sequential nodes; the reply's
   * record names it.
   */
  readonly sequential?: boolean;
  /** For a Delete or Range: the end of the range `[key, end)` ("" for no end); absent: one key. */
  readonly end?: string;
  /** For a Range: the most keys returned (0 or absent: up to {@linkcode MAX_RANGE_KEYS}). */
  readonly limit?: number;
  /** For a Range: read the keys as they stood at this revision; absent or 0: now. */
  readonly revision?: number;
  /** For a Txn: its comparisons and branches. */
  readonly txn?: Txn;
}

/** The most clients the duplicate table remembers; a bound on the snapshot's size. */
export const MAX_CLIENTS = 1_000_000;
/** The most keys one Range answers; more are paged (the reply says more follow). */
export const MAX_RANGE_KEYS = 10_000;
/** The most comparisons or operations in one branch of a transaction, as etcd's default. */
export const MAX_TXN_OPS = 128;
/** The longest key. */
export const MAX_KEY_CHARS = 4_096;
/** The shortest lease: a few heartbeats, so a keep-alive can arrive in time. */
export const MIN_LEASE_TTL_MS = 100;
/** The longest lease: a day. */
export const MAX_LEASE_TTL_MS = 86_400_000;
/** The most leases at once; a bound on the leader's lease table. */
export const MAX_LEASES = 100_000;

/** Digits of the revision that ends a sequential key: enough for any safe integer. */
export const SEQUENTIAL_DIGITS = 20;

/** The range a command or transaction operation names. */
export function rangeOf(command: { key: string; end?: string }): KeyRange {
  return command.end === undefined ? { key: command.key } : { key: command.key, end: command.end };
}

function wholeProblem(value: unknown, name: string): string | null {
  if (value === undefined) return null;
  return Number.isSafeInteger(value) && (value as number) >= 0
    ? null
    : `its ${name} is not a whole number ≥ 0`;
}

function keyProblem(fields: Record<string, unknown>): string | null {
  if (typeof fields.key !== "string") return "its key is not a string";
  if (fields.key.length > MAX_KEY_CHARS) return `its key is over ${MAX_KEY_CHARS} characters`;
  if (fields.end !== undefined && typeof fields.end !== "string") return "its end is not a string";
  return null;
}

function compareProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "a comparison is not a map";
  const compare = value as Record<string, unknown>;
  if (typeof compare.key !== "string") return "a comparison's key is not a string";
  if (!["value", "version", "create", "mod"].includes(compare.target as string)) {
    return `a comparison's target ${
      JSON.stringify(compare.target)
    } is not value, version, create or mod`;
  }
  if (!["=", "!=", "<", ">"].includes(compare.op as string)) {
    return `a comparison's op ${JSON.stringify(compare.op)} is not =, !=, < or >`;
  }
  const wantsString = compare.target === "value";
  const isString = typeof compare.value === "string";
  if (wantsString !== isString || (!isString && typeof compare.value !== "number")) {
    return `a comparison of ${compare.target} needs a ${wantsString ? "string" : "number"}`;
  }
  return null;
}

function txnOpProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "an operation is not a map";
  const op = value as Record<string, unknown>;
  if (op.kind !== "put" && op.kind !== "delete" && op.kind !== "range") {
    return `an operation's kind ${JSON.stringify(op.kind)} is not put, delete or range`;
  }
  const problem = keyProblem(op);
  if (problem !== null) return `an operation: ${problem}`;
  if (op.kind === "put" && typeof op.value !== "string") return "a put's value is not a string";
  return wholeProblem(op.lease, "lease") ?? wholeProblem(op.limit, "limit");
}

function txnProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "its txn is not a map";
  const txn = value as Record<string, unknown>;
  for (const part of ["compare", "success", "failure"]) {
    const list = txn[part];
    if (!Array.isArray(list)) return `its txn's ${part} is not a list`;
    if (list.length > MAX_TXN_OPS) return `its txn's ${part} has over ${MAX_TXN_OPS} entries`;
    for (const item of list) {
      const problem = part === "compare" ? compareProblem(item) : txnOpProblem(item);
      if (problem !== null) return `its txn's ${part}: ${problem}`;
    }
  }
  return null;
}

/** Why `value` is not a {@linkcode KvCommand}, or null when it is one. */
export function commandProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "it is not a map";
  const command = value as Record<string, unknown>;
  if (!Number.isSafeInteger(command.clientId)) return "its clientId is not a whole number";
  if (!Number.isSafeInteger(command.sequence) || (command.sequence as number) < 1) {
    return "its sequence is not a positive whole number";
  }
  if (!OPERATION_KINDS.includes(command.kind as KvOperationKind)) {
    return `its kind ${JSON.stringify(command.kind)} is not one of ${OPERATION_KINDS.join(", ")}`;
  }
  const problem = keyProblem(command);
  if (problem !== null) return problem;
  if (typeof command.value !== "string") return "its value is not a string";
  const consistency = command.consistency;
  if (consistency !== undefined && !CONSISTENCIES.includes(consistency as Consistency)) {
    return `its consistency ${JSON.stringify(consistency)} is not one of ${
      CONSISTENCIES.join(", ")
    }`;
  }
  for (const name of ["version", "lease", "limit", "revision", "ttlMs"]) {
    const whole = wholeProblem(command[name], name);
    if (whole !== null) return whole;
  }
  if (command.kind === "lease-grant") {
    const ttlMs = command.ttlMs as number | undefined;
    if (ttlMs === undefined || ttlMs < MIN_LEASE_TTL_MS || ttlMs > MAX_LEASE_TTL_MS) {
      return `its ttlMs is not ${MIN_LEASE_TTL_MS} to ${MAX_LEASE_TTL_MS}`;
    }
  }
  if (command.sequential !== undefined && typeof command.sequential !== "boolean") {
    return "its sequential is not true or false";
  }
  if (command.sequential === true && command.kind !== "put") return "only a put can be sequential";
  if (command.kind === "txn") return txnProblem(command.txn);
  return command.txn === undefined ? null : `a ${command.kind} carries a txn`;
}

/** Only the fields the log needs of `command`, whatever else the caller sent. */
export function loggedCommand(command: KvCommand): KvCommand {
  const logged: Record<string, unknown> = {
    clientId: command.clientId,
    sequence: command.sequence,
    kind: command.kind,
    key: command.key,
    value: command.value,
  };
  for (const name of ["version", "lease", "end", "txn", "ttlMs", "sequential"] as const) {
    if (command[name] !== undefined) logged[name] = command[name];
  }
  return logged as unknown as KvCommand;
}
