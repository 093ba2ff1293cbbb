/**
 * A planted bug for the lock's tests: a mutex that orders its queue by key instead of comparing
 * create revisions. Its waiters wait for the key just before theirs in key order, and the one
 * whose key (its lease, in hex) sorts first takes the lock at once, whoever holds it.
 *
 * @module
 */
import type { KeyRecord } from "../../kv/store.ts";
import { Mutex } from "../mutex.ts";

/** The mutex with the bug. */
export class KeyOrderMutex extends Mutex {
  /** The greatest key below the waiter's own, whatever the create revisions say. */
  protected override predecessor(
    records: readonly KeyRecord[],
    revision: number,
  ): KeyRecord | null {
    const mine = records.find((record) => record.createRevision === revision);
    let previous: KeyRecord | null = null;
    for (const record of records) {
      if (mine === undefined || record.key >= mine.key) continue;
      if (previous === null || record.key > previous.key) previous = record;
    }
    return previous;
  }
}
