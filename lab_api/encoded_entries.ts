/**
 * Log entries kept already encoded (MessagePack), back to back in one growable buffer, so that
 * saving the whole Raft state after every change costs a copy of bytes instead of encoding the
 * whole log again: the lab's persister wants all of the state each time, and a log of thousands
 * of entries re-encoded on every append made persistence quadratic.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { encode } from "../rpc/codec.ts";
import type { Entry } from "../raft/messages.ts";

const INITIAL_CAPACITY_BYTES = 4096;
/** MessagePack's fixmap of four and of five fields. */
/** MessagePack's fixmap: one byte 0x80 | n for a map of n < 16 fields. */
const FIXMAP = 0x80;
const FIXMAP_FIELDS_MAX = 15;
const ENTRIES_KEY_BYTES = encode("entries");

/** Encoded entries in log order; entry `i` occupies `offsets[i]` up to the next offset. */
export class EncodedEntries {
  #bytes = new Uint8Array(INITIAL_CAPACITY_BYTES);
  #usedBytes = 0;
  #offsets: number[] = [];

  /** Number of entries held. */
  get count(): number {
    return this.#offsets.length;
  }

  /** Bytes of the encoded entries. */
  get byteLength(): number {
    return this.#usedBytes;
  }

  /** Appends `entry`, encoded. */
  push(entry: Entry): void {
    const encoded = encode(entry);
    this.#reserve(encoded.byteLength);
    this.#bytes.set(encoded, this.#usedBytes);
    this.#offsets.push(this.#usedBytes);
    this.#usedBytes += encoded.byteLength;
  }

  /** Keeps the first `count` entries. */
  truncate(count: number): void {
    if (count >= this.#offsets.length) return;
    this.#usedBytes = this.#offsets[Math.max(0, count)];
    this.#offsets.length = Math.max(0, count);
  }

  /** Drops the first `count` entries (those a snapshot now covers). */
  dropFirst(count: number): void {
    if (count <= 0) return;
    if (count >= this.#offsets.length) {
      this.#offsets = [];
      this.#usedBytes = 0;
      return;
    }
    const start = this.#offsets[count];
    this.#bytes.copyWithin(0, start, this.#usedBytes);
    this.#usedBytes -= start;
    this.#offsets = this.#offsets.slice(count).map((offset) => offset - start);
  }

  /**
   * The MessagePack encoding of `{...header, entries}`, where `header` has fewer than fifteen
   * fields, identical to what `encode` gives for that object.
   */
  encodeWith(header: Readonly<Record<string, unknown>>): Uint8Array {
    const headerBytes = encode(header);
    const fields = Object.keys(header).length;
    assert(
      fields < FIXMAP_FIELDS_MAX && headerBytes[0] === (FIXMAP | fields),
      `Cannot encode a Raft state header of ${fields} fields: at most ${FIXMAP_FIELDS_MAX - 1}`,
    );
    const arrayHeader = arrayHeaderBytes(this.#offsets.length);
    const total = headerBytes.byteLength + ENTRIES_KEY_BYTES.byteLength + arrayHeader.byteLength +
      this.#usedBytes;
    const result = new Uint8Array(total);
    result.set(headerBytes, 0);
    result[0] = FIXMAP | (fields + 1);
    let at = headerBytes.byteLength;
    result.set(ENTRIES_KEY_BYTES, at);
    at += ENTRIES_KEY_BYTES.byteLength;
    result.set(arrayHeader, at);
    at += arrayHeader.byteLength;
    result.set(this.#bytes.subarray(0, this.#usedBytes), at);
    return result;
  }

  #reserve(extraBytes: number): void {
    const needed = this.#usedBytes + extraBytes;
    if (needed <= this.#bytes.byteLength) return;
    let capacity = this.#bytes.byteLength;
    // Doubling: at most 53 rounds before the capacity passes any safe length.
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#bytes.subarray(0, this.#usedBytes));
    this.#bytes = grown;
  }
}

/** MessagePack's header for an array of `length` elements. */
function arrayHeaderBytes(length: number): Uint8Array {
  if (length < 16) return Uint8Array.of(0x90 | length);
  if (length < 65_536) return Uint8Array.of(0xdc, length >>> 8, length & 0xff);
  return Uint8Array.of(
    0xdd,
    length >>> 24,
    (length >>> 16) & 0xff,
    (length >>> 8) & 0xff,
    length & 0xff,
  );
}
