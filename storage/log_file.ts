/**
 * The Raft log file's format: append-only, so that persisting new entries, deleting entries
 * after a conflict and dropping entries a snapshot covers are all appends, never rewrites.
 *
 * ## Layout
 *
 * The file starts with a checked block (raft/atomic_file.ts) of kind `DSYSRLOG` whose body
 * names the cluster and peer. Frames follow, one per persist (more only when a persist exceeds
 * the frame limit), each synced before the next is written:
 *
 * | bytes | what                                                              |
 * | ----- | ----------------------------------------------------------------- |
 * | 4     | payload length, big-endian                                        |
 * | 4     | CRC-32 of the payload, big-endian                                 |
 * | 4     | CRC-32 of the eight bytes before it, so the length can be trusted |
 * | n     | payload: records                                                  |
 *
 * A record is one kind byte, a four-byte big-endian body length and a MessagePack body:
 *
 * - 1, append: `[index, term, command]`, one log entry;
 * - 2, truncate: `after`, every entry with a higher index is void;
 * - 3, compact: `[index, term]`, a durable snapshot covers every entry up to `index`.
 *
 * Replaying the records in order gives the log.
 *
 * ## Torn writes and damage
 *
 * Because each frame is synced before the next is written, only the last frame can be
 * half-written by a crash; every earlier frame was once complete on disk. So a scan treats a
 * bad frame as a torn write, to be dropped, only when nothing but that unfinished write can
 * explain it: the file ends inside its header or inside the payload its (self-checked) header
 * announces, or every byte from the frame's start to the end of the file is zero (the file
 * system recorded a length but not the data). Anything else — a header or payload CRC mismatch
 * with data around it, even in the last frame, or a frame that checks but holds malformed
 * records — means bytes changed after they were written, and the scan refuses the file.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { assert } from "../util/assert.ts";
import { decode, encode } from "../rpc/codec.ts";
import { errorText } from "../util/error_text.ts";
import { CorruptFileError, hex } from "./atomic_file.ts";
import type { Entry } from "../raft/messages.ts";

/** Magic of the block that opens a log file. */
export const LOG_MAGIC = "DSYSRLOG";

/** Bytes of a frame's header: payload length, payload CRC, header CRC. */
export const FRAME_HEADER_BYTES = 12;

/** Bytes of a record's header: kind and body length. */
export const RECORD_HEADER_BYTES = 5;

/** Default bound on a frame's payload (64 MiB); one record must fit in one frame. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

const APPEND_KIND = 1;
const TRUNCATE_KIND = 2;
const COMPACT_KIND = 3;

/** One change to the log, as a record says it. */
export type LogRecord =
  | { readonly kind: "append"; readonly entry: Entry }
  | { readonly kind: "truncate"; readonly after: number }
  | { readonly kind: "compact"; readonly index: number; readonly term: number };

/** Encodes `record` with its header. */
export function encodeRecord(record: LogRecord): Uint8Array {
  let kind: number;
  let body: Uint8Array;
  if (record.kind === "append") {
    kind = APPEND_KIND;
    body = encode([record.entry.index, record.entry.term, record.entry.command]);
  } else if (record.kind === "truncate") {
    kind = TRUNCATE_KIND;
    body = encode(record.after);
  } else {
    kind = COMPACT_KIND;
    body = encode([record.index, record.term]);
  }
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + body.byteLength);
  bytes[0] = kind;
  new DataView(bytes.buffer).setUint32(1, body.byteLength);
  bytes.set(body, RECORD_HEADER_BYTES);
  return bytes;
}

/**
 * Packs encoded records into as few frames as `maxFrameBytes` allows, in order, as one buffer
 * per frame. Throws when a single record is larger than a frame may be.
 */
export function encodeFrames(records: readonly Uint8Array[], maxFrameBytes: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let start = 0;
  // Bounded: every round consumes at least one record (a record too big throws).
  while (start < records.length) {
    let payloadBytes = 0;
    let end = start;
    while (end < records.length && payloadBytes + records[end].byteLength <= maxFrameBytes) {
      payloadBytes += records[end].byteLength;
      end++;
    }
    if (end === start) {
      throw new Error(
        `Cannot persist a log record of ${
          records[start].byteLength
        } bytes: a frame holds at most ${maxFrameBytes}`,
      );
    }
    frames.push(encodeFrame(records.slice(start, end), payloadBytes));
    start = end;
  }
  return frames;
}

function encodeFrame(records: readonly Uint8Array[], payloadBytes: number): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payloadBytes);
  let at = FRAME_HEADER_BYTES;
  for (const record of records) {
    frame.set(record, at);
    at += record.byteLength;
  }
  const view = new DataView(frame.buffer);
  view.setUint32(0, payloadBytes);
  view.setUint32(4, crc32(frame.subarray(FRAME_HEADER_BYTES)));
  view.setUint32(8, crc32(frame.subarray(0, 8)));
  return frame;
}

/** A frame that passed both CRCs. */
export interface Frame {
  /** Offset of its header in the file. */
  readonly offset: number;
  /** Its payload (a view into the scanned bytes). */
  readonly payload: Uint8Array;
}

