/**
 * What `dsys check` costs: check time against history size and client count, for each model,
 * on histories that are linearizable and on the same histories with one stale read (illegal:
 * the search must then rule out every order before the read, which is where searches blow up).
 * Three keys; half the operations read; 2% of writes have unknown outcome.
 *
 * @module
 */
import { SeededRandom } from "../util/random.ts";
import { checkHistory, checkModelHistory, type Verdict } from "./checker.ts";
import { toKvOperations } from "./history_file.ts";
import { type ModelName, modelNamed, type ModelOperation } from "./models.ts";
import { generateModelHistory, withStaleRead } from "./testing/model_history_generator.ts";

function check(model: ModelName, history: readonly ModelOperation[]): Verdict {
  const timeoutMs = 60_000;
  return model === "kv"
    ? checkHistory(toKvOperations(history), { timeoutMs }).verdict
    : checkModelHistory(history, modelNamed(model), { timeoutMs }).verdict;
}

for (const model of ["kv", "register", "cas-register", "versioned-kv"] as const) {
  for (const operationCount of [500, 2000]) {
    for (const clientCount of [10, 50]) {
      const history = generateModelHistory(new SeededRandom(operationCount + clientCount), {
        model,
        clientCount,
        operationCount,
        keys: ["a", "b", "c"],
        readPercent: 50,
        unknownPercent: 2,
        maxDurationMs: 20,
        maxPauseMs: 10,
      });
      const illegal = withStaleRead(history);
      if (illegal === null) throw new Error(`${model}: no read can be made stale`);
      for (const [expected, operations] of [["ok", history], ["illegal", illegal]] as const) {
        Deno.bench({
          name: `${model}, ${operationCount} ops, ${clientCount} clients, ${expected}`,
          group: `${model} ${operationCount}`,
          n: 5,
          warmup: 1,
          fn() {
            const verdict = check(model, operations);
            if (verdict !== expected) throw new Error(`The check said ${verdict}`);
          },
        });
      }
    }
  }
}
