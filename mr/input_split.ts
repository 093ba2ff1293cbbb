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
import { concatBytes } from "../util/bytes.ts";

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
      splits.push({ name: file.name, path: file.path, offset, length });
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
    // One byte before the range tells whether a line starts at its first byte.
    const readFrom = split.offset === 0 ? 0 : split.offset - 1;
    const range = await readAt(file, readFrom, split.offset + split.length - readFrom, split);
    let begin = 0;
    if (split.offset !== 0) {
      const newline = range.indexOf(NEWLINE);
      if (newline < 0 || newline + 1 >= range.length) return null;
      begin = newline + 1;
    }
    const endsInside = range.length < split.offset + split.length - readFrom ||
      range.length === 0 || range[range.length - 1] === NEWLINE;
    const owned = range.subarray(begin);
    if (endsInside) return owned;
    const overhang = await readRestOfLine(file, readFrom + range.length, owned.length, split);
    return overhang.length === 0 ? owned : concatBytes([owned, overhang]);
  } finally {
    file.close();
  }
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

/** The bytes from `position` through the next newline, or to the end of the file. */
async function readRestOfLine(
  file: Deno.FsFile,
  position: number,
  ownedBytes: number,
  split: InputSplit,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let totalBytes = 0;
  await file.seek(position, Deno.SeekMode.Start);
  // Bounded by MAX_SPLIT_CONTENT_BYTES: every pass reads at least one byte.
  for (;;) {
    const chunk = new Uint8Array(OVERHANG_CHUNK_BYTES);
    const count = await file.read(chunk);
    if (count === null) break;
    const newline = chunk.subarray(0, count).indexOf(NEWLINE);
    const kept = chunk.subarray(0, newline < 0 ? count : newline + 1);
    chunks.push(kept);
    totalBytes += kept.length;
    if (ownedBytes + totalBytes > MAX_SPLIT_CONTENT_BYTES) {
      throw new Error(
        `Cannot read ${split.name} from byte ${split.offset}: its last line makes the split over ${MAX_SPLIT_CONTENT_BYTES} bytes`,
      );
    }
    if (newline >= 0) break;
  }
  return concatBytes(chunks);
}
