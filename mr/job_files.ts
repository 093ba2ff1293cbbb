/**
 * The files of a MapReduce job, named as in the lab: intermediate `mr-X-Y` (map task X's pairs
 * for reduce task Y) and outputs `mr-out-Y`. Every file is written to a temporary name in the
 * same folder and renamed into place, so a reader sees all of it or none of it, and a crashed or
 * superseded attempt can never leave a torn file under a final name. Outputs are fsynced before
 * the rename; intermediates are not (see {@linkcode AtomicFileWriter.commit}).
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { MapReduceApp } from "../apps/app.ts";
import { checkReduceResult } from "../apps/app_contract.ts";
import { type Phase, PhaseTimes } from "./phase_times.ts";
import { type Counters, CounterSet } from "../apps/counters.ts";

/** Largest input file a map task reads; beyond this the worker refuses rather than run out of memory. */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024 * 1024;
/** Characters a writer collects before it encodes and writes them. */
const WRITE_BUFFER_CHARS = 1024 * 1024;
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

/** Where a writer adds its time: writing under `phase`, syncing under `fsync`. */
export interface WriteTiming {
  readonly times: PhaseTimes;
  readonly phase: Phase;
}

/**
 * Writes a file under a temporary name in its folder, in bounded chunks, and renames it into
 * place on {@linkcode AtomicFileWriter.commit}: readers of the final name see the whole file or
 * nothing.
 */
export class AtomicFileWriter implements TextSink {
  readonly #file: Deno.FsFile;
  readonly #folder: string;
  readonly #name: string;
  readonly #temporaryPath: string;
  readonly #timing: WriteTiming;
  readonly #encoder = new TextEncoder();
  #parts: string[] = [];
  #bufferedChars = 0;
  #bytesWritten = 0;
  #open = true;

  private constructor(
    file: Deno.FsFile,
    folder: string,
    name: string,
    path: string,
    timing: WriteTiming,
  ) {
    this.#file = file;
    this.#folder = folder;
    this.#name = name;
    this.#temporaryPath = path;
    this.#timing = timing;
  }

  /** Creates the temporary file for `folder/name`. */
  static async create(
    folder: string,
    name: string,
    timing: WriteTiming,
  ): Promise<AtomicFileWriter> {
    const temporaryPath = joinPath(folder, `${TEMPORARY_PREFIX}${name}-${crypto.randomUUID()}`);
    const file = await Deno.open(temporaryPath, { write: true, createNew: true });
    return new AtomicFileWriter(file, folder, name, temporaryPath, timing);
  }

  /** Bytes written to the file so far (what is still buffered is not counted). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Appends `text`; it reaches the file once the buffer is full, or on commit. */
  async write(text: string): Promise<void> {
    assert(this.#open, `Cannot write ${this.#name}: the writer is closed`);
    this.#parts.push(text);
    this.#bufferedChars += text.length;
    if (this.#bufferedChars >= WRITE_BUFFER_CHARS) await this.#flush();
  }

  /**
   * Writes what is buffered and renames the file into place. `durable` also fsyncs the file
   * before the rename and the folder after it, so the file survives a machine crash; without
   * it the rename is still atomic for every process on this machine, and a `kill -9` of the
   * writer cannot tear it, but a machine crash may lose it or leave it cut short.
   */
  async commit(durable: boolean): Promise<void> {
    try {
      await this.#flush();
      if (durable) await this.#timing.times.time("fsync", () => this.#file.sync());
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.#open = false;
    this.#file.close();
    await Deno.rename(this.#temporaryPath, joinPath(this.#folder, this.#name));
    if (durable) await this.#timing.times.time("fsync", () => syncFolder(this.#folder));
  }

  /** Closes and removes the temporary file; the final name is untouched. */
  async abort(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#file.close();
    await Deno.remove(this.#temporaryPath).catch(() => {});
  }

  async #flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const text = this.#parts.join("");
    this.#parts = [];
    this.#bufferedChars = 0;
    await this.#timing.times.time(this.#timing.phase, async () => {
      const bytes = this.#encoder.encode(text);
      let written = 0;
      while (written < bytes.length) {
        const count = await this.#file.write(bytes.subarray(written));
        assert(count > 0, `Cannot write ${this.#temporaryPath}: the file accepted no bytes`);
        written += count;
      }
      this.#bytesWritten += written;
    });
  }
}

/**
 * Replaces `folder/name` with `data` durably and atomically: writes a temporary file, fsyncs
 * it, renames it over the target and fsyncs the folder so the rename itself survives a crash.
 */
export async function writeFileAtomic(
  folder: string,
  name: string,
  data: string,
  timing: WriteTiming = { times: new PhaseTimes(), phase: "write output" },
): Promise<void> {
  const writer = await AtomicFileWriter.create(folder, name, timing);
  try {
    await writer.write(data);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.commit(true);
}

/** Fsyncs a folder so that renames into it are durable; a no-op where folders cannot be opened. */
export async function syncFolder(folder: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const handle = await Deno.open(folder, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
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

/** The order of keys in outputs: by UTF-16 code units, as JavaScript compares strings. */
export function compareKeys(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Where a reduce writes its lines: a file here, or the coordinator's output folder over RPC. */
export interface TextSink {
  /** Appends `text`; it may be buffered until later calls. */
  write(text: string): Promise<void>;
}

/**
 * Calls `app.reduce` once per key of `keys` in sorted order, with `valuesOf(key)`, and writes
 * one `key value` line per key, as the lab does. Throws if reduce returns anything but a string.
 */
export async function reduceKeys(
  app: MapReduceApp,
  keys: string[],
  valuesOf: (key: string) => string[],
  writer: TextSink,
  times: PhaseTimes,
  counters: Counters = new CounterSet(),
): Promise<void> {
  await times.time("sort", () => keys.sort(compareKeys));
  const startMs = performance.now();
  const writtenBeforeMs = times.totalMs("write output");
  for (const key of keys) {
    const result = app.reduce(key, valuesOf(key), counters);
    // Most reduces return at once; awaiting only promises saves a turn of the event loop per key.
    const value = result instanceof Promise ? await result : result;
    await writer.write(`${key} ${checkReduceResult(app, key, value)}\n`);
  }
  // The writes that flushed added their own time to "write output"; phases do not overlap.
  const writingMs = times.totalMs("write output") - writtenBeforeMs;
  times.add("reduce", performance.now() - startMs - writingMs);
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
