/**
 * Histories read from files, for `dsys check`: the JSON lines of `dsys kv shell` (and the same
 * shape for the other models), and Jepsen's EDN histories. Each reader is strict: a line it
 * cannot read is an error naming the file and the line, never skipped.
 *
 * JSON lines: `{"op","key","value","output","ok","unknown","clientId","callMs","returnMs"}` as
 * `dsys kv shell` prints them; `"unknown": true` means the operation may take effect at any
 * time after its call; `"ok": false` with `"unknown": false` means it did not happen. Other
 * models add `"expected"` (cas: the value it expected), `"version"` and `"err"` (versioned
 * key/value: `OK`, `ErrNoKey`, `ErrVersion`, or `ErrMaybe`: may have happened, before it
 * returned). A line with only `"error"` (what the shell prints for a bad input line) is skipped.
 *
 * EDN: one map per line, `{:process 0, :type :invoke, :f :read, :value nil}`, each `:invoke`
 * completed by the same process's next `:ok` (happened), `:fail` (did not happen: dropped) or
 * `:info` (may have happened, at any time after the call). The key is `:key`, or the first of a
 * `:value [key value]` tuple. Times are `:time` (nanoseconds) or else the line number. Events
 * of processes that are not numbers (the nemesis) are skipped.
 *
 * @module
 */
import { type EdnValue, Keyword, parseEdn } from "./edn.ts";
import type { Operation } from "./history.ts";
import type {
  ModelName,
  ModelOperation,
  ModelOperationKind,
  Value,
  VersionedReply,
} from "./models.ts";

/** The formats a history file may have. */
export type HistoryFormat = "json" | "edn";

/** Thrown for input that cannot be read; the message names the file and line. */
export class HistoryInputError extends Error {
  /** Creates the error for `file` at `line` (1-based). */
  constructor(file: string, line: number, message: string) {
    super(`Cannot read ${file} line ${line}: ${message}`);
    this.name = "HistoryInputError";
  }
}

/** The format of `file`, by its extension, or else by its first line. */
export function formatOf(file: string, text: string): HistoryFormat {
  if (/\.edn$/i.test(file)) return "edn";
  if (/\.jsonl?$/i.test(file)) return "json";
  const first = text.split("\n").find((line) => line.trim() !== "" && !/^\s*;/.test(line));
  return first !== undefined && /^\s*\{\s*"/.test(first) ? "json" : "edn";
}

/** Reads the history in `text`, the contents of `file`, for `model`. */
export function readHistory(file: string, text: string, model: ModelName): ModelOperation[] {
  return formatOf(file, text) === "json"
    ? readJsonLines(file, text, model)
    : readEdnLines(file, text, model);
}

/** The history as the key/value search wants it: null values read as "". */
export function toKvOperations(history: readonly ModelOperation[]): Operation[] {
  return history.map((operation) => {
    const kind = operation.kind;
    if (kind !== "get" && kind !== "put" && kind !== "append") {
      throw new Error(`The kv model has no ${kind} (${operation.source})`);
    }
    return {
      clientId: operation.clientId,
      kind,
      key: operation.key,
      value: operation.value ?? "",
      output: operation.output ?? "",
      callMs: operation.callMs,
      // The search knows only "returned" and "may happen any time after its call".
      returnMs: operation.maybe ? Infinity : operation.returnMs,
    };
  });
}

/** How the files' operation names map to a model's, given the model. */
function kindFor(model: ModelName, name: string): ModelOperationKind | null {
  const register = model === "register" || model === "cas-register";
  const aliases: Record<string, ModelOperationKind> = register
    ? { read: "read", get: "read", write: "write", put: "write", cas: "cas" }
    : { get: "get", read: "get", put: "put", write: "put", append: "append" };
  const kind = aliases[name];
  if (kind === undefined) return null;
  const allowed: Record<ModelName, readonly ModelOperationKind[]> = {
    "kv": ["get", "put", "append"],
    "versioned-kv": ["get", "put"],
    "register": ["read", "write"],
    "cas-register": ["read", "write", "cas"],
  };
  return allowed[model].includes(kind) ? kind : null;
}

function requireKind(model: ModelName, name: string): ModelOperationKind {
  const kind = kindFor(model, name);
  if (kind === null) throw new Error(`the ${model} model has no operation ${JSON.stringify(name)}`);
  return kind;
}

/** Runs `read` on each non-blank line, rethrowing its errors as naming the line. */
function eachLine(file: string, text: string, read: (line: string, number: number) => void) {
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].replace(/\r$/, "");
    if (line.trim() === "") continue;
    try {
      read(line, index + 1);
    } catch (error) {
      if (error instanceof HistoryInputError) throw error;
      throw new HistoryInputError(file, index + 1, (error as Error).message);
    }
  }
}

function readJsonLines(file: string, text: string, model: ModelName): ModelOperation[] {
  const operations: ModelOperation[] = [];
  eachLine(file, text, (line, number) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new Error(`not JSON (${(error as Error).message})`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error("expected a JSON object");
    }
    const operation = readJsonOperation(parsed as Record<string, unknown>, model);
    if (operation !== null) operations.push({ ...operation, source: `${file}:${number}` });
  });
  return operations;
}

