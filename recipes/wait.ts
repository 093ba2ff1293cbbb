/**
 * Waiting for a change: a watch of a key or range from a revision until an event the caller
 * looks for, given up when the caller's session ends. Recipes wait this way instead of polling.
 *
 * @module
 */
import type { KeyRange } from "../kv/store.ts";
import { WatchCompactedError } from "../kv/watcher.ts";
import type { WatchEvent } from "../kv/watch_protocol.ts";
import type { KvConnection } from "./connection.ts";
import type { Session } from "./session.ts";

/** What may end a wait before the event comes. */
export interface WaitOptions {
  /**
   * The waiter's session: the wait throws the session's error once it is known to have ended
   * (looked at after every poll, which a server holds at most the watcher's wait).
   */
  readonly session?: Session;
  /** Looked at after every poll: once it holds, the wait ends with null. */
  readonly stop?: () => boolean;
}

/**
 * The first event of `range` from revision `fromRevision` on that `wanted` accepts; null when
 * the watch fell behind the servers' history (the caller reads the state again and waits from
 * there) or `options.stop()` came to hold.
 */
export async function waitForEvent(
  connection: KvConnection,
  range: KeyRange,
  fromRevision: number,
  wanted: (event: WatchEvent) => boolean,
  options: WaitOptions = {},
): Promise<WatchEvent | null> {
  const { session, stop } = options;
  const watcher = connection.makeWatcher(range, fromRevision);
  try {
    // As long as the awaited change takes: each pass is one poll, which a server holds a while.
    for (;;) {
      session?.check();
      if (stop?.() === true) return null;
      const found = (await watcher.next()).find(wanted);
      if (found !== undefined) return found;
    }
  } catch (error) {
    session?.check();
    if (error instanceof WatchCompactedError) return null;
    throw error;
  } finally {
    watcher.close();
  }
}
