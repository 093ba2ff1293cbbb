/**
 * The data between map and reduce. A map task groups its pairs by key before writing them, and
 * stores each key's values as runs of equal values, so word count's millions of `("the", "1")`
 * pairs become one key and one run `[4242, "1"]`. Grouping never reorders a key's values, and a
 * reduce task reads the maps in task order, so every key still sees its values in the order the
 * sequential job gives them.
 *
 * An intermediate file `mr-X-Y` is UTF-8 text, one JSON value per line, parsed by the runtime's
 * native JSON parser in batches rather than pair by pair:
 *
 * - each line but the last is a batch `[key, runs, key, runs, …]`, where `runs` is
 *   `[count, value, count, value, …]`; a key whose runs do not fit one batch continues in the
 *   next batch under the same key;
 * - the last line is the number of pairs in the file, so that a file cut short is told apart
 *   from a complete one.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { CombineFunction, MapReduceApp } from "../apps/app.ts";
import { checkCombineResult, checkMapResult, checkPair } from "../apps/app_contract.ts";
import { partitionOf } from "./partition.ts";
import type { PhaseTimes } from "../mr/phase_times.ts";

/** A key's values as runs: `[count, value, count, value, …]`, every count ≥ 1. */
export type Runs = (number | string)[];

/** One key of a map task's output with its values. */
export interface KeyRuns {
  readonly key: string;
  readonly runs: Runs;
}

/** Characters of keys and values per batch line, roughly; a line may exceed it by one value. */
export const BATCH_CHARS = 256 * 1024;
/** Bytes read from an intermediate file at a time. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Longest line a reader accepts: a batch, or one key with one value longer than a batch. */
export const MAX_LINE_CHARS = 256 * 1024 * 1024;
/** Largest intermediate file a reduce task reads. */
export const MAX_INTERMEDIATE_FILE_BYTES = 16 * 1024 * 1024 * 1024;

/**
 * Checks what `app.map` returned for `inputName` and groups it by key into `reduceCount`
 * partitions (FNV-1a of the key, as the lab). Within a partition, keys keep the order of their
 * first pair; each key's values keep their order.
 */
export function groupMapOutput(
  app: MapReduceApp,
  inputName: string,
  result: unknown,
  reduceCount: number,
): KeyRuns[][] {
  const pairs = checkMapResult(app, inputName, result);
  const partitions: KeyRuns[][] = Array.from({ length: reduceCount }, () => []);
  const groups = new Map<string, Runs>();
  for (let index = 0; index < pairs.length; index++) {
    const { key, value } = checkPair(app, inputName, pairs[index], index);
    const runs = groups.get(key);
    if (runs === undefined) {
      const fresh: Runs = [1, value];
      groups.set(key, fresh);
      partitions[partitionOf(key, reduceCount)].push({ key, runs: fresh });
    } else if (runs[runs.length - 1] === value) {
      runs[runs.length - 2] = (runs[runs.length - 2] as number) + 1;
    } else {
      runs.push(1, value);
    }
  }
  if (app.combine !== undefined) combineRuns(app, app.combine, groups);
  return partitions;
}

/**
 * Replaces each key's runs with the one value `combine` makes of them, in place (the partitions
 * hold the same arrays).
 */
function combineRuns(app: MapReduceApp, combine: CombineFunction, groups: Map<string, Runs>) {
  for (const [key, runs] of groups) {
    const values: string[] = [];
    // Bounded by the pairs map emitted for the key.
    for (let at = 0; at < runs.length; at += 2) {
      for (let count = 0; count < (runs[at] as number); count++) {
        values.push(runs[at + 1] as string);
      }
    }
    const combined = checkCombineResult(app, key, combine(key, values));
    runs.length = 0;
    runs.push(1, combined);
  }
}

