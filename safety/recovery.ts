/**
 * How long a healed group may take to make progress in the safety simulation: a deadline
 * derived from the backlog its members must catch up on, so that a run that makes no progress
 * fails by then, and a slow run is not excused by a generous constant.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { RaftCore } from "../raft/core.ts";
import { isVoter } from "../raft/membership.ts";
import { CALM_WEATHER, type SafetySimulationProfile, slowestTickUnits } from "./profile.ts";

/** Elections the healed group is allowed before one leader stays (split votes, stale votes). */
const RECOVERY_ELECTIONS = 10;

/** What one peer's log held when the group was healed: what bounds its catch-up. */
export interface HealedLog {
  /** The peer's id. */
  readonly id: number;
  /** Its commit index. */
  readonly commitIndex: number;
  /** Its last index. */
  readonly lastIndex: number;
  /** The last index of each run of one term among its entries, ascending. */
  readonly runEnds: readonly number[];
}

/** What the group held when it was healed. */
export interface HealedGroup {
  /** Every running peer's log. */
  readonly logs: readonly HealedLog[];
  /** Units until the last message sent before healing is delivered. */
  readonly staleUnits: number;
  /** Whether a peer's slow persist, begun before healing, ends in a crash. */
  readonly crashPending: boolean;
  /**
   * Whether some leader had appended its own removal, not yet committed: it commits the fresh
   * entry, steps down once that commits its removal, and the group elects another leader, which
   * commits a fresh entry of its own.
   */
  readonly leaderRemovingItself: boolean;
}

/** What `cores` hold at healing, with what the driver knows of messages and persists. */
export function healedGroup(
  cores: readonly RaftCore[],
  pending: Pick<HealedGroup, "staleUnits" | "crashPending">,
): HealedGroup {
  return {
    logs: cores.map(healedLog),
    ...pending,
    leaderRemovingItself: cores.some((core) =>
      core.role === "leader" && !isVoter(core.membership, core.id)
    ),
  };
}

function healedLog(core: RaftCore): HealedLog {
  const log = core.log;
  const runEnds: number[] = [];
  // Bounded by the log's length.
  for (let index = log.firstIndex; index <= log.lastIndex; index++) {
    if (index === log.lastIndex || log.term(index + 1) !== log.term(index)) runEnds.push(index);
  }
  return { id: core.id, commitIndex: core.commitIndex, lastIndex: log.lastIndex, runEnds };
}

/**
 * How long the healed group may take to elect a leader, commit a fresh entry and apply it at
 * every one of `members` (the membership the fresh entry is committed in; peers outside it need
 * not apply it), from the backlog at healing. In units, with D the calm weather's largest
 * message delay, P the longest persist (slow ones end within `maxPersistUnits`), T the election
 * timeout and H the heartbeat interval (both in ticks, each as long as the slowest peer's):
 *
 * - a round trip takes at most RTT = 2D + 2P: the request, the follower's persist before it
 *   answers, the answer, and the leader's own persist, which holds back its next Ready;
 * - messages sent before healing arrive by the latest delivery already queued (L units from
 *   healing); one of them may start a needless election;
 * - a leader is elected within `RECOVERY_ELECTIONS` elections, each at most 2T ticks of
 *   timeout, a round trip of pre-votes and a round trip of votes, once a peer's vote lease
 *   (CheckQuorum: T ticks since it last heard from a leader) has run out;
 * - each member is then probed back to where its log matches the leader's, one term per round
 *   trip at most (the conflict hints skip a term each), each probe waiting at most a heartbeat
 *   interval: `termRuns` × (H + RTT), with `termRuns` the distinct terms of every member's log
 *   above the members' lowest commit index;
 * - then the entries it lacks, at most `maxEntriesPerAppend` (A) per append, one append per
 *   round trip at worst (a window shrunk to one): ⌈N/A⌉ × RTT, N the longest log minus the
 *   members' lowest commit index, plus the fresh entry's own round trip and a heartbeat to
 *   learn it committed;
 * - members catch up in parallel; each applies at most `maxEntriesPerReady` (R) entries per
 *   Ready and a Ready may take P: ⌈N/R⌉ × P;
 * - a snapshot instead of entries counts as one append;
 * - a leader that removed itself commits the fresh entry, then steps down (the election is
 *   among those counted): the next leader's fresh entry takes a round trip, a heartbeat and
 *   a round trip to learn it committed, and a Ready to apply it;
 * - a slow persist begun before healing may end in a crash drawn then: the peer is down for up
 *   to `maxDowntimeTicks` once the persist ends (a leader's loss costs one of the elections).
 *
 * The sum is a deadline, not a prediction: a run that makes no progress still fails by then.
 */
export function recoveryDeadlineUnits(
  profile: SafetySimulationProfile,
  group: HealedGroup,
  members: readonly number[],
): number {
  const logs = group.logs.filter((log) => members.includes(log.id));
  assert(logs.length > 0, `No peer of members ${members.join(",")} was running at healing`);
  const lowestCommit = Math.min(...logs.map((log) => log.commitIndex));
  // Any peer's log may be the leader's.
  const longestLog = Math.max(...group.logs.map((log) => log.lastIndex));
  let termRuns = 0;
  for (const log of logs) termRuns += log.runEnds.filter((end) => end > lowestCommit).length;
  const backlog = longestLog - lowestCommit + 1;
  const persistUnits = profile.maxPersistUnits + 1;
  const roundTripUnits = 2 * CALM_WEATHER.maxDelayUnits + 2 * persistUnits;
  const tickUnits = slowestTickUnits(profile);
  const heartbeatUnits = profile.heartbeatTicks * tickUnits;
  const electionUnits = 2 * profile.electionTimeoutTicks * tickUnits + 2 * roundTripUnits;
  const leaseUnits = profile.electionTimeoutTicks * tickUnits;
  const successorUnits = group.leaderRemovingItself
    ? heartbeatUnits + 2 * roundTripUnits + persistUnits
    : 0;
  const downtimeUnits = group.crashPending
    ? persistUnits + profile.maxDowntimeTicks * tickUnits
    : 0;
  return group.staleUnits + leaseUnits +
    (RECOVERY_ELECTIONS + 1) * electionUnits +
    termRuns * (heartbeatUnits + roundTripUnits) +
    (Math.ceil(backlog / profile.maxEntriesPerAppend) + 1) * roundTripUnits +
    heartbeatUnits + roundTripUnits +
    Math.ceil(backlog / profile.maxEntriesPerReady) * persistUnits +
    successorUnits + downtimeUnits;
}
