/**
 * Linearizable histories of any model, by construction: every operation gets a random point
 * between its call and its return, and runs on the real state in the order of those points.
 * One read can then be made stale, which makes the history illegal for certain.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import type { SeededRandom } from "../../util/random.ts";
import type { ModelName, ModelOperation, VersionedReply } from "../models.ts";

/** The shape of a generated history. */
export interface ModelHistoryOptions {
  /** The model whose operations to generate. */
  readonly model: ModelName;
  /** Clients, each with one operation at a time. */
  readonly clientCount: number;
  /** Operations in all. */
  readonly operationCount: number;
  /** Keys to spread them over. */
  readonly keys: readonly string[];
  /** Percentage of reads (get); the rest write (put, append, write, cas). */
  readonly readPercent: number;
  /** Percentage of writes whose outcome stays unknown (they happen or not, at random). */
  readonly unknownPercent: number;
  /** Longest operation, and longest pause of a client between operations. */
  readonly maxDurationMs: number;
  readonly maxPauseMs: number;
}

interface Planned {
  readonly operation: ModelOperation;
  readonly pointMs: number;
  readonly happens: boolean;
}

interface KeyState {
  value: string | null;
  version: number;
}

/** A linearizable history with `options`. */
export function generateModelHistory(
  random: SeededRandom,
  options: ModelHistoryOptions,
): ModelOperation[] {
  assert(options.clientCount > 0 && options.keys.length > 0, "Cannot generate without clients");
  const clockMs = new Array<number>(options.clientCount).fill(0);
  const planned: Planned[] = [];
  for (let index = 0; index < options.operationCount; index++) {
    const clientId = random.int(options.clientCount);
    const callMs = clockMs[clientId] + random.int(options.maxPauseMs + 1);
    const returnMs = callMs + 1 + random.int(options.maxDurationMs);
    clockMs[clientId] = returnMs;
    const reads = random.int(100) < options.readPercent;
    const unknown = !reads && random.int(100) < options.unknownPercent;
    const operation: ModelOperation = {
      clientId,
      kind: reads ? readKind(options.model) : writeKind(options.model, random),
      key: options.keys[random.int(options.keys.length)],
      value: `${clientId}.${index}`,
      expected: null,
      output: null,
      version: 0,
      reply: "OK",
      callMs,
      returnMs: unknown ? Infinity : returnMs,
      maybe: unknown,
      source: `generated:${index}`,
    };
    const pointMs = callMs + random.int(returnMs - callMs) + 0.5;
    planned.push({ operation, pointMs, happens: !unknown || random.int(2) === 0 });
  }
  planned.sort((left, right) => left.pointMs - right.pointMs);
  const states = new Map<string, KeyState>();
  const history: ModelOperation[] = [];
  for (const { operation, happens } of planned) {
    let state = states.get(operation.key);
    if (state === undefined) {
      state = { value: options.model === "kv" ? "" : null, version: 0 };
      states.set(operation.key, state);
    }
    history.push(run(options.model, state, operation, happens, random));
  }
  return history.sort((left, right) => left.callMs - right.callMs);
}

function readKind(model: ModelName): ModelOperation["kind"] {
  return model === "register" || model === "cas-register" ? "read" : "get";
}

function writeKind(model: ModelName, random: SeededRandom): ModelOperation["kind"] {
  switch (model) {
    case "kv":
      return random.int(10) === 0 ? "put" : "append";
    case "versioned-kv":
      return "put";
    case "register":
      return "write";
    case "cas-register":
      return random.int(2) === 0 ? "write" : "cas";
  }
}

/** Runs `operation` on `state` (if it `happens`) and fills in what its client saw. */
function run(
  model: ModelName,
  state: KeyState,
  operation: ModelOperation,
  happens: boolean,
  random: SeededRandom,
): ModelOperation {
  const value = operation.kind === "append" ? `[${operation.value}]` : operation.value;
  switch (operation.kind) {
    case "read":
      return { ...operation, value: null, output: state.value };
    case "get": {
      const reply: VersionedReply = model === "versioned-kv" && state.version === 0
        ? "ErrNoKey"
        : "OK";
      return { ...operation, value: null, output: state.value, version: state.version, reply };
    }
    case "cas": {
      // Every cas expects the value it finds: one that found another failed, and a failed cas
      // is no operation of a Jepsen history.
      const expected = state.value;
      if (happens) state.value = value;
      return { ...operation, expected, value };
    }
    case "put":
      if (model === "versioned-kv") return runVersionedPut(state, operation, happens, random);
      break;
    case "append":
      if (happens) state.value = `${state.value ?? ""}${value}`;
      return { ...operation, value };
  }
  if (happens) state.value = value;
  return { ...operation, value };
}

function runVersionedPut(
  state: KeyState,
  operation: ModelOperation,
  happens: boolean,
  random: SeededRandom,
): ModelOperation {
  // Most puts use the version last read; some an older one, which fails.
  // Most puts use the version last read; some (of known outcome) an older one, which fails.
  const stale = !operation.maybe && random.int(5) === 0 && state.version > 0;
  const version = stale ? state.version - 1 : state.version;
  if (stale) return { ...operation, version, reply: "ErrVersion" };
  if (happens) [state.value, state.version] = [operation.value, state.version + 1];
  return { ...operation, version };
}

/**
 * The history with one read made stale: it reads the value before a write that returned before
 * the read was called, and that write came after the one that wrote that value: no order
 * explains it. Null if no read qualifies.
 */
export function withStaleRead(history: readonly ModelOperation[]): ModelOperation[] | null {
  const middle = Math.floor(history.length / 2);
  for (let offset = 0; offset < history.length; offset++) {
    const index = (middle + offset) % history.length;
    const read = history[index];
    if (read.kind !== "read" && read.kind !== "get") continue;
    const stale = staleValueFor(history, read);
    if (stale === null) continue;
    const changed = [...history];
    changed[index] = { ...read, output: stale.value, version: stale.version, reply: "OK" };
    return changed;
  }
  return null;
}

/** A value written before a write that precedes `read`: written, then overwritten, then read. */
function staleValueFor(
  history: readonly ModelOperation[],
  read: ModelOperation,
): { value: string; version: number } | null {
  const writes = history.filter((operation) =>
    operation.key === read.key && !operation.maybe && operation.reply === "OK" &&
    (operation.kind === "write" || operation.kind === "put")
  );
  for (const later of writes) {
    if (later.returnMs >= read.callMs) continue;
    for (const earlier of writes) {
      if (earlier.returnMs >= later.callMs || earlier.value === read.output) continue;
      return { value: earlier.value!, version: earlier.version + 1 };
    }
  }
  return null;
}
