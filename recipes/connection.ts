/**
 * What the recipes need of the key/value service: clerks (each runs one operation at a time, so
 * a recipe that renews a lease while it waits for a key needs two), watchers, and time. The lab
 * harness gives simulated ones; `dsys kv` gives clerks and watchers over TCP. And the paged,
 * one-revision read of a range that recipes and the command line share.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Clerk, Operation } from "../kv/clerk.ts";
import type { Consistency } from "../kv/command.ts";
import type { KeyRange, KeyRecord } from "../kv/store.ts";
import type { Watcher } from "../kv/watcher.ts";
import { type KvReply, OK } from "../kv/protocol.ts";

/** A way to reach the service: the recipes make their own clerks and watchers through it. */
export interface KvConnection {
  /** The clock the recipes time leases and pauses on. */
  readonly clock: Clock;
  /** A new clerk of every server. */
  makeClerk(): Clerk;
  /** A new watcher of `range` from revision `fromRevision` (≥ 1). */
  makeWatcher(range: KeyRange, fromRevision: number): Watcher;
}

/** Sends one operation until it is answered: a clerk's `send`, or the command line's. */
export type SendOperation = (operation: Operation) => Promise<KvReply>;

/** One page of a range read, and the revision every page is read at. */
export interface RangePage {
  /** The page's keys, in key order. */
  readonly records: KeyRecord[];
  /** The revision every page of the read is at. */
  readonly revision: number;
}

/** Options of {@linkcode rangePages}. */
export interface RangeOptions {
  /** Read the keys as they stood at this revision; absent: now. */
  readonly revision?: number;
  /** The most keys in all; absent: every key of the range. */
  readonly limit?: number;
  /** How fresh the first page must be (later pages are read at its revision); default linearizable. */
  readonly consistency?: Consistency;
}

/**
 * The keys of `[key, end)` ("" for no end) a page at a time, read through `send`, all at one
 * revision: the first page
 * now (or at `options.revision`), the later ones at the first one's revision, so that the pages
 * together are the range as it stood at one moment. Throws a sentence when the service refuses
 * (a revision compacted away or not reached yet).
 */
export async function* rangePages(
  send: SendOperation,
  range: Required<KeyRange>,
  options: RangeOptions = {},
): AsyncGenerator<RangePage> {
  let from = range.key;
  let revision = options.revision ?? 0;
  let left = options.limit ?? Infinity;
  // Bounded: every pass returns at least one key of the range after the last, or stops.
  while (left > 0) {
    const reply = await send({
      kind: "range",
      key: from,
      value: "",
      end: range.end,
      ...(revision === 0 ? {} : { revision }),
      ...(Number.isFinite(left) ? { limit: left } : {}),
      ...(revision === 0 && options.consistency !== undefined &&
          options.consistency !== "linearizable"
        ? { consistency: options.consistency }
        : {}),
    });
    checkOk(reply, `read the keys from ${JSON.stringify(from)}${atRevision(revision)}`);
    if (revision === 0) revision = reply.revision ?? 0;
    const records = reply.records ?? [];
    yield { records, revision };
    left -= records.length;
    if (!reply.more || records.length === 0) return;
    from = `${records[records.length - 1].key}\0`;
  }
}

/** Every key of `range` at one revision; more than `keysMax` is an error naming the range. */
export async function readRange(
  clerk: Clerk,
  range: Required<KeyRange>,
  keysMax: number,
): Promise<RangePage> {
  const records: KeyRecord[] = [];
  let revision = 0;
  const send = (operation: Operation) => clerk.send(operation);
  for await (const page of rangePages(send, range, { limit: keysMax + 1 })) {
    records.push(...page.records);
    revision = page.revision;
  }
  if (records.length > keysMax) {
    throw new Error(
      `Cannot read the keys from ${JSON.stringify(range.key)}: there are more than ${keysMax}`,
    );
  }
  return { records, revision };
}

/** Throws a sentence naming `what` unless `reply` is OK. */
export function checkOk(reply: KvReply, what: string): void {
  if (reply.err !== OK) throw new Error(`Cannot ${what}: the service answered ${reply.err}`);
}

function atRevision(revision: number): string {
  return revision === 0 ? "" : ` at revision ${revision}`;
}