function readJsonOperation(
  fields: Record<string, unknown>,
  model: ModelName,
): Omit<ModelOperation, "source"> | null {
  // What the shell prints for an input line that is not an operation.
  if (fields.op === undefined && typeof fields.error === "string") return null;
  const kind = requireKind(model, jsonString(fields, "op"));
  const ok = jsonBoolean(fields, "ok", true);
  const unknown = jsonBoolean(fields, "unknown", false);
  if (!ok && !unknown) return null;
  const err = fields.err ?? "OK";
  if (err !== "OK" && err !== "ErrNoKey" && err !== "ErrVersion" && err !== "ErrMaybe") {
    throw new Error(`"err" is ${JSON.stringify(err)}, not OK, ErrNoKey, ErrVersion or ErrMaybe`);
  }
  const callMs = jsonNumber(fields, "callMs");
  const returnMs = unknown ? Infinity : jsonNumber(fields, "returnMs");
  if (returnMs < callMs) throw new Error(`it returns at ${returnMs}, before its call at ${callMs}`);
  const version = fields.version ?? 0;
  if (!Number.isSafeInteger(version) || (version as number) < 0) {
    throw new Error(`"version" is ${JSON.stringify(version)}, not a whole number from 0`);
  }
  return {
    clientId: jsonNumber(fields, "clientId"),
    kind,
    key: jsonString(fields, "key"),
    value: jsonValue(fields, "value"),
    expected: jsonValue(fields, "expected"),
    output: jsonValue(fields, "output"),
    version: version as number,
    reply: err === "ErrMaybe" ? "OK" : err,
    callMs,
    returnMs,
    maybe: unknown || err === "ErrMaybe",
  };
}

function jsonString(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (typeof value !== "string") throw new Error(`"${name}" is not a string`);
  return value;
}

function jsonNumber(fields: Record<string, unknown>, name: string): number {
  const value = fields[name];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`"${name}" is not a number`);
  }
  return value;
}

function jsonBoolean(fields: Record<string, unknown>, name: string, absent: boolean): boolean {
  const value = fields[name] ?? absent;
  if (typeof value !== "boolean") throw new Error(`"${name}" is not true or false`);
  return value;
}

function jsonValue(fields: Record<string, unknown>, name: string): Value {
  const value = fields[name] ?? null;
  if (typeof value === "number" && Number.isSafeInteger(value)) return `${value}`;
  if (value !== null && typeof value !== "string") {
    throw new Error(`"${name}" is not a string, a whole number or null`);
  }
  return value;
}

/** An EDN event of a history, read from one line. */
interface EdnEvent {
  readonly line: number;
  readonly process: number;
  readonly type: "invoke" | "ok" | "fail" | "info";
  readonly f: string;
  readonly key: EdnValue | undefined;
  readonly value: EdnValue;
  readonly error: EdnValue;
  readonly timeMs: number;
}

/** At most this many processes may have an operation in flight at once. */
const MAX_PENDING_PROCESSES = 100_000;

function readEdnLines(file: string, text: string, model: ModelName): ModelOperation[] {
  const operations: ModelOperation[] = [];
  const pending = new Map<number, EdnEvent>();
  let timed: boolean | null = null;
  eachLine(file, text, (line, number) => {
    if (/^\s*;/.test(line)) return;
    const event = readEdnEvent(parseEdn(line), number);
    if (event === null) return;
    const hasTime = !Number.isNaN(event.timeMs);
    if (timed === null) timed = hasTime;
    if (timed !== hasTime) throw new Error("some events have :time and others do not");
    const invoke = pending.get(event.process);
    if (event.type === "invoke") {
      if (invoke !== undefined) {
        throw new Error(`process ${event.process} invokes while its line ${invoke.line} is open`);
      }
      if (pending.size === MAX_PENDING_PROCESSES) throw new Error("too many processes");
      pending.set(event.process, event);
      return;
    }
    if (invoke === undefined) {
      throw new Error(`:${event.type} of process ${event.process}, which invoked nothing`);
    }
    if (invoke.f !== event.f) throw new Error(`:${event.f} completes :${invoke.f}`);
    pending.delete(event.process);
    const operation = ednOperation(model, invoke, event);
    if (operation !== null) operations.push({ ...operation, source: `${file}:${invoke.line}` });
  });
  for (const invoke of pending.values()) {
    try {
      const operation = ednOperation(model, invoke, null);
      if (operation !== null) operations.push({ ...operation, source: `${file}:${invoke.line}` });
    } catch (error) {
      throw new HistoryInputError(file, invoke.line, (error as Error).message);
    }
  }
  return operations;
}

