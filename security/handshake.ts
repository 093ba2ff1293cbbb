/**
 * The cluster-secret handshake, run on a fresh connection (after TLS, if any) before any RPC
 * frame: each side proves it holds the secret without sending it, the server first.
 *
 * ```
 * client → server  [2, "hello", clientNonce]
 * server → client  [2, "challenge", serverNonce, HMAC(secret, "dsys-rpc server proof" 0 clientNonce serverNonce)]
 * client → server  [2, "proof", HMAC(secret, "dsys-rpc client proof" 0 serverNonce clientNonce)]
 * server → client  [2, "accepted"]   or, at any step,   [2, "refused", reason]
 * ```
 *
 * Both nonces are 32 random bytes, so no proof can be replayed on another connection; the label
 * binds each proof to its direction, so the server's proof cannot be reflected back as the
 * client's. Proofs are compared in constant time. Frames are the RPC layer's length-prefixed
 * MessagePack frames, tagged 2 (requests are 0, replies 1), so a client that has no secret
 * recognises a refusal and says so. The whole handshake is bounded: frames of at most
 * {@linkcode HANDSHAKE_FRAME_BYTES_MAX} bytes, within a deadline.
 *
 * @module
 */
import { encodeFrame, FrameReader } from "../rpc/codec.ts";
import { assert } from "../util/assert.ts";
import { errorText } from "../util/error_text.ts";

/** The first element of every handshake frame. */
export const HANDSHAKE_TAG = 2;
/** Random bytes each side contributes. */
const NONCE_BYTES = 32;
/** Bytes of an HMAC-SHA256 proof. */
const PROOF_BYTES = 32;
/** Largest handshake frame read; the longest, a refusal, carries a short sentence. */
export const HANDSHAKE_FRAME_BYTES_MAX = 512;
/** Longest refusal reason sent or shown. */
const REASON_CHARS_MAX = 200;
const SERVER_LABEL = "dsys-rpc server proof";
const CLIENT_LABEL = "dsys-rpc client proof";

/** The client could not prove the secret, or the server could not, or refused it. */
export class AuthenticationError extends Error {
  /** Creates the error with a plain-sentence message. */
  constructor(message: string) {
    super(message);
    this.name = "AuthenticationError";
  }
}

/** How the server's side of a handshake ended. `quiet`: the client left before saying a word. */
export type Admission = { readonly ok: true } | {
  readonly ok: false;
  readonly reason: string;
  readonly quiet: boolean;
};

/** Whether a decoded frame belongs to the handshake rather than to RPC. */
export function isHandshakeFrame(value: unknown): value is unknown[] {
  return Array.isArray(value) && value[0] === HANDSHAKE_TAG;
}

/** The reason in a `refused` frame, or null when `value` is not one. */
export function refusalReason(value: unknown): string | null {
  if (!isHandshakeFrame(value) || value[1] !== "refused") return null;
  return typeof value[2] === "string" ? value[2].slice(0, REASON_CHARS_MAX) : "no reason given";
}

/** The refusal a server sends a client that has no secret, encoded as a frame. */
export function refusalFrame(reason: string): Uint8Array {
  return encodeFrame([HANDSHAKE_TAG, "refused", reason.slice(0, REASON_CHARS_MAX)]);
}

/**
 * The server's side: waits for the client's hello, proves the secret, checks the client's proof.
 * Never throws for what the client does; the caller closes `conn` unless the result is `ok`.
 */
export async function admitClient(
  conn: Deno.Conn,
  secret: Uint8Array,
  timeoutMs: number,
): Promise<Admission> {
  const stream = new HandshakeStream(conn, timeoutMs);
  try {
    const hello = await stream.next();
    if (hello === null) return { ok: false, reason: "it closed the connection", quiet: true };
    const clientNonce = field(hello, "hello", 2, NONCE_BYTES);
    if (clientNonce === null) {
      const reason = Array.isArray(hello) && hello[0] === 0
        ? "it sent a request without proving the cluster secret (started without --secret-file?)"
        : "its first frame is not a handshake hello";
      await stream.send(refusalFrame("this server requires the cluster secret"));
      return { ok: false, reason, quiet: false };
    }
    const serverNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const serverProof = await prove(secret, SERVER_LABEL, clientNonce, serverNonce);
    await stream.send(encodeFrame([HANDSHAKE_TAG, "challenge", serverNonce, serverProof]));
    const answer = await stream.next();
    if (answer === null) {
      return { ok: false, reason: "it hung up after the challenge", quiet: false };
    }
    if (refusalReason(answer) !== null) {
      const reason = "wrong cluster secret (it refused this server's proof)";
      return { ok: false, reason, quiet: false };
    }
    const clientProof = field(answer, "proof", 2, PROOF_BYTES);
    const expected = await prove(secret, CLIENT_LABEL, serverNonce, clientNonce);
    if (clientProof === null || !equalInConstantTime(clientProof, expected)) {
      await stream.send(refusalFrame("wrong cluster secret"));
      return { ok: false, reason: "wrong cluster secret", quiet: false };
    }
    await stream.send(encodeFrame([HANDSHAKE_TAG, "accepted"]));
    return !stream.hasLeftover
      ? { ok: true }
      : { ok: false, reason: "it sent bytes before it was accepted", quiet: false };
  } catch (error) {
    return { ok: false, reason: errorText(error), quiet: false };
  } finally {
    stream.dispose();
  }
}

/**
 * The client's side: sends a hello, checks the server's proof, proves the secret and waits to be
 * accepted. Throws {@linkcode AuthenticationError} saying what went wrong; the caller closes
 * `conn` then.
 */
