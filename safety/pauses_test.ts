import assert from "node:assert/strict";
import type { Message } from "../raft/messages.ts";
import { HELD_MESSAGES_MAX, Pauses } from "./pauses.ts";

function readIndex(from: number, to: number, readId: number): Message {
  return { type: "ReadIndex", from, to, term: 1, readId };
}

Deno.test("a paused peer holds messages in order, and its timer and persist end, until it resumes", () => {
  const pauses = new Pauses();
  const id = pauses.start(2);
  assert.ok(pauses.isPaused(2) && pauses.isCurrent(2, id) && !pauses.isPaused(1));
  assert.deepEqual(pauses.current(), [{ peer: 2, id }]);
  assert.ok(pauses.hold(readIndex(0, 2, 1)));
  assert.ok(pauses.hold(readIndex(1, 2, 2)));
  pauses.holdTick(2);
  pauses.holdPersistEnd(2);
  const pause = pauses.end(2);
  assert.deepEqual(pause.held.map((message) => message.from), [0, 1]);
  assert.ok(pause.tickDue && pause.persistDone);
  assert.ok(!pauses.isPaused(2) && !pauses.isCurrent(2, id));
  assert.throws(() => pauses.holdTick(2), /Peer 2 is not paused/);
});

Deno.test("a pause's end is stale once the peer resumed or crashed, even if paused again", () => {
  const pauses = new Pauses();
  const first = pauses.start(0);
  assert.throws(() => pauses.start(0), /Peer 0 cannot pause: it is paused already/);
  pauses.hold(readIndex(1, 0, 1));
  assert.equal(pauses.crashed(0), 1);
  const second = pauses.start(0);
  assert.ok(!pauses.isCurrent(0, first) && pauses.isCurrent(0, second));
});

Deno.test("a paused peer's buffer is bounded: beyond it messages are lost", () => {
  const pauses = new Pauses();
  pauses.start(1);
  for (let message = 0; message < HELD_MESSAGES_MAX; message++) {
    assert.ok(pauses.hold(readIndex(0, 1, message)));
  }
  assert.ok(!pauses.hold(readIndex(0, 1, HELD_MESSAGES_MAX)));
  assert.equal(pauses.end(1).held.length, HELD_MESSAGES_MAX);
});
