import assert from "node:assert/strict";
import { SafetyChecker } from "./checker.ts";
import { emptyReadStats, READS_IN_FLIGHT_MAX, SimulatedReads } from "./reads.ts";

function reads(): {
  reads: SimulatedReads;
  checker: SafetyChecker;
  stats: ReturnType<typeof emptyReadStats>;
} {
  const checker = new SafetyChecker();
  const stats = emptyReadStats();
  return { reads: new SimulatedReads(checker, stats), checker, stats };
}

Deno.test("a read is answered once the service applied up to its index, from the state then", () => {
  const { reads: simulated, checker, stats } = reads();
  const id = simulated.ask(0, "linearizable", 5);
  assert.deepEqual(simulated.outcomes(0, [{ id, index: 5 }], 3), [`read ${id} index 5`]);
  assert.equal(stats.linearizableReadsAnswered, 0, "answered before the service applied entry 5");
  simulated.applied(0, 4);
  assert.equal(stats.linearizableReadsAnswered, 0);
  simulated.applied(0, 6);
  assert.equal(stats.linearizableReadsAnswered, 1);
  assert.deepEqual(checker.violations, []);
});

Deno.test("a linearizable or lease read answered below its floor breaks linearizable reads", () => {
  const { reads: simulated, checker, stats } = reads();
  const lease = simulated.ask(2, "lease", 9);
  // A stale leader gave index 7; the peer had applied 8 already: still below the floor of 9.
  simulated.outcomes(2, [{ id: lease, index: 7 }], 8);
  assert.equal(stats.leaseReadsAnswered, 1);
  assert.equal(checker.violations.length, 1);
  assert.equal(checker.violations[0].invariant, "linearizable reads");
  assert.match(
    checker.violations[0].message,
    /^Peer 2 answered lease read \d+ from its state at entry 8 \(read index 7\); entry 9 was committed when the read was asked$/,
  );
  // A stale index is forgiven when the peer applied past the floor anyway: the answer is fresh.
  const linearizable = simulated.ask(2, "linearizable", 9);
  simulated.outcomes(2, [{ id: linearizable, index: 7 }], 9);
  assert.equal(checker.violations.length, 1);
});

Deno.test("refusals are counted; serializable reads are answered at once and may be stale", () => {
  const { reads: simulated, checker, stats } = reads();
  const id = simulated.ask(1, "lease", 3);
  assert.deepEqual(simulated.outcomes(1, [{ id, index: -1 }], 0), [`read ${id} refused`]);
  assert.equal(stats.leaseReadsRefused, 1);
  assert.match(simulated.serveLocally(1, 2, 3), /entry 2, stale \(floor 3\)/);
  simulated.serveLocally(1, 3, 3);
  assert.equal(stats.serializableReads, 2);
  assert.equal(stats.staleSerializableReads, 1);
  assert.deepEqual(checker.violations, []);
});

Deno.test("a crash loses the peer's reads; an outcome for a read not in flight there is a bug", () => {
  const { reads: simulated, stats } = reads();
  const waitingOutcome = simulated.ask(0, "linearizable", 0);
  const waitingApply = simulated.ask(0, "linearizable", 0);
  const elsewhere = simulated.ask(1, "linearizable", 0);
  simulated.outcomes(0, [{ id: waitingApply, index: 4 }], 0);
  simulated.crashed(0);
  assert.equal(stats.readsLostToCrashes, 2);
  assert.throws(
    () => simulated.outcomes(0, [{ id: waitingOutcome, index: 1 }], 5),
    new RegExp(`Peer 0 gave an outcome for read ${waitingOutcome}, not in flight there`),
  );
  assert.throws(() => simulated.outcomes(0, [{ id: elsewhere, index: 1 }], 5), /not in flight/);
  simulated.outcomes(1, [{ id: elsewhere, index: 1 }], 5);
  assert.throws(() => simulated.outcomes(1, [{ id: elsewhere, index: 1 }], 5), /not in flight/);
});

Deno.test("reads in flight are bounded", () => {
  const { reads: simulated } = reads();
  for (let read = 0; read < READS_IN_FLIGHT_MAX; read++) simulated.ask(read % 3, "lease", 0);
  assert.ok(simulated.full);
  assert.throws(() => simulated.ask(0, "lease", 0), /4096 are in flight/);
  simulated.crashed(0);
  assert.ok(!simulated.full);
});
