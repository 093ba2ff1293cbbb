/**
 * What the long-running `dsys kv` subcommands (watch, lease keep-alive, lock, elect) stand on:
 * a {@linkcode KvConnection} over TCP whose clerks retry until the cluster answers, and the
 * end of a run by SIGINT or SIGTERM.
 *
 * @module
 */
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import { connect } from "../rpc/tcp_client.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import type { RpcClient } from "../rpc/types.ts";
import { Clerk } from "../kv/clerk.ts";
import type { KeyRange } from "../kv/store.ts";
import { Watcher } from "../kv/watcher.ts";
import type { KvConnection } from "../recipes/connection.ts";

/** Reconnect backoff towards servers: a restarted server is used again within 200 ms. */
export const RECONNECT_BACKOFF_MS = { initial: 10, max: 200 };
/** How long a clerk's single call may wait (servers answer within their apply timeout). */
export const CALL_TIMEOUT_MS = 2_000;

/** Clerks and watchers of the servers at some addresses, over one connection to each. */
export class TcpConnection implements KvConnection {
  readonly clock = realClock;
  readonly #clients: RpcClient[];
  readonly #clerks = new Set<Clerk>();

  /** Connections to `servers` (made lazily, and again after a server restarts). */
  constructor(servers: readonly string[], security?: TransportSecurity) {
    this.#clients = servers.map((address) =>
      connect(address, { log: () => {}, reconnectBackoffMs: RECONNECT_BACKOFF_MS, security })
    );
  }

  /** A clerk that retries each operation until a server applies it. */
  makeClerk(): Clerk {
    const clerk = new Clerk(this.#clients, realClock, unseededRandom(), {
      callTimeoutMs: CALL_TIMEOUT_MS,
    });
    this.#clerks.add(clerk);
    return clerk;
  }

  /** A watcher of `range` from `fromRevision`. */
  makeWatcher(range: KeyRange, fromRevision: number): Watcher {
    return new Watcher(this.#clients, realClock, range, fromRevision);
  }

  /** Stops every clerk and closes the connections. */
  close(): void {
    for (const clerk of this.#clerks) clerk.close();
    for (const client of this.#clients) client.close();
  }
}

/** The signals that end a long-running subcommand. */
const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

/** The first SIGINT or SIGTERM a long-running subcommand gets (or one a test sends). */
export class Interruption {
  /** Resolves with the first signal. */
  readonly signalled: Promise<Deno.Signal>;
  #signal: Deno.Signal | null = null;
  #resolve!: (signal: Deno.Signal) => void;
  readonly #listeners: { signal: Deno.Signal; listener: () => void }[] = [];

  /** Listens for SIGINT and SIGTERM when `listen` (the command line), else only for tests. */
  constructor(listen: boolean) {
    this.signalled = new Promise((resolve) => this.#resolve = resolve);
    if (!listen) return;
    for (const signal of STOP_SIGNALS) {
      const listener = () => this.interrupt(signal);
      Deno.addSignalListener(signal, listener);
      this.#listeners.push({ signal, listener });
    }
  }

  /** The first signal, or null while none came. */
  get signal(): Deno.Signal | null {
    return this.#signal;
  }

  /** Notes `signal` (only the first counts). */
  interrupt(signal: Deno.Signal): void {
    if (this.#signal !== null) return;
    this.#signal = signal;
    this.#resolve(signal);
  }

  /** Stops listening. */
  dispose(): void {
    for (const { signal, listener } of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners.length = 0;
  }
}

/** The exit code of a run ended by `signal`, as shells report it: 128 plus its number. */
export function signalExitCode(signal: Deno.Signal): number {
  return signal === "SIGINT" ? 130 : 143;
}
