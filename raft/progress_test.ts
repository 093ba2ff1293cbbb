import assert from "node:assert/strict";
import { Progress } from "./progress.ts";

Deno.test("a new progress starts at the leader's end, matching nothing, with nothing in flight", () => {
  const progress = new Progress(8);
  assert.deepEqual(progress.view(), { nextIndex: 8, matchIndex: 0, inflight: false });
});

Deno.test("entries in flight stay in flight until acknowledged up to their last index", () => {
  const progress = new Progress(1);
  progress.sentEntries(5);
  assert.equal(progress.inflight, true);
  assert.equal(progress.acknowledge(3), true);
  assert.deepEqual(progress.view(), { nextIndex: 4, matchIndex: 3, inflight: true });
  assert.equal(progress.acknowledge(5), true);
  assert.deepEqual(progress.view(), { nextIndex: 6, matchIndex: 5, inflight: false });
});

Deno.test("a late or repeated acknowledgement raises nothing", () => {
  const progress = new Progress(1);
  progress.sentEntries(4);
  progress.acknowledge(4);
  assert.equal(progress.acknowledge(2), false);
  assert.equal(progress.acknowledge(4), false);
  assert.deepEqual(progress.view(), { nextIndex: 5, matchIndex: 4, inflight: false });
});

Deno.test("a snapshot in flight clears once the follower holds its index", () => {
  const progress = new Progress(3);
  progress.sentSnapshot(10);
  assert.equal(progress.acknowledge(10), true);
  assert.deepEqual(progress.view(), { nextIndex: 11, matchIndex: 10, inflight: false });
});

Deno.test("a rejection moves next back to the hint, never to match or below", () => {
  const progress = new Progress(20);
  progress.sentEntries(25);
  assert.equal(progress.rejected(12), true);
  assert.deepEqual(progress.view(), { nextIndex: 12, matchIndex: 0, inflight: false });
  const behind = new Progress(20);
  behind.acknowledge(5);
  behind.sentEntries(24);
  assert.equal(behind.rejected(3), true);
  assert.deepEqual(behind.view(), { nextIndex: 6, matchIndex: 5, inflight: false });
});

Deno.test("a rejection that would not move next back answers an older request and changes nothing", () => {
  const progress = new Progress(10);
  progress.sentEntries(12);
  assert.equal(progress.rejected(10), false);
  assert.equal(progress.rejected(11), false);
  assert.deepEqual(progress.view(), { nextIndex: 10, matchIndex: 0, inflight: true });
});

Deno.test("progress refuses sends that break its invariants", () => {
  assert.throws(() => new Progress(0), /Cannot track a follower from entry 0/);
  const progress = new Progress(6);
  assert.throws(
    () => progress.sentEntries(5),
    /Cannot send entries up to 5: the follower's next entry is 6/,
  );
  assert.throws(() => progress.sentSnapshot(4), /Cannot send snapshot 4/);
});
