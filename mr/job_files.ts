/**
 * The files of a MapReduce job, named as in the lab: intermediate `mr-X-Y` (map task X's pairs
 * for reduce task Y) and outputs `mr-out-Y`. Every file is written to a temporary name in the
 * same folder, fsynced and renamed into place, so a reader sees all of it or none of it, and a
 * crashed or superseded attempt can never leave a torn file under a final name.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { KeyValue } from "../apps/app.ts";
import { type Phase, PhaseTimes } from "./phase_times.ts";

/** Largest input file a map task reads; beyond this the worker refuses rather than run out of memory. */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024 * 1024;
/** Largest intermediate file a reduce task reads, for the same reason. */
export const MAX_INTERMEDIATE_FILE_BYTES = 1024 * 1024 * 1024;
/** Prefix of every temporary file; chosen so that no `mr-out-*` or `mr-worker-*` glob matches it. */
export const TEMPORARY_PREFIX = "tmp-mr-";

/** The name of map task `mapTask`'s intermediate file for reduce task `reduceTask`. */
export function intermediateName(mapTask: number, reduceTask: number): string {
  return `mr-${mapTask}-${reduceTask}`;
}

/** The name of reduce task `reduceTask`'s output file. */
export function outputName(reduceTask: number): string {
  return `mr-out-${reduceTask}`;
}

/** `folder` and `name` joined with one slash. */
export function joinPath(folder: string, name: string): string {
  return folder.endsWith("/") ? `${folder}${name}` : `${folder}/${name}`;
}

/** Where {@linkcode writeFileAtomic} adds its time: writing under `phase`, syncing under fsync. */
export interface WriteTiming {
  readonly times: PhaseTimes;
  readonly phase: Phase;
}

/**
 * Replaces `folder/name` with `data` atomically: writes a temporary file in `folder`, fsyncs
 * it, renames it over the target and fsyncs the folder so the rename itself survives a crash.
 */
export async function writeFileAtomic(
  folder: string,
  name: string,
  data: Uint8Array | string,
  timing: WriteTiming = { times: new PhaseTimes(), phase: "write output" },
): Promise<void> {
  const { times, phase } = timing;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const temporaryPath = joinPath(folder, `${TEMPORARY_PREFIX}${name}-${crypto.randomUUID()}`);
  const file = await Deno.open(temporaryPath, { write: true, createNew: true });
  try {
    await times.time(phase, async () => {
      let written = 0;
      while (written < bytes.length) {
        const count = await file.write(bytes.subarray(written));
        assert(count > 0, `Cannot write ${temporaryPath}: the file accepted no bytes`);
        written += count;
      }
    });
    await times.time("fsync", () => file.sync());
  } catch (error) {
    file.close();
    await Deno.remove(temporaryPath).catch(() => {});
    throw error;
  }
  file.close();
  await Deno.rename(temporaryPath, joinPath(folder, name));
  await times.time("fsync", () => syncFolder(folder));
}

/** Fsyncs a folder so that renames into it are durable; a no-op where folders cannot be opened. */
async function syncFolder(folder: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const handle = await Deno.open(folder, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/** One pair per line, as a JSON array `[key, value]`, so keys and values may hold any character. */
export function encodeIntermediate(pairs: readonly KeyValue[]): string {
  let text = "";
  for (const pair of pairs) text += JSON.stringify([pair.key, pair.value]) + "\n";
  return text;
}

/** Reads what {@linkcode encodeIntermediate} wrote; `source` names the file in errors. */
export function decodeIntermediate(text: string, source: string): KeyValue[] {
  const pairs: KeyValue[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (line === "") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`Cannot read ${source}: line ${index + 1} is not JSON`);
    }
    if (
      !Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string" ||
      typeof parsed[1] !== "string"
    ) {
      throw new Error(`Cannot read ${source}: line ${index + 1} is not a [key, value] pair`);
    }
    pairs.push({ key: parsed[0], value: parsed[1] });
  }
  return pairs;
}

/** Reads a whole file as UTF-8 text after checking it is no larger than `maxBytes`. */
export async function readTextBounded(path: string, maxBytes: number): Promise<string> {
  const info = await Deno.stat(path);
  if (info.size > maxBytes) {
    throw new Error(
      `Cannot read ${path}: it has ${info.size} bytes, over the limit of ${maxBytes}`,
    );
  }
  return new TextDecoder().decode(await Deno.readFile(path));
}

/**
 * Groups `pairs` by key (values keep their arrival order), calls `reduce` once per distinct key
 * in sorted key order, and returns the output text: one `key value` line per key, as the lab
 * writes it. Grouping first sorts only the distinct keys, not every pair.
 */
export async function reduceAll(
  pairs: readonly KeyValue[],
  reduce: (key: string, values: string[]) => string | Promise<string>,
  times: PhaseTimes = new PhaseTimes(),
): Promise<string> {
  const groups = await times.time("group", () => {
    const groups = new Map<string, string[]>();
    for (const pair of pairs) {
      const values = groups.get(pair.key);
      if (values === undefined) groups.set(pair.key, [pair.value]);
      else values.push(pair.value);
    }
    return groups;
  });
  const keys = await times.time(
    "sort",
    () => [...groups.keys()].sort((left, right) => left < right ? -1 : left > right ? 1 : 0),
  );
  return await times.time("reduce", async () => {
    const lines: string[] = [];
    for (const key of keys) lines.push(`${key} ${await reduce(key, groups.get(key)!)}\n`);
    return lines.join("");
  });
}

/**
 * The job's output as the lab's test reads it: every `mr-out-*` file in `folder` concatenated,
 * blank lines dropped, lines sorted.
 */
export async function readJobOutput(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isFile && entry.name.startsWith("mr-out-")) names.push(entry.name);
  }
  const lines: string[] = [];
  for (const name of names.sort()) {
    const text = await Deno.readTextFile(joinPath(folder, name));
    for (const line of text.split("\n")) if (line !== "") lines.push(line);
  }
  return lines.sort();
}
