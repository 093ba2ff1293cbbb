import assert from "node:assert/strict";
import { countLeading, leaseTicksFor, ReadRounds } from "./read_rounds.ts";

const VOTERS = [0, 1, 2, 3, 4];

/** A read of `id` from the leader (peer 0), asked at `askedTick`, with read index 10. */
function read(id: number, askedTick = 0) {
  return { id, from: 0, index: 10, askedTick };
}

Deno.test("leaseTicksFor: the followers' guaranteed wait, shrunk by the drift, less a tick", () => {
  const cases: [number, number, number][] = [
    // [election timeout ticks, drift %, lease ticks]
    [30, 10, 25],
    [30, 0, 28],
    [30, 50, 18],
    [10, 10, 7],
    [2, 0, 0],
  ];
  for (const [timeout, drift, lease] of cases) {
    assert.equal(leaseTicksFor(timeout, drift), lease, `timeout ${timeout}, drift ${drift} %`);
  }
});

Deno.test("countLeading counts up to the first item that does not lead", () => {
  const small = (n: number) => n < 3;
  assert.equal(countLeading([1, 2, 5, 1], small), 2);
  assert.equal(countLeading([5, 1], small), 0);
  assert.equal(countLeading([1, 2], small), 2);
  assert.equal(countLeading([], small), 0);
});

Deno.test("reads share a round until its appends are handed out", () => {
  const rounds = new ReadRounds(10);
  assert.equal(rounds.startRound(1), true);
  assert.ok(rounds.add(read(1)));
  assert.equal(rounds.startRound(1), false);
  assert.ok(rounds.add(read(2)));
  rounds.handedOut();
  assert.throws(() => rounds.add(read(3)), /its appends may have left/);
  assert.equal(rounds.startRound(2), true);
  assert.ok(rounds.add(read(3)));
  assert.deepEqual([rounds.round, rounds.size], [2, 3]);
});

Deno.test("a round echoed by a majority, the leader included, confirms it and every earlier one", () => {
  const rounds = new ReadRounds(10);
  rounds.startRound(5);
  rounds.add(read(1));
  rounds.handedOut();
  rounds.startRound(7);
  rounds.add(read(2));
  assert.equal(rounds.echoed(1, 2), true);
  // The leader and peer 1: two of five.
  assert.deepEqual(rounds.confirm(VOTERS, 0), []);
  assert.equal(rounds.leaseStartTick, null);
  // Echoes of a round not started, or below one already seen, count for nothing.
  assert.equal(rounds.echoed(2, 9), false);
  assert.equal(rounds.echoed(1, 1), false);
  rounds.echoed(2, 2);
  assert.deepEqual(rounds.confirm(VOTERS, 0).map((confirmed) => confirmed.id), [1, 2]);
  assert.equal(rounds.leaseStartTick, 7);
  assert.equal(rounds.size, 0);
});

Deno.test("a lone voter confirms a read that joins a round it has confirmed already", () => {
  const rounds = new ReadRounds(10);
  rounds.startRound(1);
  assert.deepEqual(rounds.confirm([0], 0), []);
  assert.equal(rounds.startRound(1), false);
  rounds.add(read(1));
  assert.deepEqual(rounds.confirm([0], 0).map((confirmed) => confirmed.id), [1]);
});

Deno.test("the lease starts at the latest confirmed round's start, never later", () => {
  const rounds = new ReadRounds(10);
  rounds.startRound(3);
  rounds.handedOut();
  rounds.startRound(8);
  rounds.echoed(1, 1);
  rounds.echoed(2, 1);
  rounds.confirm(VOTERS, 0);
  assert.equal(rounds.leaseStartTick, 3);
  rounds.echoed(1, 2);
  rounds.echoed(3, 2);
  rounds.confirm(VOTERS, 0);
  assert.equal(rounds.leaseStartTick, 8);
});

Deno.test("a full queue refuses; expiry takes the oldest reads; clear ends the term", () => {
  const rounds = new ReadRounds(2);
  rounds.startRound(0);
  assert.ok(rounds.add(read(1, 0)));
  assert.ok(rounds.add(read(2, 4)));
  assert.equal(rounds.add(read(3, 5)), false);
  assert.deepEqual(rounds.expire(3).map((expired) => expired.id), [1]);
  assert.deepEqual(rounds.expire(3), []);
  rounds.echoed(1, 1);
  assert.deepEqual(rounds.clear().map((cleared) => cleared.id), [2]);
  assert.deepEqual([rounds.round, rounds.size, rounds.leaseStartTick], [0, 0, null]);
  // A new term's rounds start over: old echoes are forgotten.
  rounds.startRound(9);
  rounds.add(read(4, 9));
  assert.deepEqual(rounds.confirm([0, 1, 2], 0), []);
});
