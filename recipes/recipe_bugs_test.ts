/**
 * The recipes' tests catch planted bugs: each test runs with the bug on a seed where it was seen
 * to fail, and must fail for the reason the bug gives. (The key-order mutex fails the lock test
 * on every one of seeds 1 to 30: its first key takes the lock whoever holds it.)
 */
import assert from "node:assert/strict";
import { lockTest } from "./recipes_suite.ts";
import { KeyOrderMutex } from "./testing/key_order_mutex.ts";

Deno.test("the lock test catches a mutex that orders its waiters by key, not create revision", async () => {
  const test = lockTest((connection, session, name) =>
    new KeyOrderMutex(connection, session, name)
  );
  await assert.rejects(
    test.run({ seed: 1, log: () => {} }),
    /lock: (\d+ got token \d+ while|token \d+ came after)/,
  );
});
