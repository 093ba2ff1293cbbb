import assert from "node:assert/strict";
import { type CatchUpOptions, measureCatchUp } from "./catch_up.ts";

/**
 * A follower 2,000 entries behind, 10 entries per append (200 appends), over links that take
 * 5 ms each way (a 10 ms round trip) and hold back two replies in three by 0.2 to 2.2 s
 * (labrpc's long reordering). Stop-and-wait needs at least one round trip per append: 200 × 10
 * ms = 2,000 ms, before any reply is held back. Half of that is the bound: a window of appends in
 * flight meets it, and so proves the pipelining.
 */
const SCENARIO: Omit<CatchUpOptions, "seed" | "replication"> = {
  backlogEntries: 2_000,
  latencyMs: { min: 5, max: 5 },
  reorderReplies: true,
  maxVirtualMs: 600_000,
};
const ENTRIES_PER_APPEND = 10;
const ROUND_TRIP_MS = 2 * SCENARIO.latencyMs.max;
const STOP_AND_WAIT_MS = (SCENARIO.backlogEntries / ENTRIES_PER_APPEND) * ROUND_TRIP_MS;
const BOUND_MS = STOP_AND_WAIT_MS / 2;

Deno.test("a follower far behind catches up on a slow, reordering network within half a stop-and-wait", async () => {
  for (let seed = 1; seed <= 5; seed++) {
    const result = await measureCatchUp({
      ...SCENARIO,
      seed,
      replication: { maxEntriesPerAppend: ENTRIES_PER_APPEND, maxInflightAppends: 64 },
    });
    assert.ok(
      result.catchUpMs < BOUND_MS,
      `seed ${seed}: caught up in ${result.catchUpMs} ms, not under ${BOUND_MS} ms`,
    );
  }
});

Deno.test("the catch-up bound fails stop-and-wait (a window of one append), even without reordering", async () => {
  // With replies held back for seconds, stop-and-wait takes so long that the leader may lose its
  // quorum check on the way; without reordering it keeps it, and still needs a round trip each.
  const result = await measureCatchUp({
    ...SCENARIO,
    reorderReplies: false,
    seed: 1,
    replication: { maxEntriesPerAppend: ENTRIES_PER_APPEND, maxInflightAppends: 1 },
  });
  assert.ok(result.catchUpMs >= STOP_AND_WAIT_MS, `caught up in ${result.catchUpMs} ms`);
});

Deno.test("on a link that reorders requests, the window adapts: faster than stop-and-wait, without a flood", async () => {
  // Travel times of 1 to 9 ms reorder a burst of appends, and the follower refuses whatever
  // lands past a gap. A window that did not shrink on refusals resends a burst after each: about
  // 100 times the bytes stop-and-wait sends. Halving on refusals keeps it within a few times.
  const scenario = { ...SCENARIO, latencyMs: { min: 1, max: 9 }, reorderReplies: false };
  for (let seed = 1; seed <= 3; seed++) {
    const pipelined = await measureCatchUp({
      ...scenario,
      seed,
      replication: { maxEntriesPerAppend: ENTRIES_PER_APPEND, maxInflightAppends: 64 },
    });
    const stopAndWait = await measureCatchUp({
      ...scenario,
      seed,
      replication: { maxEntriesPerAppend: ENTRIES_PER_APPEND, maxInflightAppends: 1 },
    });
    assert.ok(
      pipelined.catchUpMs < stopAndWait.catchUpMs,
      `seed ${seed}: ${pipelined.catchUpMs} ms, stop-and-wait ${stopAndWait.catchUpMs} ms`,
    );
    assert.ok(
      pipelined.bytes <= 5 * stopAndWait.bytes,
      `seed ${seed}: ${pipelined.bytes} bytes sent, stop-and-wait ${stopAndWait.bytes}`,
    );
  }
});