/** The lines of the intermediate file holding `groups`, each ending in a newline. */
export function encodeIntermediate(groups: readonly KeyRuns[]): string[] {
  const lines: string[] = [];
  let batch: (string | Runs)[] = [];
  let batchChars = 0;
  let pairCount = 0;
  for (const { key, runs } of groups) {
    assert(runs.length >= 2 && runs.length % 2 === 0, `Key ${key} has malformed runs`);
    // Invariant: batchChars < BATCH_CHARS here, so every pass takes at least one run.
    for (let start = 0; start < runs.length;) {
      let end = start;
      while (end < runs.length && batchChars < BATCH_CHARS) {
        pairCount += runs[end] as number;
        batchChars += 8 + (runs[end + 1] as string).length;
        end += 2;
      }
      assert(end > start, `Cannot batch key ${key}: no run fits`);
      batch.push(key, start === 0 && end === runs.length ? runs : runs.slice(start, end));
      batchChars += 8 + key.length;
      start = end;
      if (batchChars >= BATCH_CHARS) {
        lines.push(JSON.stringify(batch) + "\n");
        batch = [];
        batchChars = 0;
      }
    }
  }
  if (batch.length > 0) lines.push(JSON.stringify(batch) + "\n");
  lines.push(`${pairCount}\n`);
  return lines;
}

/**
 * An intermediate file's bytes from wherever they are: the file itself, or chunks fetched from
 * the worker that holds it. `name` is how errors name it.
 */
export interface IntermediateSource {
  readonly name: string;
  readonly chunks: AsyncIterable<Uint8Array>;
}

/**
 * Reads the intermediate file at `path` (or from `source`), handing every key and its runs to
 * `onGroup` in file order (a key may come more than once, its runs in order). Throws a sentence
 * naming the file and line when the file is not one {@linkcode encodeIntermediate} wrote in
 * full. Decoding and `onGroup` add their time to `decode` and `group`, the rest to
 * `read intermediates`.
 */
export async function readIntermediate(
  source: string | IntermediateSource,
  onGroup: (key: string, runs: Runs) => void,
  times: PhaseTimes,
): Promise<void> {
  const { name: path, chunks } = typeof source === "string"
    ? { name: source, chunks: fileChunks(source) }
    : source;
  const startMs = performance.now();
  let handledMs = 0;
  let lineNumber = 0;
  let pairCount = 0;
  let declaredPairs: number | null = null;
  for await (const line of readLines(path, chunks)) {
    lineNumber++;
    if (declaredPairs !== null) {
      throw new Error(`Cannot read ${path}: line ${lineNumber} follows the end line`);
    }
    const decodeStartMs = performance.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`Cannot read ${path}: line ${lineNumber} is not JSON`);
    }
    const groups = typeof parsed === "number" ? [] : checkBatch(parsed, path, lineNumber);
    if (typeof parsed === "number") declaredPairs = parsed;
    const groupStartMs = performance.now();
    for (let index = 0; index < groups.length; index += 2) {
      const runs = groups[index + 1] as Runs;
      pairCount += countPairs(runs);
      onGroup(groups[index] as string, runs);
    }
    const groupEndMs = performance.now();
    times.add("decode", groupStartMs - decodeStartMs);
    times.add("group", groupEndMs - groupStartMs);
    handledMs += groupEndMs - decodeStartMs;
  }
  times.add("read intermediates", performance.now() - startMs - handledMs);
  if (declaredPairs === null) {
    throw new Error(`Cannot read ${path}: it ends without its end line, so it is incomplete`);
  }
  if (declaredPairs !== pairCount) {
    throw new Error(
      `Cannot read ${path}: it holds ${pairCount} pairs but its end line says ${declaredPairs}`,
    );
  }
}

