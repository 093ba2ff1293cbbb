/**
 * Random histories that are linearizable by construction, for tests and benchmarks: each client
 * runs operations one after another with random durations and pauses; every operation takes
 * effect at a random instant inside its interval, and the outputs come from running the
 * operations on a real map in the order of those instants. Clients' intervals overlap at random.
 *
 * Values written are unique tokens `[client.sequence]`, so a value read tells exactly which
 * writes it contains, which lets tests build mutations that are provably illegal.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Random } from "../util/random.ts";
import { type Operation, type OperationKind, UNKNOWN_RETURN_MS } from "./history.ts";

/** The shape of a generated history. */
export interface GeneratorOptions {
  /** How many clients issue operations. */
  readonly clientCount: number;
  /** How many operations in total. */
  readonly operationCount: number;
  /** The keys operations pick from, uniformly. */
  readonly keys: readonly string[];
  /** Percent of operations that are puts; the rest splits between gets and appends. */
  readonly putPercent: number;
  /** Percent of operations that are gets. */
  readonly getPercent: number;
  /** Percent of operations whose outcome is unknown (half of those never take effect). */
  readonly unknownPercent: number;
  /** Each operation lasts 1 to this many milliseconds. */
  readonly maxDurationMs: number;
  /** A client pauses 0 to this many milliseconds between operations. */
  readonly maxPauseMs: number;
}

/** Sensible defaults: a KV-test-like mix on a few keys. */
export const DEFAULT_GENERATOR_OPTIONS: GeneratorOptions = {
  clientCount: 10,
  operationCount: 2000,
  keys: ["0", "1", "2"],
  putPercent: 5,
  getPercent: 45,
  unknownPercent: 0,
  maxDurationMs: 20,
  maxPauseMs: 5,
};

interface Planned {
  readonly operation: Operation;
  /** When it takes effect; `Infinity` for never. */
  readonly effectMs: number;
}

/** Generates a linearizable history; the same `random` sequence gives the same history. */
export function generateHistory(
  random: Random,
  options: Partial<GeneratorOptions> = {},
): Operation[] {
  const shape = { ...DEFAULT_GENERATOR_OPTIONS, ...options };
  assert(shape.clientCount > 0, `Cannot generate a history for ${shape.clientCount} clients`);
  assert(shape.keys.length > 0, "Cannot generate a history without keys");
  assert(shape.putPercent + shape.getPercent <= 100, "Put and get percentages exceed 100");
  const freeAtMs = Array.from(
    { length: shape.clientCount },
    () => random.int(shape.maxPauseMs + 1),
  );
  const planned: Planned[] = [];
  for (let sequence = 0; sequence < shape.operationCount; sequence++) {
    const clientId = random.int(shape.clientCount);
    const callMs = freeAtMs[clientId] + random.int(shape.maxPauseMs + 1);
    const durationMs = 1 + random.int(shape.maxDurationMs);
    freeAtMs[clientId] = callMs + durationMs;
    const kind = pickKind(random, shape);
    const key = shape.keys[random.int(shape.keys.length)];
    const value = kind === "get" ? "" : `[${clientId}.${sequence}]`;
    const unknown = random.int(100) < shape.unknownPercent;
    const happens = !unknown || random.int(2) === 0;
    const effectMs = happens ? callMs + random.next() * durationMs : Infinity;
    const returnMs = unknown ? UNKNOWN_RETURN_MS : callMs + durationMs;
    planned.push({
      operation: { clientId, kind, key, value, output: "", callMs, returnMs },
      effectMs,
    });
  }
  return runInEffectOrder(planned);
}

function pickKind(random: Random, shape: GeneratorOptions): OperationKind {
  const roll = random.int(100);
  if (roll < shape.putPercent) return "put";
  if (roll < shape.putPercent + shape.getPercent) return "get";
  return "append";
}

/** Fills in the gets' outputs by running the operations on a map in the order they took effect. */
function runInEffectOrder(planned: readonly Planned[]): Operation[] {
  const order = planned.map((_, index) => index).filter((index) =>
    planned[index].effectMs !== Infinity
  );
  order.sort((left, right) => planned[left].effectMs - planned[right].effectMs || left - right);
  const values = new Map<string, string>();
  const outputs = new Array<string>(planned.length).fill("");
  for (const index of order) {
    const { kind, key, value } = planned[index].operation;
    const current = values.get(key) ?? "";
    if (kind === "get") outputs[index] = current;
    else values.set(key, kind === "put" ? value : current + value);
  }
  const history = planned.map((entry, index) => ({ ...entry.operation, output: outputs[index] }));
  return history.sort((left, right) => left.callMs - right.callMs);
}
