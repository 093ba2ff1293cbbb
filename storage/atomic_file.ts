/**
 * Small files that are replaced whole and must never be read half-written or damaged: the
 * peer's identity, its hard state (term and vote) and its snapshot. Each is one checked block:
 *
 * | bytes | what                                                              |
 * | ----- | ----------------------------------------------------------------- |
 * | 8     | magic: ASCII naming the kind of file (`DSYSHARD`, `DSYSSNAP`, …)   |
 * | 4     | format version, big-endian (1)                                    |
 * | 4     | body length in bytes, big-endian                                  |
 * | n     | body: MessagePack                                                 |
 * | 4     | CRC-32 of every byte before it, big-endian                        |
 *
 * The log file starts with such a block too. A file is replaced by writing a temporary file
 * beside it, syncing it, renaming it over the target and syncing the folder, so after a crash
 * the target holds either the old bytes or the new, never a mix.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { assert } from "../util/assert.ts";
import type { FileSystem } from "./file_system.ts";

/** The format version this build writes and reads. */
export const FORMAT_VERSION = 1;

/** Bytes of a block's magic. */
export const MAGIC_BYTES = 8;

/** Bytes a block adds around its body: magic, version, length, CRC. */
export const BLOCK_OVERHEAD_BYTES: number = MAGIC_BYTES + 4 + 4 + 4;

/** Largest body a checked block may hold (1 GiB), so a damaged length cannot ask for more. */
export const MAX_BLOCK_BODY_BYTES = 1024 * 1024 * 1024;

/** Suffix of the temporary file an atomic replacement writes first. */
export const TEMPORARY_SUFFIX = ".tmp";

/** A file's bytes cannot be trusted; the message names the file and what is wrong. */
export class CorruptFileError extends Error {
  /** The file at fault. */
  readonly path: string;

  /** Creates the error; `message` is a whole sentence that names `path`. */
  constructor(message: string, path: string) {
    super(message);
    this.name = "CorruptFileError";
    this.path = path;
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Wraps `body` in a checked block of kind `magic` (exactly eight ASCII characters). */
export function encodeBlock(magic: string, body: Uint8Array): Uint8Array {
  const magicBytes = textEncoder.encode(magic);
  assert(magicBytes.byteLength === MAGIC_BYTES, `Magic ${magic} is not ${MAGIC_BYTES} bytes`);
  assert(
    body.byteLength <= MAX_BLOCK_BODY_BYTES,
    `Cannot write a block of ${body.byteLength} bytes: the limit is ${MAX_BLOCK_BODY_BYTES}`,
  );
  const block = new Uint8Array(BLOCK_OVERHEAD_BYTES + body.byteLength);
  const view = new DataView(block.buffer);
  block.set(magicBytes, 0);
  view.setUint32(MAGIC_BYTES, FORMAT_VERSION);
  view.setUint32(MAGIC_BYTES + 4, body.byteLength);
  block.set(body, MAGIC_BYTES + 8);
  const checksumAt = block.byteLength - 4;
  view.setUint32(checksumAt, crc32(block.subarray(0, checksumAt)));
  return block;
}

/** Where to read a block and how to word a failure. */
export interface BlockSource {
  /** The file the bytes come from, for messages. */
  readonly path: string;
  /** What the caller was doing, to start messages with (`Cannot start`). */
  readonly purpose: string;
}

/**
 * Reads the checked block of kind `magic` at the start of `bytes` and returns its body and the
 * offset just past it. Throws {@linkcode CorruptFileError} when the block is short, of another
 * kind or version, or fails its CRC.
 */
export function readBlock(
  bytes: Uint8Array,
  magic: string,
  source: BlockSource,
): { body: Uint8Array; endOffset: number } {
  const fail = (reason: string): never => {
    throw new CorruptFileError(
      `${source.purpose}: ${source.path} is corrupt: ${reason}`,
      source.path,
    );
  };
  if (bytes.byteLength < BLOCK_OVERHEAD_BYTES) {
    fail(`it has ${bytes.byteLength} bytes, fewer than the ${BLOCK_OVERHEAD_BYTES}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const foundMagic = textDecoder.decode(bytes.subarray(0, MAGIC_BYTES));
  if (foundMagic !== magic) fail(`it starts with ${JSON.stringify(foundMagic)}, not ${magic}`);
  const version = view.getUint32(MAGIC_BYTES);
  if (version !== FORMAT_VERSION) {
    fail(`it has format version ${version}; this build reads version ${FORMAT_VERSION}`);
  }
  const bodyBytes = view.getUint32(MAGIC_BYTES + 4);
  const endOffset = BLOCK_OVERHEAD_BYTES + bodyBytes;
  if (bodyBytes > MAX_BLOCK_BODY_BYTES || endOffset > bytes.byteLength) {
    fail(`its header claims ${bodyBytes} bytes of body but the file has ${bytes.byteLength}`);
  }
  const stored = view.getUint32(endOffset - 4);
  const computed = crc32(bytes.subarray(0, endOffset - 4));
  if (stored !== computed) {
    fail(`CRC mismatch (stored ${hex(stored)}, computed ${hex(computed)})`);
  }
  return { body: bytes.subarray(MAGIC_BYTES + 8, endOffset - 4), endOffset };
}

/**
 * Reads a file that is exactly one checked block; null when the file does not exist. Bytes after
 * the block count as damage, since an atomic replacement never leaves any.
 */
export function readBlockFile(
  files: FileSystem,
  path: string,
  magic: string,
  purpose: string,
): Uint8Array | null {
  const bytes = files.readFileSync(path);
  if (bytes === null) return null;
  const { body, endOffset } = readBlock(bytes, magic, { path, purpose });
  if (endOffset !== bytes.byteLength) {
    throw new CorruptFileError(
      `${purpose}: ${path} is corrupt: ${
        bytes.byteLength - endOffset
      } stray bytes follow its block`,
      path,
    );
  }
  return body;
}

/** The folder holding `path`. */
export function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  assert(slash > 0, `Path ${path} is not an absolute path below the root`);
  return path.slice(0, slash);
}

/**
 * Replaces the file at `path` with `bytes` atomically and durably: temporary file, fsync,
 * rename, fsync of the folder (two fsyncs).
 */
export async function replaceFile(
  files: FileSystem,
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  const temporary = path + TEMPORARY_SUFFIX;
  await files.writeFile(temporary, bytes);
  await files.syncFile(temporary);
  await files.rename(temporary, path);
  await files.syncDirectory(folderOf(path));
}

/** The synchronous twin of {@linkcode replaceFile}, for a peer's start. */
export function replaceFileSync(files: FileSystem, path: string, bytes: Uint8Array): void {
  const temporary = path + TEMPORARY_SUFFIX;
  files.writeFileSync(temporary, bytes);
  files.syncFileSync(temporary);
  files.renameSync(temporary, path);
  files.syncDirectorySync(folderOf(path));
}

/** `0x` and eight hex digits. */
export function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
