/**
 * A Raft group's membership (the Raft thesis, chapter 4): who votes, who only receives the log
 * (learners), and where each member listens. A membership lives in the replicated state: a
 * change is a log entry whose command is {@linkcode MembershipCommand}, and a snapshot records
 * the membership as of its last index. A peer always uses the latest membership in its log,
 * committed or not (section 4.1).
 *
 * Changes are single-server changes: each one adds or removes at most one voter, so any majority
 * of the old voters and any majority of the new ones overlap, and no two leaders of one term can
 * be elected under the two memberships. The core allows one change in flight at a time and none
 * before its leader committed an entry of its own term (the fix to the single-server algorithm
 * Ongaro posted to raft-dev in 2015). Learners never vote and never count toward a commit.
 *
 * @module
 */

/** Who belongs to a Raft group. Plain data, so it travels in entries, snapshots and messages. */
export interface Membership {
  /** The peers that vote and count toward commits; distinct, ascending. */
  readonly voters: readonly number[];
  /** The peers that receive the log but do not vote; distinct, ascending, none a voter. */
  readonly learners: readonly number[];
  /**
   * Where each member listens (`host:port` or `unix:/path`), by id; opaque to the core, which
   * carries it so that every peer learns a new member's address from the log.
   */
  readonly addresses: Readonly<Record<string, string>>;
}

/** The command of a membership entry: the whole new membership, not a difference. */
export interface MembershipCommand {
  /** The membership that takes effect once the entry is in a peer's log. */
  readonly raftMembership: Membership;
}

/** One single-server change, as operators ask for it. */
export type MembershipChange =
  | { readonly kind: "add-learner"; readonly id: number; readonly address?: string }
  | { readonly kind: "promote"; readonly id: number }
  | { readonly kind: "remove"; readonly id: number };

/** Most members a group may have: bounds progress maps, connections and entries. */
export const MEMBERS_MAX = 64;

/** The membership of a group bootstrapped with `voters` and no learners. */
export function bootstrapMembership(
  voters: readonly number[],
  addresses: Readonly<Record<string, string>> = {},
): Membership {
  return { voters: [...voters].sort(byNumber), learners: [], addresses: { ...addresses } };
}

/** Whether `command` is a membership entry's command, and the membership it carries. */
export function membershipOfCommand(command: unknown): Membership | null {
  if (typeof command !== "object" || command === null || !("raftMembership" in command)) {
    return null;
  }
  return (command as MembershipCommand).raftMembership;
}

/** Whether `id` votes in `membership`. */
export function isVoter(membership: Membership, id: number): boolean {
  return membership.voters.includes(id);
}

/** Whether `id` is a voter or a learner of `membership`. */
export function isMember(membership: Membership, id: number): boolean {
  return membership.voters.includes(id) || membership.learners.includes(id);
}

/** Whether `a` and `b` have the same voters (learners and addresses aside). */
export function sameVoters(a: Membership, b: Membership): boolean {
  return a.voters.length === b.voters.length && a.voters.every((voter) => b.voters.includes(voter));
}

/** Every member of `membership`, voters first. */
export function membersOf(membership: Membership): number[] {
  return [...membership.voters, ...membership.learners];
}

/**
 * The membership after `change`, or a one-line reason it cannot be made: adding a member that
 * exists, promoting one that is not a learner, removing one that is not a member or the last
 * voter.
 */
export function changedMembership(
  membership: Membership,
  change: MembershipChange,
): Membership | string {
  const { id } = change;
  if (!Number.isSafeInteger(id) || id < 0) return `Member id ${id} is not a whole number`;
  const voters = membership.voters.filter((voter) => voter !== id);
  const learners = membership.learners.filter((learner) => learner !== id);
  const addresses: Record<string, string> = { ...membership.addresses };
  switch (change.kind) {
    case "add-learner":
      if (isMember(membership, id)) return `Peer ${id} is a member already`;
      if (membersOf(membership).length >= MEMBERS_MAX) {
        return `Cannot add peer ${id}: the group has ${MEMBERS_MAX} members, the most allowed`;
      }
      learners.push(id);
      if (change.address !== undefined) addresses[String(id)] = change.address;
      break;
    case "promote":
      if (!membership.learners.includes(id)) {
        return `Cannot promote peer ${id}: it is not a learner (learners: ${
          listed(membership.learners)
        })`;
      }
      voters.push(id);
      break;
    case "remove":
      if (!isMember(membership, id)) {
        return `Cannot remove peer ${id}: it is not a member (members: ${
          listed(membersOf(membership))
        })`;
      }
      if (voters.length === 0) return `Cannot remove peer ${id}: it is the last voter`;
      delete addresses[String(id)];
      break;
  }
  return canonical({ voters, learners, addresses });
}

/**
 * Why `value` is not a sound membership, or null: the shape, ids that are not whole numbers,
 * repeated or both voter and learner, too many members, addresses that are not strings. A
 * membership with no voter is sound: it is a joining peer's, before the leader's arrives.
 */
export function membershipProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "the membership is not a map";
  const { voters, learners, addresses } = value as Partial<Record<keyof Membership, unknown>>;
  for (const [name, ids] of [["voters", voters], ["learners", learners]] as const) {
    if (!Array.isArray(ids)) return `the membership's ${name} are not a list`;
    if (ids.length > MEMBERS_MAX) return `the membership lists ${ids.length} ${name}`;
    for (const id of ids) {
      if (!Number.isSafeInteger(id) || id < 0) return `member id ${id} is not a whole number`;
    }
  }
  const all = [...voters as number[], ...learners as number[]];
  if (new Set(all).size !== all.length) return `the membership repeats an id: ${listed(all)}`;
  if (typeof addresses !== "object" || addresses === null || Array.isArray(addresses)) {
    return "the membership's addresses are not a map";
  }
  for (const address of Object.values(addresses)) {
    if (typeof address !== "string") return "a member's address is not a string";
  }
  return null;
}

/** `membership` with sorted ids and addresses only for members. */
function canonical(membership: Membership): Membership {
  const addresses: Record<string, string> = {};
  for (const id of membersOf(membership).sort(byNumber)) {
    const address = membership.addresses[String(id)];
    if (address !== undefined) addresses[String(id)] = address;
  }
  return {
    voters: [...membership.voters].sort(byNumber),
    learners: [...membership.learners].sort(byNumber),
    addresses,
  };
}

function byNumber(a: number, b: number): number {
  return a - b;
}

function listed(ids: readonly number[]): string {
  return ids.length === 0 ? "none" : ids.join(", ");
}
