/**
 * The key/value client (the lab's Clerk): sends each operation to the server it believes leads,
 * and on any failure tries the others in turn, pausing briefly after each full round, until one
 * applies it. Every operation gets a fresh sequence number and keeps it on every retry, so the
 * servers apply a retried Put or Append once.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Clock, sleep } from "../util/clock.ts";
import type { Random } from "../util/random.ts";
import { RpcAuthenticationError, type RpcClient, RpcError } from "../rpc/types.ts";
import type { Consistency, KvCommand, Txn } from "./command.ts";
import {
  ERR_VERSION,
  FINAL_ERRORS,
  isKvReply,
  KV_OPERATION_METHOD,
  type KvError,
  type KvReply,
  OK,
} from "./protocol.ts";

/**
 * What a versioned Put came to, as the 2025 lab's clerk reports it: `ErrMaybe` when a
 * retransmitted Put got ErrVersion (the first transmission may have been the one that wrote).
 */
export type PutOutcome = KvError | typeof ERR_MAYBE;
/** A retransmitted versioned Put got ErrVersion: it may or may not have taken effect. */
export const ERR_MAYBE = "ErrMaybe";

/** The parts of a command a clerk method fills in; the clerk adds its id and sequence number. */
export type Operation = Omit<KvCommand, "clientId" | "sequence">;

/** Default for {@linkcode ClerkOptions.retryPauseMs}. */
export const DEFAULT_RETRY_PAUSE_MS = 20;
/** Default for {@linkcode ClerkOptions.callTimeoutMs}. */
export const DEFAULT_CALL_TIMEOUT_MS = 2_000;

/** Options of a {@linkcode Clerk}. */
export interface ClerkOptions {
  /** The pause after every server was tried once without success. */
  readonly retryPauseMs?: number;
  /** How long one call may wait for its reply (servers answer within their apply timeout). */
  readonly callTimeoutMs?: number;
  /** Give up an operation after this many calls; the lab's clerk never gives up (the default). */
  readonly maxCallsPerOperation?: number;
}

/** A random client id of 53 bits: the most a number holds exactly; collisions are negligible. */
export function randomClientId(random: Random): number {
  return random.int(2 ** 21) * 2 ** 32 + random.int(2 ** 32);
}

/** A client of the key/value service; one operation at a time. */
export class Clerk {
  /** This clerk's id, as the servers' duplicate table knows it. */
  readonly clientId: number;
  readonly #servers: readonly RpcClient[];
  readonly #clock: Clock;
  readonly #retryPauseMs: number;
  readonly #callTimeoutMs: number;
  readonly #maxCallsPerOperation: number;
  #leader = 0;
  #sequence = 0;
  #busy = false;
  #closed = false;

