/**
 * Membership bugs to plant in a copy of the Raft core (with `mutantCore` of mutant_core.ts), for
 * tests, and longer hunts over many seeds, that show the safety simulation catches each of them.
 *
 * @module
 */
import type { Mutation } from "./mutant_core.ts";

/** The refusal of a membership change while another is uncommitted. */
const ONE_IN_FLIGHT = "    if (this.#membershipIndex > this.#commitIndex) {";

/**
 * A membership is in force only once committed, not once appended: every peer, the leader
 * included, keeps using the last committed one. One change stays in flight at a time.
 */
export const IN_FORCE_ONCE_COMMITTED: readonly Mutation[] = [
  // The log is scanned for the membership only up to the commit index, and again on commit.
  {
    find: "    const { membership, index } = this.#latestMembershipAt(this.#log.lastIndex);",
    replace:
      "    const { membership, index } = this.#latestMembershipAt(Math.min(this.#log.lastIndex, this.#commitIndex));",
  },
  {
    find: "    this.#commitIndex = index;\n",
    replace: "    this.#commitIndex = index;\n    this.#reloadMembership();\n",
  },
  // A leader's own change waits for its commit too.
  {
    find: "    this.#setMembership(membership, entry.index);",
    replace: "    this.#reloadMembership();",
  },
  // Still one change in flight: a membership entry in the log past the one in force.
  {
    find: ONE_IN_FLIGHT,
    replace: "    if (this.#membershipAt(this.#log.lastIndex) !== this.#membership) {",
  },
  // A commit may put in force a membership without the peer whose acknowledgement it counted.
  {
    find: '    if (this.#role !== "leader") return;\n    if (peer === this.#transferTarget',
    replace:
      '    if (this.#role !== "leader" || !this.#progress.has(peer)) return;\n    if (peer === this.#transferTarget',
  },
];

/** Two changes in flight: a change is taken while the last one is not committed yet. */
export const TWO_IN_FLIGHT: readonly Mutation[] = [
  { find: ONE_IN_FLIGHT, replace: "    if (false) {" },
];

/**
 * A removed peer still counts toward commits: the leader keeps tracking (and replicating to)
 * the peers it removed, and counts their acknowledgements beside the voters'.
 */
export const REMOVED_STILL_COUNTED: readonly Mutation[] = [
  { find: "      if (!members.includes(peer)) this.#progress.delete(peer);", replace: "" },
  {
    find: "        others.length === this.#progress.size && others.every(",
    replace: "        others.every(",
  },
  {
    find: "    const matchIndexes = this.#membership.voters.map((voter) =>",
    replace: `    const removedPeers = [...this.#progress.keys()].filter((peer) =>
      !membersOf(this.#membership).includes(peer)
    );
    const matchIndexes = [...this.#membership.voters, ...removedPeers].map((voter) =>`,
  },
];