/** An unfinished write found at the end of the file. */
export interface TornWrite {
  /** Where it starts: the file should be cut back to this length. */
  readonly offset: number;
  /** Its position among the file's frames, counted from 1. */
  readonly frameNumber: number;
  /** Bytes from `offset` to the end of the file. */
  readonly lengthBytes: number;
  /** Why it is unfinished, as a phrase. */
  readonly reason: string;
}

/** What a scan found: the good frames and perhaps a torn write after them. */
export interface ScanResult {
  /** Frames in file order. */
  readonly frames: readonly Frame[];
  /** An unfinished last write to drop, or null. */
  readonly torn: TornWrite | null;
}

/** Where the bytes being scanned come from, for messages. */
export interface ScanSource {
  /** The log file's path. */
  readonly path: string;
  /** What the caller was doing (`Cannot start`). */
  readonly purpose: string;
  /** The bound frames were written with; a larger length is damage. */
  readonly maxFrameBytes: number;
}

/**
 * Splits `bytes` from `startOffset` into frames, checking every CRC. Returns the frames and the
 * torn write at the end, if any; throws {@linkcode CorruptFileError} on damage (see the module
 * documentation for which is which).
 */
export function scanFrames(bytes: Uint8Array, startOffset: number, source: ScanSource): ScanResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Frame[] = [];
  let offset = startOffset;
  // Bounded: every round moves `offset` forward by at least a frame header, or ends the scan.
  while (offset < bytes.byteLength) {
    const frameNumber = frames.length + 1;
    const remainingBytes = bytes.byteLength - offset;
    const torn = (reason: string): ScanResult => ({
      frames,
      torn: { offset, frameNumber, lengthBytes: remainingBytes, reason },
    });
    const corrupt = (reason: string): never => {
      throw new CorruptFileError(
        `${source.purpose}: ${source.path} is corrupt at byte ${offset} (frame ${frameNumber}, ${remainingBytes} bytes before the end of the file): ${reason}`,
        source.path,
      );
    };
    if (isAllZero(bytes.subarray(offset))) {
      return torn("the file ends in zeros where a frame should be (a write that never landed)");
    }
    if (remainingBytes < FRAME_HEADER_BYTES) {
      return torn(
        `the file ends inside a frame header (${remainingBytes} of ${FRAME_HEADER_BYTES} bytes)`,
      );
    }
    const payloadBytes = view.getUint32(offset);
    const payloadChecksum = view.getUint32(offset + 4);
    const storedHeaderChecksum = view.getUint32(offset + 8);
    const headerChecksum = crc32(bytes.subarray(offset, offset + 8));
    if (storedHeaderChecksum !== headerChecksum) {
      corrupt(
        `header CRC mismatch (stored ${hex(storedHeaderChecksum)}, computed ${
          hex(headerChecksum)
        })`,
      );
    }
    if (payloadBytes > source.maxFrameBytes) {
      corrupt(`the frame claims ${payloadBytes} bytes, over the limit of ${source.maxFrameBytes}`);
    }
    const endOffset = offset + FRAME_HEADER_BYTES + payloadBytes;
    if (endOffset > bytes.byteLength) {
      return torn(
        `the file ends inside a frame (${
          remainingBytes - FRAME_HEADER_BYTES
        } of ${payloadBytes} payload bytes)`,
      );
    }
    const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, endOffset);
    const computed = crc32(payload);
    if (computed !== payloadChecksum) {
      corrupt(`CRC mismatch (stored ${hex(payloadChecksum)}, computed ${hex(computed)})`);
    }
    frames.push({ offset, payload });
    offset = endOffset;
  }
  return { frames, torn: null };
}

function isAllZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/** A record as found in a frame, with its encoded bytes (header included). */
export interface FoundRecord {
  /** The change it makes. */
  readonly record: LogRecord;
  /** Its bytes, a view into the frame. */
  readonly bytes: Uint8Array;
}

/**
 * Decodes the records of a frame that passed its CRC. Throws {@linkcode CorruptFileError} when
 * they are malformed: a frame that checks but does not parse was written wrong.
 */
export function decodeRecords(
  frame: Frame,
  frameNumber: number,
  source: ScanSource,
): FoundRecord[] {
  const { payload } = frame;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const found: FoundRecord[] = [];
  let at = 0;
  // Bounded: every round consumes at least a record header.
  while (at < payload.byteLength) {
    const fail = (reason: string): never => {
      throw new CorruptFileError(
        `${source.purpose}: ${source.path} is corrupt at byte ${
          frame.offset + FRAME_HEADER_BYTES + at
        } (record ${found.length + 1} of frame ${frameNumber}): ${reason}`,
        source.path,
      );
    };
    if (payload.byteLength - at < RECORD_HEADER_BYTES) {
      fail("the frame ends inside a record header");
    }
    const kind = payload[at];
    const bodyBytes = view.getUint32(at + 1);
    const end = at + RECORD_HEADER_BYTES + bodyBytes;
    if (end > payload.byteLength) fail(`a ${bodyBytes}-byte record runs past the end of its frame`);
    let body: unknown;
    try {
      body = decode(payload.subarray(at + RECORD_HEADER_BYTES, end));
    } catch (error) {
      fail(`the record does not decode: ${errorText(error)}`);
    }
    const record = recordOf(kind, body);
    if (typeof record === "string") fail(record);
    found.push({ record: record as LogRecord, bytes: payload.subarray(at, end) });
    at = end;
  }
  return found;
}

