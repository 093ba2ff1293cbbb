/**
 * The commit rule's arithmetic: the highest log index that a majority of a group holds. It is a
 * pure function of the members' match indexes, so the rule can be tested from a table
 * (testdata/majority_commit.txt) and a second quorum (joint consensus) can be added beside it.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** How many members of a group of `size` make a majority. */
export function majoritySize(size: number): number {
  assert(Number.isSafeInteger(size) && size > 0, `A group of ${size} members has no majority`);
  return Math.floor(size / 2) + 1;
}

/**
 * The highest index that a majority of the members holds, given each member's match index (the
 * leader's own counted as its durable index). Whether that index may be committed is the
 * caller's rule: Raft commits it only when its entry is of the leader's term (section 5.4.2).
 *
 * @example
 * ```ts
 * majorityIndex([5, 3, 4]); // 4: two of three members hold entry 4
 * majorityIndex([9, 1, 1, 8, 2]); // 2
 * ```
 */
export function majorityIndex(matchIndexes: readonly number[]): number {
  const size = matchIndexes.length;
  const majority = majoritySize(size);
  for (const index of matchIndexes) {
    assert(Number.isSafeInteger(index) && index >= 0, `Match index ${index} is not a log index`);
  }
  const descending = [...matchIndexes].sort((left, right) => right - left);
  return descending[majority - 1];
}

/**
 * The highest index that both configurations of a joint consensus hold by majority (the Raft
 * paper, section 6: during a change, agreement needs separate majorities of the old and the new
 * configuration). With an empty outgoing configuration (no change under way), the incoming one's
 * majority index.
 *
 * @example
 * ```ts
 * jointIndex([5, 4, 1], [5, 1, 1]); // 1: the outgoing majority holds only entry 1
 * jointIndex([5, 4, 1], []); // 4
 * ```
 */
export function jointIndex(incoming: readonly number[], outgoing: readonly number[]): number {
  const index = majorityIndex(incoming);
  return outgoing.length === 0 ? index : Math.min(index, majorityIndex(outgoing));
}

/** Where an election stands. */
export type VoteResult = "won" | "lost" | "pending";

/**
 * Where an election among `voters` stands, given who granted and who refused: won once a
 * majority granted, lost once a majority can no longer grant, pending otherwise. Answers from
 * non-voters count for nothing.
 *
 * @example
 * ```ts
 * voteResult([0, 1, 2], new Set([0, 1]), new Set()); // "won"
 * voteResult([0, 1, 2], new Set([0]), new Set([1, 2])); // "lost"
 * ```
 */
export function voteResult(
  voters: readonly number[],
  granted: ReadonlySet<number>,
  refused: ReadonlySet<number>,
): VoteResult {
  const majority = majoritySize(voters.length);
  let yes = 0;
  let no = 0;
  for (const voter of voters) {
    if (granted.has(voter)) yes++;
    else if (refused.has(voter)) no++;
  }
  if (yes >= majority) return "won";
  return voters.length - no < majority ? "lost" : "pending";
}

/**
 * {@linkcode voteResult} for a joint consensus: won only when both configurations are won, lost
 * when either is lost. An empty outgoing configuration is no change under way.
 */
export function jointVoteResult(
  incoming: readonly number[],
  outgoing: readonly number[],
  granted: ReadonlySet<number>,
  refused: ReadonlySet<number>,
): VoteResult {
  const first = voteResult(incoming, granted, refused);
  if (outgoing.length === 0) return first;
  const second = voteResult(outgoing, granted, refused);
  if (first === "lost" || second === "lost") return "lost";
  return first === "won" && second === "won" ? "won" : "pending";
}
