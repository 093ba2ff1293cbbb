/**
 * Input splits: a file larger than the split size becomes several map tasks, each a byte range
 * of the file, as in the MapReduce paper (§3.1). Ranges are cut anywhere; lines are not: a split
 * owns every line that starts inside its range, whole, even when the line runs past the range's
 * end, so the splits of a file hand map every line exactly once and the concatenation of their
 * contents is the file. A line starts at byte 0 and after every `\n`, so `\r\n` endings and a
 * last line without a newline need no special case.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** Split size unless told otherwise: big enough that per-task costs vanish, small enough to spread. */
export const DEFAULT_SPLIT_BYTES = 16 * 1024 * 1024;
/** Largest contents one map call receives (a split and the rest of its last line). */
export const MAX_SPLIT_CONTENT_BYTES = 1024 * 1024 * 1024;
/** Bytes read at a time past a split's end while looking for the end of its last line. */
const OVERHANG_CHUNK_BYTES = 64 * 1024;
/** Most splits one job may have; a bound on the task table. */
export const MAX_SPLITS = 1_000_000;

const NEWLINE = 0x0a;

/** One map task's input: the lines of file `name` that start in `[offset, offset + length)`. */
export interface InputSplit {
  /** The file name as the user gave it; map receives this name. */
  readonly name: string;
  /** The same file as an absolute path. */
  readonly path: string;
  /** First byte of the range. */
  readonly offset: number;
  /** Bytes in the range; 0 only for an empty file. */
  readonly length: number;
  /** Size of the whole file when the job was planned; absent where nobody needs it. */
  readonly fileSizeBytes?: number;
}

/**
 * Cuts each file into ranges of `splitBytes` (the last one shorter), in file order; a file no
 * larger than `splitBytes`, an empty one included, is one split.
 */
export function planSplits(
  files: readonly { readonly name: string; readonly path: string; readonly sizeBytes: number }[],
  splitBytes: number,
): InputSplit[] {
  assert(
    Number.isSafeInteger(splitBytes) && splitBytes >= 1,
    `Cannot split inputs into pieces of ${splitBytes} bytes: give at least 1`,
  );
  const splits: InputSplit[] = [];
  for (const file of files) {
    const count = Math.max(1, Math.ceil(file.sizeBytes / splitBytes));
    if (splits.length + count > MAX_SPLITS) {
      throw new Error(
        `Cannot split the inputs into pieces of ${splitBytes} bytes: that makes over ${MAX_SPLITS} map tasks`,
      );
    }
    for (let index = 0; index < count; index++) {
      const offset = index * splitBytes;
      const length = Math.min(splitBytes, file.sizeBytes - offset);
      splits.push({
        name: file.name,
        path: file.path,
        offset,
        length,
        fileSizeBytes: file.sizeBytes,
      });
    }
  }
  return splits;
}

/**
 * The text of the lines `split` owns, or null when no line starts in its range (a range inside
 * one long line, or at the end of the file). The first split of a file always has text, empty
 * for an empty file, so every file gets at least one map call. A byte order mark is dropped only
 * at the start of the file, as a whole-file read drops it.
 */
export async function readSplit(split: InputSplit): Promise<string | null> {
  const bytes = await readSplitBytes(split);
  if (bytes === null) return null;
  const decoder = new TextDecoder("utf-8", { ignoreBOM: split.offset !== 0 });
  return decoder.decode(bytes);
}

/** The bytes of {@linkcode readSplit}. */
export async function readSplitBytes(split: InputSplit): Promise<Uint8Array | null> {
  const file = await Deno.open(split.path, { read: true });
  try {
    const range = await ownedRangeOf(file, split);
    if (range === null) return null;
    return await readAt(file, range.begin, range.end - range.begin, split);
  } finally {
    file.close();
  }
}

/** The bytes `[begin, end)` of a file that hold the lines one split owns. */
export interface ByteRange {
  readonly begin: number;
  readonly end: number;
}

/**
 * Where the lines `split` owns lie in its file, or null when no line starts in its range; what
 * the coordinator serves to a worker that cannot read the file itself.
 */
export async function ownedRange(split: InputSplit): Promise<ByteRange | null> {
  const file = await Deno.open(split.path, { read: true });
  try {
    return await ownedRangeOf(file, split);
  } finally {
    file.close();
  }
}

async function ownedRangeOf(file: Deno.FsFile, split: InputSplit): Promise<ByteRange | null> {
  const rangeEnd = split.offset + split.length;
  let begin = 0;
  if (split.offset !== 0) {
    // A line starts at the range's first byte exactly when the byte before it is a newline.
    const newline = await nextNewline(file, split.offset - 1, rangeEnd, split);
    if (newline === null || newline + 1 >= rangeEnd) return null;
    begin = newline + 1;
  }
  if (split.length === 0) return { begin, end: begin };
  const lastNewline = await nextNewline(file, rangeEnd - 1, Infinity, split);
  const end = lastNewline === null ? await fileSize(file) : lastNewline + 1;
  if (end - begin > MAX_SPLIT_CONTENT_BYTES) {
    throw new Error(
      `Cannot read ${split.name} from byte ${split.offset}: its lines make the split over ${MAX_SPLIT_CONTENT_BYTES} bytes`,
    );
  }
  return { begin, end: Math.max(begin, end) };
}

/**
 * The position of the first newline at or after `position` and before `limit`, or null when
 * there is none before the limit or the end of the file.
 */
async function nextNewline(
  file: Deno.FsFile,
  position: number,
  limit: number,
  split: InputSplit,
): Promise<number | null> {
  await file.seek(position, Deno.SeekMode.Start);
  const chunk = new Uint8Array(OVERHANG_CHUNK_BYTES);
  // Bounded by the file's size and by MAX_SPLIT_CONTENT_BYTES: every pass reads a byte.
  for (let at = position; at < limit;) {
    const count = await file.read(chunk);
    if (count === null) return null;
    const newline = chunk.subarray(0, count).indexOf(NEWLINE);
    if (newline >= 0) return at + newline < limit ? at + newline : null;
    at += count;
    if (at - position > MAX_SPLIT_CONTENT_BYTES) {
      throw new Error(
        `Cannot read ${split.name} from byte ${split.offset}: a line there is over ${MAX_SPLIT_CONTENT_BYTES} bytes`,
      );
    }
  }
  return null;
}

async function fileSize(file: Deno.FsFile): Promise<number> {
  return (await file.stat()).size;
}

/** Reads up to `length` bytes at `position`; fewer only at the end of the file. */
async function readAt(
  file: Deno.FsFile,
  position: number,
  length: number,
  split: InputSplit,
): Promise<Uint8Array> {
  if (length > MAX_SPLIT_CONTENT_BYTES) {
    throw new Error(
      `Cannot read ${split.name} from byte ${split.offset}: the split is over ${MAX_SPLIT_CONTENT_BYTES} bytes`,
    );
  }
  await file.seek(position, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const count = await file.read(buffer.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  return buffer.subarray(0, filled);
}
