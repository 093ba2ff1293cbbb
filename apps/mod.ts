/**
 * MapReduce applications: the contract every application meets (`map` and `reduce`), the lab's
 * built-in applications by name, and the loader that finds an application by name or path.
 *
 * @example
 * ```ts
 * import { loadApp } from "./mod.ts";
 *
 * const app = await loadApp("wc");
 * const pairs = await app.map("a.txt", "to be or not to be");
 * ```
 *
 * @module
 */
export { type Counters, CounterSet, formatCounts } from "./counters.ts";
export type {
  CombineFunction,
  KeyValue,
  MapFunction,
  MapReduceApp,
  ReduceFunction,
} from "./app.ts";
export { builtInAppNames, builtInApps } from "./built_in.ts";
export { loadApp } from "./load_app.ts";
