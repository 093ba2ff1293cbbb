/**
 * The message codec every component shares: MessagePack values inside length-prefixed frames
 * (a big-endian u32 byte count, then the encoded value). The simulated network counts bytes with
 * {@linkcode encode} too, so byte counts in tests are those of the real wire format.
 *
 * @module
 */
import { errorText } from "../util/error_text.ts";
import { Decoder, Encoder } from "@msgpack/msgpack";

/** Frames larger than this are refused unless a caller sets its own bound (64 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Bytes in a frame's length prefix. */
export const FRAME_HEADER_BYTES = 4;

// One encoder and one decoder for the whole process: building them is the expensive part.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/** How a frame error ends when the peer speaks TLS to a side that does not. */
export const TLS_MISMATCH = "the peer speaks TLS and this side does not";

/** Thrown when bytes cannot be read as a frame or a value; the message names what was wrong. */
export class CodecError extends Error {
  /** Creates the error with a plain-sentence message. */
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

/** Encodes `value` as MessagePack into a fresh buffer the caller may keep. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decodes one MessagePack value; throws {@linkcode CodecError} on malformed bytes. */
export function decode(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new CodecError(`Cannot decode a ${bytes.length}-byte message: ${errorText(error)}`);
  }
}

/** Encodes `value` as one frame: a u32 length prefix followed by the MessagePack bytes. */
export function encodeFrame(value: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const body = encoder.encodeSharedRef(value);
  if (body.length > maxFrameBytes) {
    throw new CodecError(
      `Cannot send a ${body.length}-byte frame: the limit is ${maxFrameBytes} bytes`,
    );
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Reassembles frames from a byte stream that arrives in arbitrary chunks. A length prefix above
 * the bound is refused before any of its body is buffered, so a hostile peer cannot make us
 * allocate more than `maxFrameBytes`.
 */
export class FrameReader {
  #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  readonly #maxFrameBytes: number;

  /** Creates a reader that refuses frames above `maxFrameBytes`. */
  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned as part of a frame. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /**
   * Adds `chunk` and returns every value completed by it, in order. Throws
   * {@linkcode CodecError} on an oversized length prefix or a body that is not MessagePack;
   * after that the stream is out of step and the caller must drop the connection.
   */
  push(chunk: Uint8Array): unknown[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#bufferedBytes += chunk.length;
    }
    const values: unknown[] = [];
    // Bounded: every iteration consumes at least FRAME_HEADER_BYTES buffered bytes.
    while (this.#bufferedBytes >= FRAME_HEADER_BYTES) {
      const header = this.#peek(FRAME_HEADER_BYTES);
      const bodyBytes = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
      if (bodyBytes > this.#maxFrameBytes) {
        throw new CodecError(
          `Frame of ${bodyBytes} bytes is over the limit of ${this.#maxFrameBytes} bytes` +
            (isTlsRecord(header) ? `: ${TLS_MISMATCH}` : ""),
        );
      }
      if (this.#bufferedBytes < FRAME_HEADER_BYTES + bodyBytes) break;
      const frame = this.#take(FRAME_HEADER_BYTES + bodyBytes);
      values.push(decode(frame.subarray(FRAME_HEADER_BYTES)));
    }
    return values;
  }

  #peek(byteCount: number): Uint8Array {
    if (this.#chunks[0].length >= byteCount) return this.#chunks[0];
    this.#merge();
    return this.#chunks[0];
  }

  #take(byteCount: number): Uint8Array {
    if (this.#chunks[0].length < byteCount) this.#merge();
    const first = this.#chunks[0];
    const taken = first.subarray(0, byteCount);
    if (first.length === byteCount) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(byteCount);
    this.#bufferedBytes -= byteCount;
    return taken;
  }

  #merge(): void {
    const merged = new Uint8Array(this.#bufferedBytes);
    let offset = 0;
    for (const chunk of this.#chunks) {
      merged.set(chunk, offset);
      offset += chunk.length;
    }
    this.#chunks = [merged];
  }
}

/**
 * Whether a frame header is the start of a TLS record (a handshake or an alert, version 3.x): what
 * arrives when one side of a connection uses TLS and the other does not. Such a header always
 * reads as a frame of over 350 MB, so it is only consulted for an oversized frame.
 */
function isTlsRecord(header: Uint8Array): boolean {
  return (header[0] === 0x16 || header[0] === 0x15) && header[1] === 0x03;
}