/** Checks that `parsed`, line `lineNumber` of `path`, is a batch, and returns it. */
function checkBatch(parsed: unknown, path: string, lineNumber: number): unknown[] {
  const fail = (what: string) => new Error(`Cannot read ${path}: line ${lineNumber} ${what}`);
  if (!Array.isArray(parsed) || parsed.length % 2 !== 0) {
    throw fail("is not a batch [key, runs, …]");
  }
  for (let index = 0; index < parsed.length; index += 2) {
    const runs = parsed[index + 1];
    if (typeof parsed[index] !== "string" || !Array.isArray(runs) || runs.length % 2 !== 0) {
      throw fail(`has no key and runs at position ${index}`);
    }
    for (let run = 0; run < runs.length; run += 2) {
      const count = runs[run];
      if (!Number.isSafeInteger(count) || count < 1 || typeof runs[run + 1] !== "string") {
        throw fail(`has a bad run at position ${index}`);
      }
    }
  }
  return parsed;
}

function countPairs(runs: Runs): number {
  let count = 0;
  for (let index = 0; index < runs.length; index += 2) count += runs[index] as number;
  return count;
}

/** The bytes of the file at `path`, in chunks of at most {@linkcode READ_CHUNK_BYTES}. */
export async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    // Bounded by the file's size: every pass reads at least one byte.
    for (;;) {
      const count = await file.read(buffer);
      if (count === null) return;
      yield buffer.subarray(0, count);
    }
  } finally {
    file.close();
  }
}

/**
 * The lines of a UTF-8 file (`path` names it) given as `chunks`, without their newlines. Throws
 * if the file is larger than {@linkcode MAX_INTERMEDIATE_FILE_BYTES}, holds a line longer than
 * {@linkcode MAX_LINE_CHARS}, is not UTF-8, or does not end with a newline.
 */
async function* readLines(path: string, chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let pending = "";
  let totalBytes = 0;
  // Bounded by the check on totalBytes (and the source, which ends).
  for await (const chunk of chunks) {
    totalBytes += chunk.length;
    if (totalBytes > MAX_INTERMEDIATE_FILE_BYTES) {
      throw new Error(`Cannot read ${path}: it is over ${MAX_INTERMEDIATE_FILE_BYTES} bytes`);
    }
    const text = decodeChunk(decoder, chunk, path);
    const last = text.lastIndexOf("\n");
    if (last < 0) {
      pending += text;
      if (pending.length > MAX_LINE_CHARS) {
        throw new Error(`Cannot read ${path}: a line is over ${MAX_LINE_CHARS} characters`);
      }
      continue;
    }
    const lines = (pending + text.slice(0, last)).split("\n");
    pending = text.slice(last + 1);
    yield* lines;
  }
  if (pending + decodeChunk(decoder, undefined, path) !== "") {
    throw new Error(`Cannot read ${path}: its last line has no newline, so it is incomplete`);
  }
}

function decodeChunk(decoder: TextDecoder, bytes: Uint8Array | undefined, path: string): string {
  try {
    return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
  } catch {
    throw new Error(`Cannot read ${path}: it is not UTF-8`);
  }
}

/**
 * A reduce task's input: every key's runs, merged in the order they are added (map task
 * order), a run that continues the previous one joined to it.
 */
export class RunsByKey {
  readonly #groups = new Map<string, Runs>();

  /** Adds `runs` after the runs `key` already has. */
  add(key: string, runs: Runs): void {
    const existing = this.#groups.get(key);
    if (existing === undefined) {
      this.#groups.set(key, runs);
      return;
    }
    for (let index = 0; index < runs.length; index += 2) {
      if (existing[existing.length - 1] === runs[index + 1]) {
        existing[existing.length - 2] = (existing[existing.length - 2] as number) +
          (runs[index] as number);
      } else {
        existing.push(runs[index], runs[index + 1]);
      }
    }
  }

  /** Every key, in no particular order. */
  keys(): IterableIterator<string> {
    return this.#groups.keys();
  }

  /** The values of `key`, each run spelled out; empty for a key never added. */
  values(key: string): string[] {
    const runs = this.#groups.get(key) ?? [];
    const values = new Array<string>(countPairs(runs));
    let position = 0;
    for (let index = 0; index < runs.length; index += 2) {
      const count = runs[index] as number;
      values.fill(runs[index + 1] as string, position, position + count);
      position += count;
    }
    return values;
  }
}
