import assert from "node:assert/strict";
import {
  bootstrapMembership,
  changedMembership,
  MEMBERS_MAX,
  type Membership,
  membershipOfCommand,
  membershipProblem,
} from "./membership.ts";

const THREE: Membership = bootstrapMembership([2, 0, 1], { "0": "a:1", "1": "a:2", "2": "a:3" });

Deno.test("a bootstrap membership sorts its voters and has no learners", () => {
  assert.deepEqual(THREE, {
    voters: [0, 1, 2],
    learners: [],
    addresses: { "0": "a:1", "1": "a:2", "2": "a:3" },
  });
});

Deno.test("each single-server change gives the membership it names", () => {
  const withLearner = changedMembership(THREE, { kind: "add-learner", id: 5, address: "a:6" });
  assert.deepEqual(withLearner, {
    voters: [0, 1, 2],
    learners: [5],
    addresses: { "0": "a:1", "1": "a:2", "2": "a:3", "5": "a:6" },
  });
  const promoted = changedMembership(withLearner as Membership, { kind: "promote", id: 5 });
  assert.deepEqual((promoted as Membership).voters, [0, 1, 2, 5]);
  assert.deepEqual((promoted as Membership).learners, []);
  const removed = changedMembership(promoted as Membership, { kind: "remove", id: 1 });
  assert.deepEqual(removed, {
    voters: [0, 2, 5],
    learners: [],
    addresses: { "0": "a:1", "2": "a:3", "5": "a:6" },
  });
});

Deno.test("changes that cannot be made come back as one sentence naming the member", () => {
  const one = bootstrapMembership([4]);
  const cases: [Membership, Parameters<typeof changedMembership>[1], string][] = [
    [THREE, { kind: "add-learner", id: 1 }, "Peer 1 is a member already"],
    [
      THREE,
      { kind: "promote", id: 2 },
      "Cannot promote peer 2: it is not a learner (learners: none)",
    ],
    [
      THREE,
      { kind: "remove", id: 7 },
      "Cannot remove peer 7: it is not a member (members: 0, 1, 2)",
    ],
    [one, { kind: "remove", id: 4 }, "Cannot remove peer 4: it is the last voter"],
    [THREE, { kind: "add-learner", id: 1.5 }, "Member id 1.5 is not a whole number"],
  ];
  for (const [membership, change, reason] of cases) {
    assert.equal(changedMembership(membership, change), reason);
  }
  const full = bootstrapMembership(Array.from({ length: MEMBERS_MAX }, (_, id) => id));
  assert.match(
    changedMembership(full, { kind: "add-learner", id: MEMBERS_MAX }) as string,
    /the group has 64 members, the most allowed/,
  );
});

Deno.test("membershipOfCommand tells a membership entry from a service's command", () => {
  assert.deepEqual(membershipOfCommand({ raftMembership: THREE }), THREE);
  for (const command of [null, 7, "raftMembership", { op: "Put" }, new Uint8Array(2)]) {
    assert.equal(membershipOfCommand(command), null);
  }
});

Deno.test("membershipProblem names what is unsound in a membership read from the outside", () => {
  assert.equal(membershipProblem(THREE), null);
  assert.equal(membershipProblem({ voters: [], learners: [], addresses: {} }), null, "joining");
  const cases: [unknown, string][] = [
    [null, "the membership is not a map"],
    [{ voters: 1, learners: [], addresses: {} }, "the membership's voters are not a list"],
    [{ voters: [0], learners: [-1], addresses: {} }, "member id -1 is not a whole number"],
    [{ voters: [0, 1], learners: [1], addresses: {} }, "the membership repeats an id: 0, 1, 1"],
    [{ voters: [0], learners: [], addresses: [] }, "the membership's addresses are not a map"],
    [{ voters: [0], learners: [], addresses: { "0": 7 } }, "a member's address is not a string"],
  ];
  for (const [value, problem] of cases) assert.equal(membershipProblem(value), problem);
});
