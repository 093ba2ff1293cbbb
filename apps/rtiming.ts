/**
 * The lab's reduce-parallelism probe: maps emit ten keys `a`…`j`; each reduce call reports how
 * many workers were reducing at the same time.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";
import { countParallel } from "./parallelism_probe.ts";

const KEYS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];

/** Emits `(k, "1")` for each of the ten keys. */
export function map(_filename: string, _contents: string): KeyValue[] {
  return KEYS.map((key) => ({ key, value: "1" }));
}

/** How many workers were reducing while this call ran (itself included). */
export async function reduce(_key: string, _values: string[]): Promise<string> {
  return String(await countParallel("reduce"));
}