  /** A clerk of the servers behind `servers`, with an id drawn from `random`. */
  constructor(
    servers: readonly RpcClient[],
    clock: Clock,
    random: Random,
    options: ClerkOptions = {},
  ) {
    assert(servers.length > 0, "Cannot make a clerk without servers");
    this.clientId = randomClientId(random);
    this.#servers = servers;
    this.#clock = clock;
    this.#retryPauseMs = options.retryPauseMs ?? DEFAULT_RETRY_PAUSE_MS;
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.#maxCallsPerOperation = options.maxCallsPerOperation ?? Infinity;
    assert(this.#retryPauseMs > 0, `Retry pause of ${this.#retryPauseMs} ms is not positive`);
    assert(this.#callTimeoutMs > 0, `Call timeout of ${this.#callTimeoutMs} ms is not positive`);
  }

  /**
   * The value of `key`, "" if it was never written. Linearizable by default; `lease` trusts the
   * leader's clock; `serializable` takes whichever server answers first as it stands, possibly
   * stale.
   */
  async get(key: string, consistency: Consistency = "linearizable"): Promise<string> {
    return (await this.getVersioned(key, consistency)).value;
  }

  /** The value and version of `key` (ErrNoKey, "" and 0 when it does not exist). */
  async getVersioned(
    key: string,
    consistency: Consistency = "linearizable",
  ): Promise<{ value: string; version: number; err: KvError }> {
    const { reply } = await this.#run({ kind: "get", key, value: "", ...level(consistency) });
    return { value: reply.value, version: reply.version ?? 0, err: reply.err };
  }

  /** Sets `key` to `value`. */
  async put(key: string, value: string): Promise<void> {
    await this.#run({ kind: "put", key, value });
  }

  /**
   * Sets `key` to `value` if its version is `version` (0: only if it does not exist), as the
   * 2025 lab's Put: OK, ErrVersion, ErrNoKey (version > 0 of a missing key), or ErrMaybe.
   */
  async putVersioned(key: string, value: string, version: number): Promise<PutOutcome> {
    const { reply, calls } = await this.#run({ kind: "put", key, value, version });
    return reply.err === ERR_VERSION && calls > 1 ? ERR_MAYBE : reply.err;
  }

  /** Appends `value` to the value of `key`. */
  async append(key: string, value: string): Promise<void> {
    await this.#run({ kind: "append", key, value });
  }

  /** Runs any operation (delete, range, txn, …) and returns the server's reply. */
  async send(operation: Operation): Promise<KvReply> {
    return (await this.#run(operation)).reply;
  }

  /** Deletes `key`, or every key in `[key, end)` ("" for no end); returns how many. */
  async delete(key: string, end?: string): Promise<number> {
    const reply = await this.send({
      kind: "delete",
      key,
      value: "",
      ...(end === undefined ? {} : { end }),
    });
    return reply.deleted ?? 0;
  }

  /** Grants a lease of `ttlMs`; returns its id. */
  async leaseGrant(ttlMs: number): Promise<number> {
    const reply = await this.send({ kind: "lease-grant", key: "", value: "", ttlMs });
    if (reply.lease === undefined) {
      throw new Error(`Cannot grant a lease of ${ttlMs} ms: the service answered ${reply.err}`);
    }
    return reply.lease;
  }

  /** Ends lease `lease` and deletes its keys; false if it no longer existed. */
  async leaseRevoke(lease: number): Promise<boolean> {
    return (await this.send({ kind: "lease-revoke", key: "", value: "", lease })).err === OK;
  }

  /**
   * Renews lease `lease` for its whole time to live, at the leader; returns the time to live,
   * or null when the lease no longer exists (it expired or was revoked).
   */
  async leaseKeepAlive(lease: number): Promise<number | null> {
    const reply = await this.send({ kind: "lease-keepalive", key: "", value: "", lease });
    return reply.err === OK ? reply.ttlMs ?? null : null;
  }

  /** Runs transaction `txn` and returns whether its comparisons held, with the responses. */
  txn(txn: Txn): Promise<KvReply> {
    return this.send({ kind: "txn", key: "", value: "", txn });
  }

  /** Stops retrying: the operation in progress (if any) rejects at its next attempt. */
  close(): void {
    this.#closed = true;
  }

  async #run(operation: Operation): Promise<{ reply: KvReply; calls: number }> {
    assert(
      !this.#busy,
      `Clerk ${this.clientId} cannot start a ${operation.kind}: an operation is running`,
    );
    this.#busy = true;
    try {
      this.#sequence++;
      const command: KvCommand = {
        ...operation,
        clientId: this.clientId,
        sequence: this.#sequence,
      };
      return await this.#untilApplied(command);
    } finally {
      this.#busy = false;
    }
  }

  async #untilApplied(command: KvCommand): Promise<{ reply: KvReply; calls: number }> {
    const count = this.#servers.length;
    for (let calls = 0; calls < this.#maxCallsPerOperation; calls++) {
      if (this.#closed) {
        throw new Error(`Clerk ${this.clientId} was closed during ${describe(command)}`);
      }
      const server = this.#leader;
      const reply = await this.#call(server, command);
      if (reply !== null && (FINAL_ERRORS as readonly string[]).includes(reply.err)) {
        return { reply, calls: calls + 1 };
      }
      this.#leader = (server + 1) % count;
      // Every server was tried once: give an election time to finish before the next round.
      if ((calls + 1) % count === 0) await sleep(this.#clock, this.#retryPauseMs);
    }
    throw new Error(
      `Clerk ${this.clientId} gave up ${
        describe(command)
      } after ${this.#maxCallsPerOperation} calls`,
    );
  }

  /** One call; null when it failed in a way that means "try another server". */
  async #call(server: number, command: KvCommand): Promise<KvReply | null> {
    try {
      const reply = await this.#servers[server].call(KV_OPERATION_METHOD, command, {
        timeoutMs: this.#callTimeoutMs,
      });
      return isKvReply(reply) ? reply : null;
    } catch (error) {
      if (error instanceof RpcError && error.kind === "closed") {
        this.#closed = true;
        throw new Error(`Clerk ${this.clientId} lost its connection during ${describe(command)}`, {
          cause: error,
        });
      }
      // A refused handshake (TLS or the cluster secret) fails every server alike: give up now.
      if (!(error instanceof RpcError) || error instanceof RpcAuthenticationError) throw error;
      return null;
    }
  }
}

/** The consistency field of a read: absent for the default, linearizable. */
function level(consistency: Consistency): { consistency?: Consistency } {
  return consistency === "linearizable" ? {} : { consistency };
}

function describe(command: KvCommand): string {
  return `${command.kind} of key ${JSON.stringify(command.key)}`;
}
