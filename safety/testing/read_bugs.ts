/**
 * Read bugs to plant in a copy of the Raft core (with `mutantCore` of mutant_core.ts), for tests,
 * and longer hunts over many seeds, that show the safety simulation catches each of them by its
 * "linearizable reads" invariant.
 *
 * @module
 */
import type { Mutation } from "./mutant_core.ts";

/**
 * ReadIndex without the round: a leader answers every read at once with its commit index, lease
 * or not, never confirming that it still leads (it still waits for a commit of its term).
 */
export const READ_WITHOUT_ROUND: readonly Mutation[] = [
  {
    find: `    if (lease && this.#inLeaderLease()) return this.#readDone(asker, this.#commitIndex);
    this.#fileRead(asker, this.#commitIndex);`,
    replace: "    this.#readDone(asker, this.#commitIndex);",
  },
];

/**
 * A read index taken before the leader committed an entry of its term: a new leader's commit
 * index may lag behind what an earlier leader committed (the thesis, section 6.4, step 1).
 */
export const READ_BEFORE_TERM_COMMIT: readonly Mutation[] = [
  {
    find:
      "    if (this.#log.term(this.#commitIndex) !== this.#term) return this.#awaitTermCommit(asker);\n",
    replace: "",
  },
];

/**
 * A lease longer than the followers' vote lease: two election timeouts from a round a majority
 * answered, where followers refuse other candidates for only one.
 */
export const LEASE_TOO_LONG: readonly Mutation[] = [
  {
    find: `    this.#leaseTicks = leaseTicksFor(
      config.electionTimeoutTicks,
      config.maxClockDriftPercent ?? DEFAULT_MAX_CLOCK_DRIFT_PERCENT,
    );`,
    replace: "    this.#leaseTicks = 2 * config.electionTimeoutTicks;",
  },
];

/**
 * A leader that uses its lease again once a leadership transfer is given up, although the
 * transfer's TimeoutNow may still be on its way: its target then campaigns past the voters'
 * lease, wins and commits while the old leader answers from its lease.
 */
export const LEASE_AFTER_TIMEOUT_NOW: readonly Mutation[] = [
  {
    find: "this.#transferTarget === NO_LEADER && !this.#leaseForfeited &&",
    replace: "this.#transferTarget === NO_LEADER &&",
  },
];
