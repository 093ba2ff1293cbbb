/**
 * A counter on the coordination service: a key holding a whole number, incremented by a
 * compare-and-swap on its version inside a transaction. A transaction retried by the clerk gets
 * the reply its first attempt got, so an increment whose answer was lost is not applied twice
 * nor reported as failed (a versioned Put's ErrMaybe), and contention only costs a retry.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clerk } from "../kv/clerk.ts";
import { ERR_NO_KEY } from "../kv/protocol.ts";
import { checkOk } from "./connection.ts";

/** Default for the attempts of {@linkcode increment}: a bound on a counter fought over forever. */
export const DEFAULT_INCREMENT_ATTEMPTS = 1_000;

/** The counter's value: a missing key or an empty value is 0. */
export function counterValue(key: string, value: string): number {
  if (value === "") return 0;
  const number = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(number)) {
    throw new Error(`Counter ${JSON.stringify(key)} holds ${JSON.stringify(value)}, not a number`);
  }
  return number;
}

/** The counter at `key` (0 when missing), read linearizably. */
export async function readCounter(clerk: Clerk, key: string): Promise<number> {
  const { value, err } = await clerk.getVersioned(key);
  return err === ERR_NO_KEY ? 0 : counterValue(key, value);
}

/**
 * Adds `delta` to the counter at `key` and returns its new value; each attempt writes only if
 * the key's version is the one the value was read at. Throws after `attemptsMax` attempts lost
 * to other writers.
 */
export async function increment(
  clerk: Clerk,
  key: string,
  delta = 1,
  attemptsMax = DEFAULT_INCREMENT_ATTEMPTS,
): Promise<number> {
  assert(Number.isSafeInteger(delta), `Cannot add ${delta} to a counter: not a whole number`);
  let { value, version } = await clerk.getVersioned(key);
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const next = counterValue(key, value) + delta;
    assert(Number.isSafeInteger(next), `Counter ${JSON.stringify(key)} would pass ${next}`);
    const reply = await clerk.txn({
      compare: [{ key, target: "version", op: "=", value: version }],
      success: [{ kind: "put", key, value: String(next) }],
      failure: [{ kind: "range", key }],
    });
    checkOk(reply, `increment counter ${JSON.stringify(key)}`);
    if (reply.succeeded) return next;
    // Another writer came first: go on from what it wrote, read in the same transaction.
    const record = reply.responses?.[0]?.records?.[0];
    value = record?.value ?? "";
    version = record?.version ?? 0;
  }
  throw new Error(
    `Cannot increment counter ${
      JSON.stringify(key)
    }: ${attemptsMax} attempts lost to other writers`,
  );
}
