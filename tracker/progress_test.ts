import assert from "node:assert/strict";
import { Progress, type WindowLimits } from "./progress.ts";

const WIDE: WindowLimits = { appendsMax: 4, bytesMax: 1_000_000 };

/** A follower known to match up to `matchIndex`, streaming. */
function replicating(matchIndex: number, limits: WindowLimits = WIDE): Progress {
  const progress = new Progress(matchIndex + 1, limits);
  progress.acknowledge(matchIndex);
  assert.equal(progress.state, "replicate");
  return progress;
}

Deno.test("a new progress probes from the leader's end, matching nothing, with nothing in flight", () => {
  const progress = new Progress(8, WIDE);
  assert.deepEqual(progress.view(), {
    state: "probe",
    nextIndex: 8,
    matchIndex: 0,
    inflight: false,
    inflightAppends: 0,
    windowAppends: 4,
  });
  assert.equal(progress.isPaused(), false);
});

Deno.test("probe: one append at a time, paused until its answer or the next heartbeat", () => {
  const progress = new Progress(5, WIDE);
  progress.sentEntries(7, 30);
  assert.equal(progress.isPaused(), true);
  assert.equal(progress.nextIndex, 5, "probe does not move next on send");
  assert.throws(() => progress.sentEntries(8, 1), /the follower is paused/);
  progress.heartbeat(3);
  assert.equal(progress.isPaused(), false, "a heartbeat lets the probe go again");
});

Deno.test("probe → replicate when the follower's log matches right before next", () => {
  const progress = new Progress(5, WIDE);
  progress.sentEntries(7, 30);
  assert.equal(progress.acknowledge(7), true);
  assert.deepEqual(progress.view(), {
    state: "replicate",
    nextIndex: 8,
    matchIndex: 7,
    inflight: false,
    inflightAppends: 0,
    windowAppends: 4,
  });
});

Deno.test("probe stays probe on an old success that falls short of next", () => {
  const progress = new Progress(10, WIDE);
  progress.sentEntries(12, 30);
  progress.acknowledge(4);
  assert.deepEqual([progress.state, progress.matchIndex, progress.nextIndex], ["probe", 4, 10]);
  assert.equal(progress.isPaused(), true);
});

Deno.test("replicate: next advances on send and the window bounds appends in flight", () => {
  const progress = replicating(3);
  progress.sentEntries(5, 10);
  progress.sentEntries(9, 10);
  assert.deepEqual([progress.nextIndex, progress.view().inflightAppends], [10, 2]);
  progress.sentEntries(10, 10);
  progress.sentEntries(12, 10);
  assert.equal(progress.isPaused(), true, "four appends fill a window of four");
  assert.throws(() => progress.sentEntries(13, 1), /the follower is paused/);
  progress.acknowledge(9);
  assert.deepEqual([progress.view().inflightAppends, progress.isPaused()], [2, false]);
  progress.acknowledge(12);
  assert.deepEqual(progress.view(), {
    state: "replicate",
    nextIndex: 13,
    matchIndex: 12,
    inflight: false,
    inflightAppends: 0,
    windowAppends: 4,
  });
});

Deno.test("replicate: the window also fills by bytes", () => {
  const progress = replicating(0, { appendsMax: 100, bytesMax: 1_000 });
  progress.sentEntries(1, 600);
  assert.equal(progress.isPaused(), false);
  progress.sentEntries(2, 600);
  assert.equal(progress.isPaused(), true);
  progress.acknowledge(1);
  assert.equal(progress.isPaused(), false);
});

Deno.test("replicate → probe on a rejection of an append past match, from the hint", () => {
  const progress = replicating(3);
  progress.sentEntries(8, 10);
  progress.sentEntries(12, 10);
  assert.equal(progress.rejected(8, 6), true);
  assert.deepEqual(progress.view(), {
    state: "probe",
    nextIndex: 6,
    matchIndex: 3,
    inflight: false,
    inflightAppends: 0,
    windowAppends: 2,
  });
});

Deno.test("replicate ignores a stale rejection: one at or below match", () => {
  const progress = replicating(3);
  progress.sentEntries(8, 10);
  progress.acknowledge(8);
  progress.sentEntries(10, 10);
  assert.equal(progress.rejected(5, 2), false);
  assert.equal(progress.rejected(8, 2), false);
  assert.deepEqual([progress.state, progress.nextIndex, progress.view().inflightAppends], [
    "replicate",
    11,
    1,
  ]);
});

