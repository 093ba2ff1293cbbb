/**
 * Sequential specifications other than the key/value service's, for checking histories that
 * come from elsewhere (Jepsen, the 2025 lab's versioned key/value store): each model is a step
 * function over a state, and a fingerprint that is equal for equal states (the search
 * remembers configurations by it).
 *
 * Values are strings, or null for "nothing written" (Jepsen's `nil`). Every model applies to
 * one key; a history is checked key by key.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { stepModel } from "./kv_model.ts";

/** The models `dsys check` knows. */
export type ModelName = "kv" | "versioned-kv" | "register" | "cas-register";

/** Every model name, in the order help lists them. */
export const MODEL_NAMES: readonly ModelName[] = ["kv", "versioned-kv", "register", "cas-register"];

/** Operations of all models; each model accepts some of them (see {@linkcode Model.kinds}). */
export type ModelOperationKind =
  | "get"
  | "put"
  | "append"
  | "read"
  | "write"
  | "cas"
  | "delete"
  | "txn";

/** What a versioned key/value server answered (the 2025 lab's `rpc.Err`, without ErrMaybe). */
export type VersionedReply = "OK" | "ErrNoKey" | "ErrVersion";

/** A value: a string, or null for nothing written. */
export type Value = string | null;

/** One operation of a history read from a file, for any model. */
export interface ModelOperation {
  /** Which client (Jepsen's process) issued it. */
  readonly clientId: number;
  /** What it did. */
  readonly kind: ModelOperationKind;
  /** The key it touched ("" when the history has one register). */
  readonly key: string;
  /** The value written (put, append, write) or swapped in (cas). */
  readonly value: Value;
  /** The value a cas expected. */
  readonly expected: Value;
  /** The value a read or get returned. */
  readonly output: Value;
  /** Versioned key/value: the version a put was given, or a get returned. */
  readonly version: number;
  /** Versioned key/value: what the server answered. */
  readonly reply: VersionedReply;
  /** When it was called, in milliseconds (or any unit that orders events). */
  readonly callMs: number;
  /** When it returned; infinite when it never did. */
  readonly returnMs: number;
  /**
   * Whether it may not have happened: a timeout, Jepsen's `:info`, the lab's ErrMaybe. If it
   * happened, it did as its fields say (a cas swapped, a versioned put answered OK).
   */
  readonly maybe: boolean;
  /** Where it was read from, `file:line`, for messages. */
  readonly source: string;
  /** What the fields above cannot say, in the model's own terms (a transaction and its reply). */
  readonly payload?: unknown;
}

/** A sequential specification of one key. */
export interface Model<State> {
  /** Its name in messages; on the command line for a {@linkcode ModelName}. */
  readonly name: string;
  /** The operations it accepts. */
  readonly kinds: readonly ModelOperationKind[];
  /** The state before any operation. */
  readonly initial: State;
  /**
   * The state after `operation`, or undefined if it cannot happen in `state` (not null: null
   * is a register's state before any write).
   */
  step(state: State, operation: ModelOperation): State | undefined;
  /** A string equal for equal states and different otherwise; also how a state is shown. */
  fingerprint(state: State): string;
  /** Whether `operation` never changes the state: in any state it is refused or changes nothing. */
  isPure(operation: ModelOperation): boolean;
  /**
   * For the operations of one key: a map of each state to a representative of the states no
   * sequence of these operations can tell apart from it, so that the search remembers them as
   * one. Absent: every state stands for itself.
   */
  representative?(operations: readonly ModelOperation[]): (state: State) => State;
  /**
   * Whether `operation`, as the last state change before the pure operation `pure`, could
   * leave a state `pure` allows (from any state: an over-approximation is safe, a refusal must
   * be certain). Absent: always true.
   */
  mayEnable?(operation: ModelOperation, pure: ModelOperation): boolean;
  /** Whether `operation` sets the state whatever it was (a register's write). Absent: none do. */
  overwrites?(operation: ModelOperation): boolean;
  /**
   * For the operations of one key: whether an operation that overwrites sets a value that no
   * operation of these can tell from other such values (no read returns it, no cas expects it).
   */
  unseenWrites?(operations: readonly ModelOperation[]): (operation: ModelOperation) => boolean;
}

/** The key/value service: Get reads the value ("" if never written), Put sets, Append extends. */
export const KV_MODEL: Model<string> = {
  name: "kv",
  kinds: ["get", "put", "append"],
  initial: "",
  step(state, operation) {
    const kind = operation.kind;
    assert(kind === "get" || kind === "put" || kind === "append", `kv cannot ${kind}`);
    const step = stepModel(state, {
      ...operation,
      kind,
      value: operation.value ?? "",
      output: operation.output ?? "",
    });
    return step.legal ? step.value : undefined;
  },
  fingerprint: (state) => JSON.stringify(state),
  isPure: (operation) => operation.kind === "get",
};

/**
 * A register's value no read returned and no cas expected: all such values behave alike (every
 * read and cas refuses them, a write replaces them), so the search merges them into this one.
 */
export const UNSEEN: unique symbol = Symbol("unseen");

/** A register's state: a value, or {@linkcode UNSEEN}. */
export type RegisterState = Value | typeof UNSEEN;

