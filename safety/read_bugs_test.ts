/**
 * Read bugs planted in a copy of the Raft core (testing/read_bugs.ts), each with seeds on which
 * the safety simulation catches it by its "linearizable reads" invariant; the same seeds run
 * clean with the real core. Each default-profile seed is the first of 1 to 2,000 that catches its
 * bug (of those 2,000: 234 seeds catch the missing round, 1,056 the read before a commit of the
 * term, 12 the long lease). In the mix where pauses dominate, with CheckQuorum, 46 of seeds 1 to
 * 8,000 catch the long lease; 507 is the first where the leader that answers was paused.
 */
import assert from "node:assert/strict";
import { FAULT_MIXES } from "./profile.ts";
import { firstViolation } from "./testing/planted_bug.ts";
import {
  LEASE_AFTER_TIMEOUT_NOW,
  LEASE_TOO_LONG,
  READ_BEFORE_TERM_COMMIT,
  READ_WITHOUT_ROUND,
} from "./testing/read_bugs.ts";

const STALE_READ =
  /^linearizable reads: Peer \d+ answered (?:linearizable|lease) read \d+ from its state at entry \d+ \(read index \d+\); entry \d+ was committed when the read was asked/;

Deno.test("a read index without its round: a leader cut off answers from its commit index while another leader commits", async () => {
  assert.match(await firstViolation({ seed: 3 }, READ_WITHOUT_ROUND), STALE_READ);
});

Deno.test("a read index taken before the leader committed an entry of its term lags what the last leader committed", async () => {
  assert.match(await firstViolation({ seed: 1 }, READ_BEFORE_TERM_COMMIT), STALE_READ);
});

Deno.test("a lease of two election timeouts: a leader cut off answers lease reads after another leader commits", async () => {
  const violation = await firstViolation({ seed: 159 }, LEASE_TOO_LONG);
  assert.match(violation, /^linearizable reads: Peer \d+ answered lease read/);
});

Deno.test("a lease of two election timeouts: a leader cut off and paused past an election timeout trusts it once resumed", async () => {
  // The mix where pauses dominate, with CheckQuorum (lease reads need it).
  const profile = { checkQuorum: true, faultMix: FAULT_MIXES[6] };
  const run = { seed: 507, profile, traceLength: 300 };
  const violation = await firstViolation(run, LEASE_TOO_LONG);
  assert.match(violation, /^linearizable reads: Peer 0 answered lease read/);
  assert.match(violation, /pause peer 0 for \d+ ticks/);
  assert.match(violation, /pause of peer 0 ends/);
});

Deno.test("a lease used again after a transfer was given up: the late TimeoutNow elects its target, which commits while the old leader answers from its lease", async () => {
  // Found by `dsys test sim --seeds 100000`: a new leader that appends an entry at once
  // (noOpOnElection) commits before the old leader's next lease read.
  const run = { seed: 1684777307, profile: { noOpOnElection: true } };
  const violation = await firstViolation(run, LEASE_AFTER_TIMEOUT_NOW);
  assert.match(violation, /^linearizable reads: Peer 0 answered lease read/);
  assert.match(violation, /deliver TimeoutNow 0->2/);
});
