/**
 * The clerk of the one-shot `dsys kv` commands, the shell and the demo: a {@linkcode Clerk}
 * over TCP with a deadline per operation, after which the operation's outcome is unknown (exit
 * code {@linkcode EXIT_UNKNOWN_OUTCOME}) and the next operation gets a fresh client id.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import { errorText } from "../util/error_text.ts";
import { connect } from "../rpc/tcp_client.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { RpcAuthenticationError, type RpcClient } from "../rpc/types.ts";
import { Clerk } from "../kv/clerk.ts";
import { type Consistency, type KvOperationKind as AnyKind, READ_KINDS } from "../kv/command.ts";
import { EXIT_TIMED_OUT } from "../cli/exit_codes.ts";
import type { KvReply } from "../kv/protocol.ts";
import type { Operation as ClerkOperation } from "../kv/clerk.ts";
import { CALL_TIMEOUT_MS, RECONNECT_BACKOFF_MS } from "./kv_connection.ts";

/** Exit code of an operation that timed out: a write's outcome is unknown, a read gave nothing. */
export const EXIT_UNKNOWN_OUTCOME = EXIT_TIMED_OUT;
/** Default bound on one operation, retries included. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;

/** The operations the shell and the one-shot commands run. */
export type KvOperationKind = "get" | "put" | "append";

/** One operation for the cluster. */
export interface KvOperation {
  /** get, put or append. */
  readonly kind: KvOperationKind;
  /** The key. */
  readonly key: string;
  /** The value for put and append; "" for get. */
  readonly value: string;
  /** For a get: how fresh it must be; default linearizable. */
  readonly consistency?: Consistency;
}

/** How a task of a {@linkcode DeadlineClerk} ended: its value, or why there is none. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly unknown: boolean; readonly error: string };

/** `delete of key "k"`, as errors name an operation. */
export function describeOperation(operation: ClerkOperation): string {
  const key = operation.key === "" ? "" : ` of key ${JSON.stringify(operation.key)}`;
  const lease = operation.lease === undefined ? "" : ` of lease ${operation.lease}`;
  return `${operation.kind}${key}${lease}`;
}

/** How one operation ended. */
export type OperationOutcome =
  | { readonly ok: true; readonly output: string }
  | { readonly ok: false; readonly unknown: boolean; readonly error: string };

/**
 * A clerk with a deadline per operation. An operation that misses it is abandoned (its clerk is
 * closed) and the next one gets a fresh clerk with a new client id, so the abandoned operation,
 * which may still take effect, never overlaps a later one of the same client id.
 */
export class DeadlineClerk {
  readonly #clients: RpcClient[];
  readonly #timeoutMs: number;
  #clerk: Clerk;

  /** A clerk of the servers at `servers`; each operation may take `timeoutMs`. */
  constructor(servers: readonly string[], timeoutMs: number, security?: TransportSecurity) {
    assert(servers.length > 0, "Cannot make a clerk without servers");
    assert(timeoutMs > 0, `Operation timeout of ${timeoutMs} ms is not positive`);
    this.#clients = servers.map((address) =>
      connect(address, { log: () => {}, reconnectBackoffMs: RECONNECT_BACKOFF_MS, security })
    );
    this.#timeoutMs = timeoutMs;
    this.#clerk = this.#newClerk();
  }

  /** The id of the clerk the next operation uses. */
  get clientId(): number {
    return this.#clerk.clientId;
  }

  /** Runs `operation` until it is applied or the deadline passes. */
  async run(operation: KvOperation): Promise<OperationOutcome> {
    const what = `${operation.kind} of key ${JSON.stringify(operation.key)}`;
    const outcome = await this.within(
      what,
      (clerk) => runOn(clerk, operation),
      isWrite(operation.kind),
    );
    return outcome.ok ? { ok: true, output: outcome.value } : outcome;
  }

  /** Sends any operation (delete, range, txn, lease-…) until answered or the deadline passes. */
  send(operation: ClerkOperation): Promise<Outcome<KvReply>> {
    return this.within(
      describeOperation(operation),
      (clerk) => clerk.send(operation),
      isWrite(operation.kind),
    );
  }

  /**
   * Runs `task` (`what`, as errors name it) on the current clerk within the deadline. A task
   * that misses it is abandoned: its clerk is closed and the next task gets a fresh one, with a
   * new client id. Only a `write` that times out is said to have an unknown effect.
   */
  async within<T>(
    what: string,
    task: (clerk: Clerk) => Promise<T>,
    write = true,
  ): Promise<Outcome<T>> {
    const clerk = this.#clerk;
    const running = task(clerk).then(
      (value): Outcome<T> => ({ ok: true, value }),
      // A refused handshake means the operation was never sent; anything else may have run.
      (error): Outcome<T> => ({
        ok: false,
        unknown: !(error instanceof RpcAuthenticationError),
        error: errorText(error),
      }),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.#timeoutMs);
    });
    const outcome = await Promise.race([running, late]);
    clearTimeout(timer);
    if (outcome !== null) return outcome;
    clerk.close();
    this.#clerk = this.#newClerk();
    const seconds = this.#timeoutMs / 1000;
    const effect = write ? ": it may or may not have taken effect" : " (a read: nothing changed)";
    return {
      ok: false,
      unknown: true,
      error: `${what} got no answer within ${seconds} s${effect}`,
    };
  }

  /** Stops every clerk and closes the connections. */
  close(): void {
    this.#clerk.close();
    for (const client of this.#clients) client.close();
  }

  #newClerk(): Clerk {
    return new Clerk(this.#clients, realClock, unseededRandom(), {
      callTimeoutMs: Math.min(CALL_TIMEOUT_MS, this.#timeoutMs),
    });
  }
}

/** Whether an operation of `kind` may change the store (only gets and ranges cannot). */
export function isWrite(kind: AnyKind): boolean {
  return !READ_KINDS.includes(kind);
}

function runOn(clerk: Clerk, operation: KvOperation): Promise<string> {
  switch (operation.kind) {
    case "get":
      return clerk.get(operation.key, operation.consistency);
    case "put":
      return clerk.put(operation.key, operation.value).then(() => "");
    case "append":
      return clerk.append(operation.key, operation.value).then(() => "");
  }
}