/** A register: reads return the last value written, null before any write. */
export const REGISTER_MODEL: Model<RegisterState> = {
  name: "register",
  kinds: ["read", "write"],
  initial: null,
  step: stepRegister,
  fingerprint: fingerprintRegister,
  isPure: (operation) => operation.kind === "read",
  representative: registerRepresentative,
  // Only a write or cas of the value a read returns can be the last change before it.
  mayEnable: (operation, pure) => operation.kind !== "read" && operation.value === pure.output,
  overwrites: (operation) => operation.kind === "write",
  unseenWrites(operations) {
    const seen = seenValues(operations);
    return (operation) => operation.kind === "write" && !seen.has(operation.value);
  },
};

/** A register with compare-and-set: a cas that happened found the value it expected. */
export const CAS_REGISTER_MODEL: Model<RegisterState> = {
  ...REGISTER_MODEL,
  name: "cas-register",
  kinds: ["read", "write", "cas"],
};

function fingerprintRegister(state: RegisterState): string {
  return state === UNSEEN ? "(a value nothing reads)" : JSON.stringify(state);
}

function registerRepresentative(
  operations: readonly ModelOperation[],
): (state: RegisterState) => RegisterState {
  const seen = seenValues(operations);
  return (state) => state !== UNSEEN && seen.has(state) ? state : UNSEEN;
}

/** The values some read returns or some cas expects. */
function seenValues(operations: readonly ModelOperation[]): Set<Value> {
  const seen = new Set<Value>();
  for (const operation of operations) {
    if (operation.kind === "read") seen.add(operation.output);
    if (operation.kind === "cas") seen.add(operation.expected);
  }
  return seen;
}

function stepRegister(state: RegisterState, operation: ModelOperation): RegisterState | undefined {
  switch (operation.kind) {
    case "read":
      return operation.output === state ? state : undefined;
    case "write":
      return operation.value;
    case "cas":
      return operation.expected === state ? operation.value : undefined;
    default:
      throw new Error(`A register cannot ${operation.kind} (${operation.source})`);
  }
}

/** The state of one key of a versioned key/value store: version 0 means no such key. */
export interface VersionedState {
  /** The value, "" while the key does not exist. */
  readonly value: string;
  /** How many puts it took; 0 while the key does not exist. */
  readonly version: number;
}

/**
 * The 2025 lab's versioned key/value store: Get returns the value and version (or ErrNoKey);
 * Put(value, version) installs the value if the version matches (0 creates the key) and bumps
 * the version, answers ErrVersion if it does not match, and ErrNoKey for a missing key and a
 * version other than 0.
 */
export const VERSIONED_KV_MODEL: Model<VersionedState> = {
  name: "versioned-kv",
  kinds: ["get", "put"],
  initial: { value: "", version: 0 },
  step(state, operation) {
    const exists = state.version > 0;
    if (operation.kind === "get") {
      if (operation.reply === "ErrNoKey") return exists ? undefined : state;
      const same = exists && operation.version === state.version &&
        operation.output === state.value;
      return operation.reply === "OK" && same ? state : undefined;
    }
    assert(operation.kind === "put", `versioned-kv cannot ${operation.kind}`);
    const matches = operation.version === state.version;
    switch (operation.reply) {
      case "OK":
        return matches ? { value: operation.value ?? "", version: state.version + 1 } : undefined;
      case "ErrVersion":
        return exists && !matches ? state : undefined;
      case "ErrNoKey":
        return !exists && operation.version !== 0 ? state : undefined;
    }
  },
  fingerprint: (state) => JSON.stringify([state.value, state.version]),
  isPure: (operation) => operation.kind === "get" || operation.reply !== "OK",
};

/** The model called `name`. */
export function modelNamed(name: ModelName): Model<unknown> {
  const models: Record<ModelName, Model<unknown>> = {
    "kv": KV_MODEL as Model<unknown>,
    "versioned-kv": VERSIONED_KV_MODEL as Model<unknown>,
    "register": REGISTER_MODEL as Model<unknown>,
    "cas-register": CAS_REGISTER_MODEL as Model<unknown>,
  };
  return models[name];
}

/**
 * A short human-readable form: `client 3: cas("x", "1" -> "2") [10, 12]`; `versioned` shows
 * versions and replies of gets and puts.
 */
export function describeModelOperation(operation: ModelOperation, versioned: boolean): string {
  const show = (value: Value) => JSON.stringify(value);
  const key = JSON.stringify(operation.key);
  const returned = operation.returnMs === Infinity ? "unknown" : `${operation.returnMs}`;
  const tail = `${operation.maybe ? " (may not have happened)" : ""} [${operation.callMs}, ` +
    `${returned}]`;
  const who = `client ${operation.clientId}`;
  const version = `version ${operation.version}`;
  switch (operation.kind) {
    case "read":
    case "get":
      if (!versioned) {
        return `${who}: ${operation.kind}(${key}) -> ${show(operation.output)}${tail}`;
      }
      if (operation.reply !== "OK") return `${who}: get(${key}) -> ${operation.reply}${tail}`;
      return `${who}: get(${key}) -> ${show(operation.output)}, ${version}${tail}`;
    case "cas":
      return `${who}: cas(${key}, ${show(operation.expected)} -> ${show(operation.value)})${tail}`;
    case "put":
      if (!versioned) break;
      return `${who}: put(${key}, ${show(operation.value)}, ${version}) -> ` +
        `${operation.reply}${tail}`;
  }
  return `${who}: ${operation.kind}(${key}, ${show(operation.value)})${tail}`;
}
