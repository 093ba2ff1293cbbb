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
