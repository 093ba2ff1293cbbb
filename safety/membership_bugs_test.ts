/**
 * Membership bugs planted in a copy of the Raft core (testing/membership_bugs.ts), each with a
 * seed on which the safety simulation catches it and the invariant it breaks; the same seeds run
 * clean with the real core. Each seed is the first of 1 to 20,000 that catches its bug by a
 * safety invariant.
 */
import assert from "node:assert/strict";
import { mutantCore } from "./testing/mutant_core.ts";
import { firstViolation } from "./testing/planted_bug.ts";
import {
  IN_FORCE_ONCE_COMMITTED,
  REMOVED_STILL_COUNTED,
  TWO_IN_FLIGHT,
} from "./testing/membership_bugs.ts";

const LACKS_COMMITTED_ENTRY = /^leader completeness: Leader \d+ of term \d+ lacks entry \d+/;

Deno.test("a membership in force only once committed: a peer on the last committed one is elected without an entry the group committed", async () => {
  assert.match(await firstViolation({ seed: 148 }, IN_FORCE_ONCE_COMMITTED), LACKS_COMMITTED_ENTRY);
});

Deno.test("two membership changes in flight: a leader cut off commits alone, and the others elect a leader without the entry", async () => {
  assert.match(await firstViolation({ seed: 395 }, TWO_IN_FLIGHT), LACKS_COMMITTED_ENTRY);
});

Deno.test("a removed peer still counted toward commits: the leader commits with removed peers, and the voters elect a leader without the entry", async () => {
  assert.match(await firstViolation({ seed: 1102 }, REMOVED_STILL_COUNTED), LACKS_COMMITTED_ENTRY);
});

Deno.test("a mutation whose passage is not in the core fails loudly, not as a core without the bug", async () => {
  await assert.rejects(
    () => mutantCore([{ find: "a passage the core does not have", replace: "" }]),
    /is in raft\/core.ts 0 times, not once/,
  );
});
