/**
 * A reducer's output on its way to the coordinator, when the job shares no folder: the lines
 * reduce writes are buffered, encoded and sent in chunks of at most {@linkcode CHUNK_BYTES},
 * each with its checksum; {@linkcode OutputSender.finish} returns the size and CRC-32 of the
 * whole, which the coordinator checks before it keeps the output.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { checksumOf, CHUNK_BYTES } from "./chunks.ts";
import type { TextSink } from "../mr/job_files.ts";
import type { UploadedOutput } from "./output_uploads.ts";

/**
 * Characters collected before they are encoded and sent: at most three UTF-8 bytes each, so one
 * buffer is at most one chunk.
 */
const BUFFER_CHARS = Math.floor(CHUNK_BYTES / 3);

/** Sends one chunk: `bytes` at `position` of the output, with their CRC-32. */
export type SendChunk = (position: number, bytes: Uint8Array, crc32: number) => Promise<void>;

/** Sends the text written to it, chunk by chunk, through `send`. */
export class OutputSender implements TextSink {
  readonly #send: SendChunk;
  readonly #encoder = new TextEncoder();
  #parts: string[] = [];
  #bufferedChars = 0;
  #sentBytes = 0;
  #checksum = 0;
  #finished = false;

  /** Creates a sender that has sent nothing. */
  constructor(send: SendChunk) {
    this.#send = send;
  }

  /** Appends `text`; it is sent once the buffer is full, or on finish. */
  async write(text: string): Promise<void> {
    assert(!this.#finished, "Cannot write output: it was already finished");
    this.#parts.push(text);
    this.#bufferedChars += text.length;
    if (this.#bufferedChars >= BUFFER_CHARS) await this.#flush();
  }

  /** Sends what is buffered and returns what was sent in all. */
  async finish(): Promise<UploadedOutput> {
    await this.#flush();
    this.#finished = true;
    return { sizeBytes: this.#sentBytes, crc32: this.#checksum };
  }

  async #flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const bytes = this.#encoder.encode(this.#parts.join(""));
    this.#parts = [];
    this.#bufferedChars = 0;
    // Bounded: a text of more than BUFFER_CHARS characters (one long line) takes several chunks.
    for (let start = 0; start < bytes.length; start += CHUNK_BYTES) {
      const chunk = bytes.subarray(start, start + CHUNK_BYTES);
      const crc32 = checksumOf(chunk);
      await this.#send(this.#sentBytes, chunk, crc32);
      this.#sentBytes += chunk.length;
      this.#checksum = checksumOf(chunk, this.#checksum);
    }
  }
}
