/**
 * Files over RPC, in chunks: how a reducer fetches a map's partition from the worker that holds
 * it, a worker fetches an input split it cannot read from the coordinator, and a reducer sends
 * its output to the coordinator, when the processes share no folder. Every chunk is bounded (far
 * under the RPC layer's frame bound) and carries a CRC-32 of its bytes, so a chunk damaged on
 * the way is refused rather than reduced.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { assert } from "../util/assert.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../rpc/mod.ts";
import { wholeNumberField } from "../util/message_fields.ts";

/** Bytes per chunk. */
export const CHUNK_BYTES = 4 * 1024 * 1024;
/** Most chunks one file may take: a bound on every fetch loop (1 TiB at the chunk size). */
export const MAX_CHUNKS_PER_FILE = 256 * 1024;

/** One piece of a file: `bytes` from some position, the file's size, and the bytes' CRC-32. */
export interface Chunk {
  readonly bytes: Uint8Array;
  /** Size of the whole file (or byte range) the chunk belongs to. */
  readonly totalBytes: number;
  readonly crc32: number;
}

/** Where a chunk starts and how long it may be: the arguments every fetch carries. */
export interface ChunkRange {
  readonly position: number;
  readonly maxBytes: number;
}

/** The CRC-32 of `bytes`, continuing `previous` when given (the whole file's, chunk by chunk). */
export function checksumOf(bytes: Uint8Array, previous = 0): number {
  return crc32(bytes, previous);
}

/** Checks a fetch's `position` and `maxBytes`; throws naming `what` and the bad field. */
export function parseChunkRange(fields: Record<string, unknown>, what: string): ChunkRange {
  const position = wholeNumberField(fields, "position", what);
  const { maxBytes } = fields;
  if (
    typeof maxBytes !== "number" || !Number.isSafeInteger(maxBytes) || maxBytes < 1 ||
    maxBytes > CHUNK_BYTES
  ) {
    throw new Error(`Bad ${what}: maxBytes must be 1 to ${CHUNK_BYTES}`);
  }
  return { position, maxBytes };
}

/** Checks a chunk as it arrives, its checksum included; throws naming `what`. */
export function parseChunk(value: unknown, what: string): Chunk {
  if (typeof value !== "object" || value === null) throw new Error(`Bad ${what}: not a chunk`);
  const { bytes, totalBytes, crc32: checksum } = value as Record<string, unknown>;
  if (!(bytes instanceof Uint8Array) || bytes.length > CHUNK_BYTES) {
    throw new Error(`Bad ${what}: bytes must be at most ${CHUNK_BYTES} bytes`);
  }
  if (typeof totalBytes !== "number" || !Number.isSafeInteger(totalBytes) || totalBytes < 0) {
    throw new Error(`Bad ${what}: totalBytes must be a whole number ≥ 0`);
  }
  if (typeof checksum !== "number" || checksumOf(bytes) !== checksum) {
    throw new Error(`Bad ${what}: its ${bytes.length} bytes do not match their checksum`);
  }
  return { bytes, totalBytes, crc32: checksum };
}

/**
 * Reads the chunk of bytes `[begin, end)` of the file at `path` that starts `range.position`
 * bytes after `begin`.
 */
export async function readFileChunk(
  path: string,
  begin: number,
  end: number,
  range: ChunkRange,
): Promise<Chunk> {
  assert(0 <= begin && begin <= end, `Cannot read bytes ${begin} to ${end} of ${path}`);
  const totalBytes = end - begin;
  if (range.position > totalBytes) {
    throw new Error(`Cannot read ${path} from byte ${range.position}: it has ${totalBytes}`);
  }
  const length = Math.min(range.maxBytes, totalBytes - range.position);
  const bytes = new Uint8Array(length);
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(begin + range.position, Deno.SeekMode.Start);
    let filled = 0;
    // Bounded by `length`: every pass reads at least one byte or ends.
    while (filled < length) {
      const count = await file.read(bytes.subarray(filled));
      if (count === null) {
        throw new Error(`Cannot read ${path}: it ends before byte ${begin + totalBytes}`);
      }
      filled += count;
    }
  } finally {
    file.close();
  }
  return { bytes, totalBytes, crc32: checksumOf(bytes) };
}

/** The size of a whole file, `[0, size)`, for {@linkcode readFileChunk}. */
export async function fileSizeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).size;
}

/**
 * The bytes of a remote file, chunk by chunk: `fetch(range)` asks the holder for one chunk.
 * Throws naming `what` when a chunk fails its checksum, the file's size changes between chunks,
 * or a chunk comes back empty before the end.
 */
export async function* fetchChunks(
  fetch: (range: ChunkRange) => Promise<unknown>,
  what: string,
): AsyncGenerator<Uint8Array> {
  let position = 0;
  let totalBytes: number | null = null;
  for (let count = 0; count < MAX_CHUNKS_PER_FILE; count++) {
    const chunk = parseChunk(await fetch({ position, maxBytes: CHUNK_BYTES }), what);
    totalBytes ??= chunk.totalBytes;
    if (chunk.totalBytes !== totalBytes) {
      throw new Error(`Cannot fetch ${what}: its size changed from ${totalBytes} bytes`);
    }
    if (position + chunk.bytes.length > totalBytes) {
      throw new Error(`Cannot fetch ${what}: a chunk runs past its ${totalBytes} bytes`);
    }
    if (position === totalBytes) return;
    if (chunk.bytes.length === 0) {
      throw new Error(`Cannot fetch ${what}: an empty chunk came at byte ${position}`);
    }
    position += chunk.bytes.length;
    yield chunk.bytes;
    if (position === totalBytes) return;
  }
  throw new Error(`Cannot fetch ${what}: it takes over ${MAX_CHUNKS_PER_FILE} chunks`);
}

/** Bytes {@linkcode readFileChunk} may put in one chunk must fit an RPC frame with room to spare. */
assert(CHUNK_BYTES * 2 <= DEFAULT_MAX_FRAME_BYTES, "A chunk must fit an RPC frame twice over");
