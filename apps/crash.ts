/**
 * The lab's crash application: before every map and reduce call the worker process exits at
 * once with probability 1/3, or pauses for up to 10 s with probability 1/3 — always, as the
 * lab's `maybeCrash` does — to test that the coordinator recovers lost and slow tasks.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";
import { crashMap, crashReduce } from "./crash_output.ts";

const MAX_PAUSE_MS = 10_000;

/** Exits the process, pauses, or does nothing, a third of the time each. */
async function maybeCrash(): Promise<void> {
  const roll = crypto.getRandomValues(new Uint32Array(1))[0] % 1000;
  if (roll < 330) Deno.exit(1);
  if (roll < 660) {
    const pauseMs = crypto.getRandomValues(new Uint32Array(1))[0] % MAX_PAUSE_MS;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/** `nocrash`'s map, after maybe crashing. */
export async function map(filename: string, contents: string): Promise<KeyValue[]> {
  await maybeCrash();
  return crashMap(filename, contents);
}

/** `nocrash`'s reduce, after maybe crashing. */
export async function reduce(_key: string, values: string[]): Promise<string> {
  await maybeCrash();
  return crashReduce(values);
}
