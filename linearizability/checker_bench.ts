import { SeededRandom } from "../util/random.ts";
import { checkHistory } from "./checker.ts";
import type { Operation } from "./history.ts";
import { generateHistory, type GeneratorOptions } from "./history_generator.ts";

/** A KV-test-sized history: 15 clients, 2,000 operations, mostly appends and gets. */
const kvTest: Partial<GeneratorOptions> = {
  clientCount: 15,
  operationCount: 2000,
  keys: ["0", "1", "2"],
  putPercent: 5,
  getPercent: 30,
  unknownPercent: 1,
};

function history(seed: number, options: Partial<GeneratorOptions>): Operation[] {
  return generateHistory(new SeededRandom(seed), options);
}

/** The same history with values a reader cannot split into writes (no marker characters). */
function withoutMarkers(operations: readonly Operation[]): Operation[] {
  const strip = (text: string) => text.replaceAll("[", "").replaceAll("]", ";");
  return operations.map((operation) => ({
    ...operation,
    value: strip(operation.value),
    output: strip(operation.output),
  }));
}

/** Makes 5% of operations return up to `maxDelayMs` later, as behind a partition. */
function withSlowOperations(operations: readonly Operation[], maxDelayMs: number): Operation[] {
  const random = new SeededRandom(99);
  return operations.map((operation) =>
    random.int(100) < 5 && operation.returnMs !== Infinity
      ? { ...operation, returnMs: operation.returnMs + random.int(maxDelayMs) }
      : operation
  );
}

function bench(name: string, operations: readonly Operation[]): void {
  Deno.bench(name, () => {
    const result = checkHistory(operations, { timeoutMs: 60_000 });
    if (result.verdict !== "ok") throw new Error(`${name}: the check said ${result.verdict}`);
  });
}

bench("15 clients, 2000 ops, 3 keys", history(1, kvTest));
bench("15 clients, 2000 ops, 3 keys, values without markers", withoutMarkers(history(1, kvTest)));
bench(
  "15 clients, 2000 ops, 1 key, 5% gets",
  history(2, { ...kvTest, keys: ["0"], getPercent: 5 }),
);
bench(
  "10 clients, 2000 ops, 1 key, 10% puts, values without markers",
  withoutMarkers(history(5, { ...kvTest, clientCount: 10, keys: ["0"], putPercent: 10 })),
);
bench(
  "15 clients, 2000 ops, 1 key, 5% of operations up to 2 s slow",
  withSlowOperations(history(6, { ...kvTest, keys: ["0"], unknownPercent: 3 }), 2000),
);
bench(
  "15 clients, 2000 ops, 1 key, 20% puts, long operations",
  history(3, { ...kvTest, keys: ["0"], putPercent: 20, maxDurationMs: 100 }),
);
bench(
  "5 clients, 10000 ops, 5 keys",
  history(4, {
    ...kvTest,
    clientCount: 5,
    operationCount: 10_000,
    keys: ["a", "b", "c", "d", "e"],
  }),
);
