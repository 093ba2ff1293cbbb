/**
 * The 2025 lab's lock (its Lab 2), built only on versioned Get and Put, without leases or
 * watches (etcd's lock with sessions is mutex.ts): the key holds the holder's name while locked
 * and "" (or nothing) while free. Acquiring writes the name at the version just read, so of two
 * clients that both saw the lock free only one write lands; releasing writes "" at the version
 * read while holding it. A holder that dies holds the lock for ever: there is no lease.
 *
 * A Put that comes back ErrMaybe may or may not have happened (a retransmission found the
 * version moved, perhaps by its own first transmission), so the lock then reads the key again:
 * holding its own name means the acquiring Put happened; no longer holding it means the
 * releasing Put did. Holder names must therefore be unique among the clients of one lock.
 *
 * The version the acquiring Put made is returned as a fencing token: every acquisition makes the
 * key's version grow, so later holders get larger tokens.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Clock, sleep } from "../util/clock.ts";
import { ERR_MAYBE, type PutOutcome } from "../kv/clerk.ts";
import { ERR_NO_KEY, type KvError, OK } from "../kv/protocol.ts";

/** What a lock needs of a key/value client: the 2025 lab's versioned Get and Put. */
export interface VersionedKv {
  /** The value and version of `key`; ErrNoKey, "" and 0 when it does not exist. */
  getVersioned(key: string): Promise<{ value: string; version: number; err: KvError }>;
  /** Sets `key` to `value` if its version is `version` (0: only if it does not exist). */
  putVersioned(key: string, value: string, version: number): Promise<PutOutcome>;
}

/** Default for {@linkcode VersionedLockOptions.retryPauseMs}. */
export const DEFAULT_LOCK_RETRY_PAUSE_MS = 10;

/** Options of a {@linkcode VersionedLock}. */
export interface VersionedLockOptions {
  /** This client's name in the key while it holds the lock; unique among the lock's clients. */
  readonly holder: string;
  /** The clock the pause between looks at a lock someone else holds is measured on. */
  readonly clock: Clock;
  /** The pause before looking again at a lock someone else holds. */
  readonly retryPauseMs?: number;
  /** Reads of the key one acquire or release may make; unbounded by default, as the lab's. */
  readonly attemptsMax?: number;
}

/** A lock on the key `key` of a versioned key/value service; one acquire or release at a time. */
export class VersionedLock {
  /** The key the lock lives in. */
  readonly key: string;
  readonly #kv: VersionedKv;
  readonly #holder: string;
  readonly #clock: Clock;
  readonly #retryPauseMs: number;
  readonly #attemptsMax: number;
  #held = false;

  /** A lock in `key` of `kv`, taken under the name `options.holder`. */
  constructor(kv: VersionedKv, key: string, options: VersionedLockOptions) {
    assert(options.holder !== "", `Cannot lock "${key}" under an empty name: "" means free`);
    this.key = key;
    this.#kv = kv;
    this.#holder = options.holder;
    this.#clock = options.clock;
    this.#retryPauseMs = options.retryPauseMs ?? DEFAULT_LOCK_RETRY_PAUSE_MS;
    this.#attemptsMax = options.attemptsMax ?? Infinity;
    assert(this.#retryPauseMs > 0, `Lock retry pause of ${this.#retryPauseMs} ms is not positive`);
    assert(this.#attemptsMax > 0, `Lock attempts bound of ${this.#attemptsMax} is not positive`);
  }

  /** Whether this client holds the lock (as far as its own acquires and releases go). */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Waits until this client holds the lock; returns the key's version the acquiring Put made,
   * larger than that of any earlier acquisition (a fencing token).
   */
  async acquire(): Promise<number> {
    assert(!this.#held, `Cannot acquire lock "${this.key}": ${this.#holder} holds it already`);
    for (let attempt = 0; attempt < this.#attemptsMax; attempt++) {
      const { value, version } = await this.#read();
      // An earlier attempt's Put came back ErrMaybe and had happened.
      if (value === this.#holder) return this.#acquired(version);
      if (value !== "") {
        await sleep(this.#clock, this.#retryPauseMs);
        continue;
      }
      const outcome = await this.#kv.putVersioned(this.key, this.#holder, version);
      if (outcome === OK) return this.#acquired(version + 1);
      // ErrMaybe: the next read tells whether it happened. ErrVersion or ErrNoKey: someone else
      // changed the key since the read; look again at once.
    }
    throw new Error(
      `Cannot acquire lock "${this.key}" for ${this.#holder}: ${this.#attemptsMax} attempts failed`,
    );
  }

  /** Frees the lock, which this client must hold. */
  async release(): Promise<void> {
    assert(this.#held, `Cannot release lock "${this.key}": ${this.#holder} does not hold it`);
    let outcome: PutOutcome | null = null;
    for (let attempt = 0; attempt < this.#attemptsMax; attempt++) {
      const { value, version } = await this.#read();
      if (value !== this.#holder) {
        // Only a releasing Put that came back ErrMaybe yet happened frees the lock under us.
        assert(
          outcome === ERR_MAYBE,
          `Cannot release lock "${this.key}": ${this.#holder} holds it, yet it holds ` +
            JSON.stringify(value),
        );
        this.#held = false;
        return;
      }
      outcome = await this.#kv.putVersioned(this.key, "", version);
      if (outcome === OK) {
        this.#held = false;
        return;
      }
    }
    throw new Error(
      `Cannot release lock "${this.key}" for ${this.#holder}: ${this.#attemptsMax} attempts failed`,
    );
  }

  #acquired(version: number): number {
    this.#held = true;
    return version;
  }

  /** The key's value ("" when missing) and version. */
  async #read(): Promise<{ value: string; version: number }> {
    const { value, version, err } = await this.#kv.getVersioned(this.key);
    if (err === ERR_NO_KEY) return { value: "", version: 0 };
    if (err !== OK) throw new Error(`Cannot read lock "${this.key}": the Get came back ${err}`);
    return { value, version };
  }
}
