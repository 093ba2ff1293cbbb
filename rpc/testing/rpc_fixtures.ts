/**
 * Small helpers shared by the RPC tests: gates that hold a handler until the test releases it,
 * a log that records lines, and a raw socket reader that waits for the server to hang up.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";

/** A promise the test resolves by hand, to hold a handler at a known point. */
export class Gate<Value = void> {
  /** Settles once {@linkcode Gate.open} is called. */
  readonly opened: Promise<Value>;
  #open: (value: Value) => void = () => {};

  /** Creates a closed gate. */
  constructor() {
    this.opened = new Promise((resolve) => (this.#open = resolve));
  }

  /** Lets everyone waiting on the gate through with `value`. */
  open(value: Value): void {
    this.#open(value);
  }
}

/**
 * Counts arrivals and resolves {@linkcode Arrivals.all} when `expected` have arrived, so a test can
 * wait until every request reached its handler without sleeping.
 */
export class Arrivals {
  readonly #expected: number;
  readonly #reached = new Gate();
  #count = 0;

  /** Creates a counter waiting for `expected` arrivals. */
  constructor(expected: number) {
    assert(expected > 0, `Cannot wait for ${expected} arrivals`);
    this.#expected = expected;
  }

  /** Records one arrival. */
  arrive(): void {
    this.#count++;
    if (this.#count === this.#expected) this.#reached.open();
  }

  /** Resolves once the expected number arrived. */
  get all(): Promise<void> {
    return this.#reached.opened;
  }
}

/** A log sink that keeps its lines for assertions. */
export function recordingLog(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

/** A TCP port nothing listens on right now: bound, read, and released. */
export function unusedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/**
 * Reads and discards until the peer closes the connection, then closes our end. A reset counts
 * as closed: a server that closes a socket with unread input makes the kernel send a reset.
 */
export async function readUntilClosed(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    // Bounded by the peer: the test asserts that it closes.
    while ((await conn.read(buffer)) !== null) {
      // Discard whatever arrives.
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
  } finally {
    conn.close();
  }
}

/** Writes all of `bytes`, tolerating a server that already hung up on us. */
export async function writeIgnoringHangUp(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  try {
    // Bounded: every write makes progress or throws.
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
  } catch (error) {
    const hungUp = error instanceof Deno.errors.ConnectionReset ||
      error instanceof Deno.errors.BrokenPipe;
    if (!hungUp) throw error;
  }
}