/** The record of `kind` with `body`, or a phrase saying why there is none. */
function recordOf(kind: number, body: unknown): LogRecord | string {
  const isIndex = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
  if (kind === APPEND_KIND) {
    if (!Array.isArray(body) || body.length !== 3 || !isIndex(body[0]) || !isIndex(body[1])) {
      return "an append record is not [index, term, command]";
    }
    if (body[0] === 0) return "an append record has index 0";
    return { kind: "append", entry: { index: body[0], term: body[1], command: body[2] } };
  }
  if (kind === TRUNCATE_KIND) {
    if (!isIndex(body)) return "a truncate record does not hold an index";
    return { kind: "truncate", after: body as number };
  }
  if (kind === COMPACT_KIND) {
    if (!Array.isArray(body) || body.length !== 2 || !isIndex(body[0]) || !isIndex(body[1])) {
      return "a compact record is not [index, term]";
    }
    return { kind: "compact", index: body[0], term: body[1] };
  }
  return `unknown record kind ${kind}`;
}

/** A live entry and the bytes of the record that holds it. */
export interface LiveEntry {
  /** The entry. */
  readonly entry: Entry;
  /** Its record's encoded bytes. */
  readonly recordBytes: Uint8Array;
}

/** Bound on live entries a log may hold, so a runaway log fails loudly instead of swapping. */
export const MAX_LIVE_ENTRIES = 1 << 24;

/**
 * The log that replaying records gives: entries after `compactedIndex`, contiguous. Records
 * that contradict the log so far make {@linkcode LogReplay.apply} return a phrase saying why.
 */
export class LogReplay {
  /** Every entry up to here is covered by a snapshot (0: none). */
  compactedIndex = 0;
  /** Term of the entry at `compactedIndex` (0: none). */
  compactedTerm = 0;
  /** Live entries in index order, starting at `compactedIndex + 1`. */
  readonly entries: LiveEntry[] = [];

  /** Index of the last entry, or the compacted index when there are none. */
  get lastIndex(): number {
    const count = this.entries.length;
    return count === 0 ? this.compactedIndex : this.entries[count - 1].entry.index;
  }

  /** Term of the last entry, or the compacted term when there are none. */
  get lastTerm(): number {
    const count = this.entries.length;
    return count === 0 ? this.compactedTerm : this.entries[count - 1].entry.term;
  }

  /** Applies `found`; returns null, or why it cannot follow the log replayed so far. */
  apply(found: FoundRecord): string | null {
    const { record } = found;
    if (record.kind === "append") {
      const { index, term } = record.entry;
      if (index !== this.lastIndex + 1) {
        return `entry ${index} cannot follow the log, which ends at ${this.lastIndex}`;
      }
      if (term < this.lastTerm) {
        return `entry ${index} has term ${term}, below the term ${this.lastTerm} before it`;
      }
      if (this.entries.length >= MAX_LIVE_ENTRIES) {
        return `entry ${index} is past the bound of ${MAX_LIVE_ENTRIES} live entries`;
      }
      this.entries.push({ entry: record.entry, recordBytes: found.bytes });
      return null;
    }
    if (record.kind === "truncate") {
      if (record.after < this.compactedIndex) {
        return `a truncation after entry ${record.after} reaches below compacted entry ${this.compactedIndex}`;
      }
      this.entries.length = Math.min(this.entries.length, record.after - this.compactedIndex);
      return null;
    }
    if (record.index < this.compactedIndex) {
      return `compaction to entry ${record.index} goes back from entry ${this.compactedIndex}`;
    }
    const position = record.index - this.compactedIndex - 1;
    const leadingTerm = position < 0 ? this.compactedTerm : this.entries[position]?.entry.term;
    if (leadingTerm === record.term) {
      this.entries.splice(0, position + 1);
    } else {
      // Entries after a snapshot they do not lead up to cannot be trusted (Figure 13, step 7).
      this.entries.length = 0;
    }
    this.compactedIndex = record.index;
    this.compactedTerm = record.term;
    return null;
  }
}

/** Encodes the records that rebuild `replay`'s live state: its compaction, then its entries. */
export function liveRecords(replay: LogReplay): Uint8Array[] {
  const records: Uint8Array[] = [];
  if (replay.compactedIndex > 0) {
    records.push(
      encodeRecord({ kind: "compact", index: replay.compactedIndex, term: replay.compactedTerm }),
    );
  }
  for (const live of replay.entries) records.push(live.recordBytes);
  assert(records.length <= MAX_LIVE_ENTRIES + 1, "Live log records exceed their bound");
  return records;
}