function readEdnEvent(value: EdnValue, line: number): EdnEvent | null {
  if (!(value instanceof Map)) throw new Error("expected a map {…}");
  const process = value.get(":process");
  // The nemesis and other non-client processes: not operations on the system's state.
  if (process instanceof Keyword) return null;
  if (typeof process !== "number") throw new Error(":process is not a number");
  const type = value.get(":type");
  if (
    !(type instanceof Keyword) || !["invoke", "ok", "fail", "info"].includes(type.name)
  ) {
    throw new Error(":type is not :invoke, :ok, :fail or :info");
  }
  const f = value.get(":f");
  if (!(f instanceof Keyword)) throw new Error(":f is not a keyword");
  const time = value.get(":time");
  if (time !== undefined && typeof time !== "number") throw new Error(":time is not a number");
  return {
    line,
    process,
    type: type.name as EdnEvent["type"],
    f: f.name,
    key: value.get(":key"),
    value: value.get(":value") ?? null,
    error: value.get(":error") ?? null,
    timeMs: time === undefined ? NaN : time / 1e6,
  };
}

function ednOperation(
  model: ModelName,
  invoke: EdnEvent,
  completion: EdnEvent | null,
): Omit<ModelOperation, "source"> | null {
  const kind = requireKind(model, invoke.f);
  const type = completion?.type ?? "info";
  const reply = ednReply(model, kind, completion);
  if (type === "fail" && reply === "OK") return null;
  const timeOf = (event: EdnEvent) => Number.isNaN(event.timeMs) ? event.line : event.timeMs;
  const maybeBeforeReturn = errorName(completion?.error ?? null) === "ErrMaybe";
  const called = splitKey(model, kind, invoke);
  const returned = completion === null ? called : splitKey(model, kind, completion);
  if (returned.key !== called.key) {
    throw new Error(`completed on key ${returned.key}, invoked on ${called.key}`);
  }
  const isRead = kind === "read" || kind === "get";
  const fields = operands(model, kind, isRead ? returned.inner : called.inner, reply);
  return {
    clientId: invoke.process,
    kind,
    key: called.key,
    ...fields,
    reply,
    callMs: timeOf(invoke),
    returnMs: completion === null || (type === "info" && !maybeBeforeReturn)
      ? Infinity
      : timeOf(completion),
    maybe: type === "info",
  };
}

/** What a versioned operation answered: its :error on :fail (or a get's nil); OK otherwise. */
function ednReply(
  model: ModelName,
  kind: ModelOperationKind,
  completion: EdnEvent | null,
): VersionedReply {
  if (model !== "versioned-kv" || completion === null) return "OK";
  const name = errorName(completion.error);
  if (completion.type === "fail" && (name === "ErrVersion" || name === "ErrNoKey")) return name;
  if (kind === "get" && completion.type === "ok" && completion.value === null) return "ErrNoKey";
  return "OK";
}

function errorName(error: EdnValue): string {
  if (error instanceof Keyword) return error.name;
  return typeof error === "string" ? error : "";
}

/** The key of an event, and the rest of its value. */
function splitKey(
  model: ModelName,
  kind: ModelOperationKind,
  event: EdnEvent,
): { key: string; inner: EdnValue } {
  if (event.key !== undefined) {
    return { key: scalar(event.key, ":key") ?? "nil", inner: event.value };
  }
  const value = event.value;
  // A pair whose second part is a pair is always [key [a b]]; a pair of scalars is [key value]
  // except where the operation's own value is a pair (cas, versioned put and get).
  const ownPair = kind === "cas" || model === "versioned-kv";
  if (Array.isArray(value) && value.length === 2 && (Array.isArray(value[1]) || !ownPair)) {
    return { key: scalar(value[0], "the key") ?? "nil", inner: value[1] };
  }
  return { key: "", inner: value };
}

function operands(
  model: ModelName,
  kind: ModelOperationKind,
  inner: EdnValue,
  reply: VersionedReply,
): Pick<ModelOperation, "value" | "expected" | "output" | "version"> {
  const none = { value: null, expected: null, output: null, version: 0 };
  const nilAsEmpty = (value: Value) => model === "kv" ? value ?? "" : value;
  if (kind === "cas") {
    const [expected, value] = pair(inner, "a cas value [expected new]");
    return { ...none, expected: scalar(expected, "expected"), value: scalar(value, "new value") };
  }
  if (model === "versioned-kv") {
    if (kind === "get" && reply === "ErrNoKey") return none;
    const [value, version] = pair(inner, "a versioned value [value version]");
    if (typeof version !== "number" || version < 0) throw new Error("the version is not >= 0");
    const text = scalar(value, "value") ?? "";
    return kind === "get" ? { ...none, output: text, version } : { ...none, value: text, version };
  }
  const value = nilAsEmpty(scalar(inner, "value"));
  return kind === "read" || kind === "get" ? { ...none, output: value } : { ...none, value };
}

function pair(value: EdnValue, what: string): [EdnValue, EdnValue] {
  if (!Array.isArray(value) || value.length !== 2) throw new Error(`expected ${what}`);
  return [value[0], value[1]];
}

/** A value as a string: numbers in decimal, keywords with their colon; nil as null. */
function scalar(value: EdnValue, what: string): Value {
  if (value === null || typeof value === "string") return value;
  if (typeof value === "number") return `${value}`;
  if (value instanceof Keyword) return `:${value.name}`;
  throw new Error(`${what} is not a string, number, keyword or nil`);
}