export async function proveSecret(
  conn: Deno.Conn,
  secret: Uint8Array,
  timeoutMs: number,
): Promise<void> {
  const stream = new HandshakeStream(conn, timeoutMs);
  try {
    const clientNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    await stream.send(encodeFrame([HANDSHAKE_TAG, "hello", clientNonce]));
    const challenge = expectFrame(await stream.next(), "challenge");
    const serverNonce = field(challenge, "challenge", 2, NONCE_BYTES);
    const serverProof = field(challenge, "challenge", 3, PROOF_BYTES);
    if (serverNonce === null || serverProof === null) {
      throw new AuthenticationError("the server's challenge is malformed");
    }
    const expected = await prove(secret, SERVER_LABEL, clientNonce, serverNonce);
    if (!equalInConstantTime(serverProof, expected)) {
      // Said before hanging up, so that the server's log line names the cause.
      await stream.send(refusalFrame("wrong cluster secret"));
      throw new AuthenticationError("the server did not prove the cluster secret (it has another)");
    }
    const proof = await prove(secret, CLIENT_LABEL, serverNonce, clientNonce);
    await stream.send(encodeFrame([HANDSHAKE_TAG, "proof", proof]));
    expectFrame(await stream.next(), "accepted");
    if (stream.hasLeftover) {
      throw new AuthenticationError("the server sent bytes before the handshake ended");
    }
  } catch (error) {
    if (error instanceof AuthenticationError || isConnectionLost(error)) throw error;
    throw new AuthenticationError(errorText(error));
  } finally {
    stream.dispose();
  }
}

/**
 * Whether `error` is the connection breaking (reset, or cut without TLS's close_notify), as when
 * the server is killed mid-handshake: that is worth a retry, unlike a refusal.
 */
function isConnectionLost(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof ||
    /close_notify|connection reset|broken pipe/i.test(errorText(error));
}

/** `value` when it is the handshake frame `step`; else an error saying what came instead. */
function expectFrame(value: unknown, step: string): unknown[] {
  if (value === null) {
    throw new AuthenticationError(
      `the server closed the connection during the handshake (it may have no cluster secret)`,
    );
  }
  const refusal = refusalReason(value);
  if (refusal !== null) throw new AuthenticationError(`the server refused: ${refusal}`);
  if (!isHandshakeFrame(value) || value[1] !== step) {
    throw new AuthenticationError(`the server answered the handshake with something else`);
  }
  return value;
}

/** Element `index` of handshake frame `step` when it holds exactly `byteCount` bytes, else null. */
function field(value: unknown, step: string, index: number, byteCount: number): Uint8Array | null {
  if (!isHandshakeFrame(value) || value[1] !== step) return null;
  const bytes = value[index];
  return bytes instanceof Uint8Array && bytes.length === byteCount ? bytes : null;
}

/** HMAC-SHA256 under `secret` of `label`, a zero byte, `first` and `second`. */
async function prove(
  secret: Uint8Array,
  label: string,
  first: Uint8Array,
  second: Uint8Array,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    secret as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const labelBytes = new TextEncoder().encode(label);
  const message = new Uint8Array(labelBytes.length + 1 + first.length + second.length);
  message.set(labelBytes, 0);
  message.set(first, labelBytes.length + 1);
  message.set(second, labelBytes.length + 1 + first.length);
  const proof = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  assert(proof.length === PROOF_BYTES, `HMAC-SHA256 gave ${proof.length} bytes, not 32`);
  return proof;
}

/** Compares two proofs without an early exit, so timing tells nothing of where they differ. */
export function equalInConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/** Reads handshake frames and writes them, all before one deadline. */
class HandshakeStream {
  readonly #conn: Deno.Conn;
  readonly #reader = new FrameReader(HANDSHAKE_FRAME_BYTES_MAX);
  readonly #expired: Promise<never>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #frames: unknown[] = [];

  constructor(conn: Deno.Conn, timeoutMs: number) {
    assert(timeoutMs > 0, `Handshake timeout of ${timeoutMs} ms is not positive`);
    this.#conn = conn;
    this.#expired = new Promise((_, reject) => {
      this.#timer = setTimeout(
        () => reject(new Error(`the handshake did not finish within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    // Nobody may be waiting when it expires; the rejection is seen by whoever waits next.
    this.#expired.catch(() => {});
  }

  /** Whether bytes came beyond the frames returned: never, from a peer that follows the protocol. */
  get hasLeftover(): boolean {
    return this.#frames.length > 0 || this.#reader.bufferedBytes > 0;
  }

  /** The next frame, or null when the peer closed the stream before sending one. */
  async next(): Promise<unknown | null> {
    const buffer = new Uint8Array(HANDSHAKE_FRAME_BYTES_MAX);
    // Bounded: every read adds bytes, and the reader refuses a frame over the limit.
    while (this.#frames.length === 0) {
      const reading = this.#conn.read(buffer);
      // After the deadline the caller closes the socket, and this read fails unobserved.
      reading.catch(() => {});
      const byteCount = await Promise.race([reading, this.#expired]);
      if (byteCount === null) return null;
      this.#frames = this.#reader.push(buffer.slice(0, byteCount));
    }
    return this.#frames.shift();
  }

  /** Writes `frame` whole, before the deadline. */
  async send(frame: Uint8Array): Promise<void> {
    let offset = 0;
    // Bounded: every write either makes progress or throws.
    while (offset < frame.length) {
      const writing = this.#conn.write(frame.subarray(offset));
      writing.catch(() => {});
      const written = await Promise.race([writing, this.#expired]);
      assert(written > 0, `Socket accepted no bytes of a ${frame.length}-byte handshake frame`);
      offset += written;
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}