Deno.test("probe ignores a rejection that does not answer its current probe", () => {
  const progress = new Progress(10, WIDE);
  progress.sentEntries(12, 10);
  assert.equal(progress.rejected(6, 3), false, "an older probe's refusal");
  assert.equal(progress.nextIndex, 10);
  assert.equal(progress.rejected(9, 4), true);
  assert.deepEqual([progress.state, progress.nextIndex, progress.isPaused()], ["probe", 4, false]);
});

Deno.test("a rejection never moves next to match or below, nor past the refused index", () => {
  const progress = new Progress(20, WIDE);
  progress.acknowledge(5);
  assert.equal(progress.rejected(19, 2), true);
  assert.equal(progress.nextIndex, 6, "not below match + 1");
  const other = new Progress(20, WIDE);
  assert.equal(other.rejected(19, 40), true);
  assert.equal(other.nextIndex, 19, "a hint past the refused index is capped");
});

Deno.test("snapshot: paused until acknowledged, then replicate from after it", () => {
  const progress = new Progress(3, WIDE);
  progress.sentSnapshot(10);
  assert.deepEqual([progress.state, progress.isPaused(), progress.view().inflight], [
    "snapshot",
    true,
    true,
  ]);
  assert.equal(progress.rejected(2, 1), false, "no append is out, so no refusal is current");
  progress.acknowledge(10);
  assert.deepEqual([progress.state, progress.nextIndex, progress.matchIndex], [
    "replicate",
    11,
    10,
  ]);
});

Deno.test("snapshot: times out after the given heartbeats, back to probe", () => {
  const progress = new Progress(3, WIDE);
  progress.acknowledge(2);
  progress.sentSnapshot(10);
  progress.heartbeat(3);
  progress.heartbeat(3);
  assert.equal(progress.state, "snapshot");
  progress.heartbeat(3);
  assert.deepEqual([progress.state, progress.nextIndex, progress.isPaused()], ["probe", 3, false]);
});

Deno.test("replicate falls back to snapshot when the entries it needs are compacted", () => {
  const progress = replicating(3);
  progress.sentEntries(5, 10);
  progress.sentSnapshot(20);
  assert.deepEqual([progress.state, progress.view().inflightAppends], ["snapshot", 0]);
});

Deno.test("progress refuses changes that break its invariants", () => {
  assert.throws(() => new Progress(0, WIDE), /Cannot track a follower from entry 0/);
  const progress = new Progress(6, WIDE);
  assert.throws(() => progress.sentEntries(5, 1), /Cannot send entries up to 5/);
  assert.throws(() => progress.sentSnapshot(4), /Cannot send snapshot 4/);
});

Deno.test("replicate → probe after a timeout of silence; any answer restarts the count", () => {
  const progress = replicating(3);
  progress.sentEntries(5, 10);
  progress.heartbeat(3);
  progress.heartbeat(3);
  progress.acknowledge(4);
  progress.heartbeat(3);
  progress.heartbeat(3);
  assert.equal(progress.state, "replicate", "an answer restarted the count");
  progress.heartbeat(3);
  assert.deepEqual([progress.state, progress.nextIndex, progress.view().inflightAppends], [
    "probe",
    5,
    0,
  ]);
});

Deno.test("the window halves on each refusal that sends the follower back to probe, and widens by one per acknowledgement", () => {
  const progress = replicating(0, { appendsMax: 8, bytesMax: 1_000_000 });
  assert.equal(progress.view().windowAppends, 8);
  progress.sentEntries(2, 1);
  assert.equal(progress.rejected(1, 1), true);
  assert.equal(progress.view().windowAppends, 4);
  progress.acknowledge(0); // the probe at the follower's end succeeds: replicate again
  progress.sentEntries(1, 1);
  progress.sentEntries(2, 1);
  progress.sentEntries(3, 1);
  progress.sentEntries(4, 1);
  assert.equal(progress.isPaused(), true, "a window of 4");
  progress.acknowledge(1);
  assert.equal(progress.view().windowAppends, 5);
  for (let index = 2; index <= 10; index++) progress.acknowledge(index);
  assert.equal(progress.view().windowAppends, 8, "never past its bound");
  for (let refusal = 0; refusal < 5; refusal++) {
    progress.sentEntries(progress.nextIndex, 1);
    progress.rejected(progress.nextIndex - 1, progress.nextIndex - 1);
    progress.acknowledge(progress.nextIndex - 1);
  }
  assert.equal(progress.view().windowAppends, 1, "never below one");
});
