/**
 * The lab's map-parallelism probe: each map call records when it started and how many workers
 * were mapping at the same time, keyed by the worker's process id.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";
import { countParallel } from "./parallelism_probe.ts";

/** Emits `(times-<pid>, start seconds)` and `(parallel-<pid>, concurrent mappers)`. */
export async function map(_filename: string, _contents: string): Promise<KeyValue[]> {
  const startSeconds = (Date.now() / 1000).toFixed(1);
  const parallel = await countParallel("map");
  return [
    { key: `times-${Deno.pid}`, value: startSeconds },
    { key: `parallel-${Deno.pid}`, value: String(parallel) },
  ];
}

/** The values sorted and joined by spaces, so the output does not depend on arrival order. */
export function reduce(_key: string, values: string[]): string {
  return [...values].sort().join(" ");
}
