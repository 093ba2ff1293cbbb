/**
 * One socket carrying length-prefixed MessagePack frames in both directions: a read loop that
 * hands each decoded value to a callback, and a write queue so that frames from concurrent
 * callers go out whole, one after another. Shared by the RPC server and client.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { FrameReader } from "./codec.ts";
import { errorText } from "../util/error_text.ts";
import type { RpcTraffic } from "./types.ts";

/** Bytes asked of the socket per read. */
const READ_BUFFER_BYTES = 64 * 1024;

/** Queued frames are joined into writes of about this size, so pipelined replies cost few syscalls. */
const WRITE_BATCH_BYTES = 256 * 1024;

/**
 * Calls in flight on one connection, on either side. The client asserts it never exceeds this;
 * the server drops a connection that does, since only a broken or hostile peer gets there.
 */
export const MAX_IN_FLIGHT_CALLS = 100_000;

/** Frames waiting to be written; a peer that stops reading for this long loses its connection. */
const MAX_QUEUED_FRAMES = 2 * MAX_IN_FLIGHT_CALLS;

/** Thrown by a frame callback when a frame is well formed but not what the protocol allows. */
export class ProtocolError extends Error {
  /** Creates the error with a plain-sentence message. */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * How a connection ended: `end` for an orderly close by either side, `protocol` when the peer sent
 * bytes we refuse (oversized, undecodable or wrongly shaped frames), `io` for a socket error.
 */
export type CloseReason =
  | { kind: "end" }
  | { kind: "protocol"; message: string }
  | { kind: "io"; message: string };

/** What the owner of a {@linkcode FramedConnection} is told. */
export interface FramedConnectionHooks {
  /** One decoded frame arrived; throw {@linkcode ProtocolError} to drop the connection. */
  onFrame(value: unknown): void;
  /** The connection closed, once, for `reason`; no frame is delivered after this. */
  onClose(reason: CloseReason): void;
}

/** A socket speaking length-prefixed frames; see the module documentation. */
export class FramedConnection {
  readonly #conn: Deno.Conn;
  readonly #reader: FrameReader;
  readonly #hooks: FramedConnectionHooks;
  readonly #reading: Promise<void>;
  readonly #traffic: RpcTraffic | null;
  #queue: Uint8Array[] = [];
  #writing: Promise<void> | null = null;
  #closed = false;

  /**
   * Starts reading `conn` at once; frames above `maxFrameBytes` close the connection. Bytes read
   * and written are added to `traffic` when given.
   */
  constructor(
    conn: Deno.Conn,
    maxFrameBytes: number,
    hooks: FramedConnectionHooks,
    traffic: RpcTraffic | null = null,
  ) {
    this.#conn = conn;
    // A TLS connection has no such switch (see the note in security/secure_transport.ts).
    if (typeof (conn as Partial<Deno.TcpConn>).setNoDelay === "function") {
      (conn as Deno.TcpConn).setNoDelay(true);
    }
    this.#traffic = traffic;
    this.#reader = new FrameReader(maxFrameBytes);
    this.#hooks = hooks;
    this.#reading = this.#readLoop();
  }

  /** Whether the connection has closed; sends are then dropped. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Queues an encoded frame for writing. Frames are written whole and in the order sent. After
   * the connection closed the frame is dropped: the peer is gone and nobody can receive it.
   */
  send(frame: Uint8Array): void {
    if (this.#closed) return;
    if (this.#queue.length >= MAX_QUEUED_FRAMES) {
      this.#close({
        kind: "protocol",
        message: `the peer is not reading: ${this.#queue.length} frames are waiting to be written`,
      });
      return;
    }
    this.#queue.push(frame);
    if (this.#writing === null) this.#writing = this.#writeLoop();
  }

  /** Closes the socket; pending reads and writes end, and `onClose` reports `end`. */
  close(): void {
    this.#close({ kind: "end" });
  }

  /** Resolves once the read and write loops have stopped, so no socket operation is left. */
  async finished(): Promise<void> {
    await this.#reading;
    // Bounded: once closed, no new write loop starts, so this waits for at most one.
    while (this.#writing !== null) await this.#writing;
  }

  #close(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    try {
      this.#conn.close();
    } catch (error) {
      // The socket may already be gone when the peer reset it; that is the state we want.
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    this.#hooks.onClose(reason);
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    // Bounded by the life of the socket: every iteration reads, and end of stream or an error
    // closes the connection.
    while (!this.#closed) {
      let byteCount: number | null;
      try {
        byteCount = await this.#conn.read(buffer);
      } catch (error) {
        this.#close({ kind: "io", message: `Read failed: ${errorText(error)}` });
        return;
      }
      if (this.#closed) return;
      if (byteCount === null) {
        this.#close(this.#endReason());
        return;
      }
      if (this.#traffic !== null) this.#traffic.bytesIn += byteCount;
      this.#deliver(buffer.slice(0, byteCount));
    }
  }

  /** An end of stream inside a frame means the peer was cut off or was not speaking frames. */
  #endReason(): CloseReason {
    const unreadBytes = this.#reader.bufferedBytes;
    if (unreadBytes === 0) return { kind: "end" };
    return {
      kind: "protocol",
      message: `the stream ended inside a frame, with ${unreadBytes} bytes unread`,
    };
  }

  #deliver(chunk: Uint8Array): void {
    let values: unknown[];
    try {
      values = this.#reader.push(chunk);
    } catch (error) {
      this.#close({ kind: "protocol", message: errorText(error) });
      return;
    }
    for (const value of values) {
      if (this.#closed) return;
      try {
        this.#hooks.onFrame(value);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.#close({ kind: "protocol", message: error.message });
        return;
      }
    }
  }

  async #writeLoop(): Promise<void> {
    // Bounded: every iteration removes at least one frame, and the queue is bounded.
    while (this.#queue.length > 0 && !this.#closed) {
      const batch = this.#takeBatch();
      try {
        // Counted before the write, so a peer that has the bytes finds them counted.
        if (this.#traffic !== null) this.#traffic.bytesOut += batch.length;
        await writeAll(this.#conn, batch);
      } catch (error) {
        this.#close({ kind: "io", message: `Write failed: ${errorText(error)}` });
      }
    }
    this.#writing = null;
  }

  #takeBatch(): Uint8Array {
    let frameCount = 0;
    let byteCount = 0;
    while (
      frameCount < this.#queue.length &&
      (frameCount === 0 || byteCount + this.#queue[frameCount].length <= WRITE_BATCH_BYTES)
    ) {
      byteCount += this.#queue[frameCount].length;
      frameCount++;
    }
    const frames = this.#queue.splice(0, frameCount);
    if (frames.length === 1) return frames[0];
    const batch = new Uint8Array(byteCount);
    let offset = 0;
    for (const frame of frames) {
      batch.set(frame, offset);
      offset += frame.length;
    }
    assert(offset === byteCount, `Write batch holds ${offset} bytes, expected ${byteCount}`);
    return batch;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  // Bounded: every write either makes progress or throws.
  while (offset < bytes.length) {
    const written = await conn.write(bytes.subarray(offset));
    assert(written > 0, `Socket accepted no bytes of ${bytes.length - offset}`);
    offset += written;
  }
}
