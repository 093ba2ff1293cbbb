/**
 * Membership changes of real processes under client load, made through the real commands as an
 * operator would (`dsys member`, `dsys leader transfer`): a member killed with -9 is replaced by
 * a node with an empty folder, which catches up by snapshot; the cluster grows from three voters
 * to five, hands leadership to a new voter, and shrinks back to three, the leader removing
 * itself. Every acknowledged write must be kept, the history must be linearizable, a removed
 * node left running must not disturb the rest, and the final membership must be the expected
 * three voters.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Random, SeededRandom } from "../util/random.ts";
import { ChildGroup } from "../util/child_process.ts";
import type { NodeStatus } from "../peer/status.ts";
import { ProcessCluster } from "./process_cluster.ts";
import { checkLoad, finalReads, type LoadCheck, pause, underLoad } from "./load.ts";
import type { LabTest, TestContext } from "../labs/suite.ts";

/** Nodes that set the cluster up: the voters before and after the scenario. */
const BOOTSTRAP_VOTERS = 3;
/** Spares: one replaces the killed member, two grow the cluster to five voters. */
const SPARES = 3;
/** Small, so every node snapshots within the first second of load. */
const SCENARIO_MAX_RAFT_STATE_BYTES = 4_096;
/** A shell gives up an operation after this long; it then counts as unknown outcome. */
const OPERATION_TIMEOUT_SECONDS = 1;
/** How long one `dsys member` or `dsys leader` command may take. */
const COMMAND_TIMEOUT_SECONDS = 20;
/** Budget of each wait for a state of the cluster (a leader, a snapshot, convergence). */
const SETTLE_TIMEOUT_MS = 20_000;
/** How long the shrunk cluster runs under load beside the removed node left running. */
const REMOVED_NODE_WATCH_MS = 1_500;

/** The ids that play each part, fixed once the victim is chosen. */
interface Cast {
  /** The member killed with -9 and removed. */
  readonly victim: number;
  /** The spare that replaces it. */
  readonly replacement: number;
  /** The spares that grow the cluster to five voters. */
  readonly growth: readonly number[];
  /** The new voter leadership is handed to, removed while it leads and left running. */
  readonly target: number;
  /** A survivor of the bootstrap nodes removed in the shrink and stopped with SIGTERM. */
  readonly retired: number;
  /** The voters at the end. */
  readonly finalVoters: readonly number[];
}

/** What a run did, for its summary line. */
interface ScenarioReport extends LoadCheck {
  readonly cast: Cast;
  readonly victimLed: boolean;
  readonly snapshotIndex: number;
  readonly elapsedMs: number;
}

/**
 * Runs the scenario on a fresh cluster of three nodes and three spares; `seed` picks whether the
 * killed member is the leader or a follower, and drives the clients. Throws on any violation.
 */
export async function runMembershipScenario(seed: number): Promise<ScenarioReport> {
  const startedMs = performance.now();
  const random = new SeededRandom(seed);
  const cluster = await ProcessCluster.start({
    size: BOOTSTRAP_VOTERS,
    spares: SPARES,
    maxRaftStateBytes: SCENARIO_MAX_RAFT_STATE_BYTES,
  });
  const everyone = cluster.clientAddresses([...cluster.ids, ...cluster.spareIds]);
  const operator = new Operator(cluster.root, everyone);
  try {
    await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
    const { logs, outcome } = await underLoad(
      cluster,
      { seed, timeoutSeconds: OPERATION_TIMEOUT_SECONDS, servers: everyone },
      () => changeMembers(cluster, operator, random),
    );
    const { cast } = outcome;
    await cluster.waitForConvergence(SETTLE_TIMEOUT_MS, cast.finalVoters);
    const check = checkLoad(logs, await finalReads(cluster, everyone));
    const voters = await operator.listedVoters();
    assert(
      voters.join(",") === ascending(cast.finalVoters).join(","),
      `dsys member list shows voters ${voters.join(",")}, not ${cast.finalVoters.join(",")}`,
    );
    return { ...check, ...outcome, elapsedMs: performance.now() - startedMs };
  } finally {
    await operator.close();
    await cluster.close();
  }
}

/**
 * The operator's part, while the clients run: replace a member killed with -9, grow to five
 * voters, hand leadership to a new voter, shrink back to three with the leader removing itself.
 */
async function changeMembers(
  cluster: ProcessCluster,
  operator: Operator,
  random: Random,
): Promise<Pick<ScenarioReport, "cast" | "victimLed" | "snapshotIndex">> {
  const leader = await cluster.waitForLeader(SETTLE_TIMEOUT_MS);
  // Half the runs kill the leader, the others a follower.
  const victimLed = random.next() < 0.5;
  const followers = cluster.ids.filter((id) => id !== leader);
  const victim = victimLed ? leader : followers[random.int(followers.length)];
  const survivors = cluster.ids.filter((id) => id !== victim);
  const [replacement, ...growth] = cluster.spareIds;
  const target = growth[growth.length - 1];
  const retired = survivors[0];
  const finalVoters = [survivors[1], replacement, ...growth.filter((id) => id !== target)];
  const cast: Cast = { victim, replacement, growth, target, retired, finalVoters };
  const snapshotIndex = await replace(cluster, operator, cast);
  for (const id of growth) await cluster.startNode(id);
  for (const id of growth) await operator.add(id, cluster.listenAddress(id));
  await untilVoters(cluster, [...survivors, replacement, ...growth]);
  await operator.transfer(target);
  await shrink(cluster, operator, cast);
  return { cast, victimLed, snapshotIndex };
}

/**
 * Kills the victim with -9 once every node has taken a snapshot (so no log reaches back to entry
 * 1), removes it, and adds the replacement with an empty folder; it must catch up by snapshot.
 * Returns the index of the snapshot it installed.
 */
async function replace(cluster: ProcessCluster, operator: Operator, cast: Cast): Promise<number> {
  await cluster.waitForStatus(
    (rows) => rows.every((row) => (row.status?.snapshotIndex ?? 0) > 0),
    SETTLE_TIMEOUT_MS,
    "a snapshot on every node",
  );
  const killed = await cluster.kill(cast.victim);
  assert(killed.code === 128 + 9, `Node ${cast.victim} ended with code ${killed.code}, not -9`);
  await operator.member(["remove", "--id", `${cast.victim}`]);
  await cluster.startNode(cast.replacement);
  await operator.add(cast.replacement, cluster.listenAddress(cast.replacement));
  const [row] = await cluster.waitForStatus(
    (rows) => (rows[0].status?.snapshotsInstalled ?? 0) >= 1,
    SETTLE_TIMEOUT_MS,
    `node ${cast.replacement} installing a snapshot`,
    [cast.replacement],
  );
  return row.status!.snapshotIndex;
}

/**
 * Removes the leader (the target, which removes itself) and a survivor of the first nodes; stops
 * the survivor with SIGTERM and leaves the target running: while the clients run on, no voter's
 * term may move, and the removed node must neither campaign nor count itself a member.
 */
async function shrink(cluster: ProcessCluster, operator: Operator, cast: Cast): Promise<void> {
  const leading = await cluster.status(cast.target);
  assert(leading?.role === "leader", `Node ${cast.target} does not lead before its removal`);
  await operator.member(["remove", "--id", `${cast.target}`]);
  await operator.member(["remove", "--id", `${cast.retired}`]);
  const stopped = await cluster.kill(cast.retired, "SIGTERM");
  assert(stopped.code === 0, `Node ${cast.retired} stopped with code ${stopped.code}`);
  await cluster.waitForLeader(SETTLE_TIMEOUT_MS, cast.finalVoters);
  const before = await untilVoters(cluster, cast.finalVoters);
  const removedBefore = await cluster.status(cast.target);
  // Fault schedule: the shrunk cluster serves the clients beside the removed node for a while.
  await pause(REMOVED_NODE_WATCH_MS);
  const after = await expectVoters(cluster, cast.finalVoters);
  const terms = (statuses: readonly NodeStatus[]) => statuses.map((status) => status.term);
  assert(
    terms(after).join(",") === terms(before).join(","),
    `The voters' terms moved from ${terms(before)} to ${
      terms(after)
    } beside removed node ${cast.target}`,
  );
  const removed = await cluster.status(cast.target);
  assert(
    removed !== null && removedBefore !== null && removed.term === removedBefore.term &&
      removed.role === "follower" && removed.membership === "none",
    `Removed node ${cast.target} went from ${describe(removedBefore)} to ${describe(removed)}`,
  );
}

/**
 * Waits until each of `voters` counts exactly `voters` as voters and no learner (a follower
 * learns a change one append after the leader has it committed); returns their statuses.
 */
async function untilVoters(
  cluster: ProcessCluster,
  voters: readonly number[],
): Promise<NodeStatus[]> {
  const rows = await cluster.waitForStatus(
    (rows) => rows.every((row) => hasVoters(row.status, voters)),
    SETTLE_TIMEOUT_MS,
    `voters ${voters.join(",")} on each of them`,
    voters,
  );
  return rows.map((row) => row.status!);
}

/** The statuses of `voters`, each of which must answer and count exactly `voters` as voters. */
async function expectVoters(
  cluster: ProcessCluster,
  voters: readonly number[],
): Promise<NodeStatus[]> {
  const rows = await cluster.statusRows(voters);
  for (const row of rows) {
    assert(
      hasVoters(row.status, voters),
      `Voter at ${row.address} shows ${describe(row.status)}, not voters ${voters.join(",")}`,
    );
  }
  return rows.map((row) => row.status!);
}

/** Whether `status` counts exactly `voters` as voters, and no learner. */
function hasVoters(status: NodeStatus | null, voters: readonly number[]): boolean {
  return status !== null && status.voters.join(",") === ascending(voters).join(",") &&
    status.learners.length === 0;
}

function ascending(ids: readonly number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

/** What a failed check saw of a node. */
function describe(status: NodeStatus | null): string {
  if (status === null) return "no answer";
  return `${status.role} of term ${status.term}, member: ${status.membership}, voters ` +
    `${status.voters.join(",")}, learners ${status.learners.join(",") || "none"}`;
}

/** Runs `dsys member` and `dsys leader` as children, as an operator types them. */
class Operator {
  readonly #group = new ChildGroup();
  readonly #cwd: string;
  readonly #servers: string;

  /** An operator in folder `cwd` who gives the commands `servers` to find the cluster by. */
  constructor(cwd: string, servers: readonly string[]) {
    this.#cwd = cwd;
    this.#servers = servers.join(",");
  }

  /** Runs `dsys member <args…>`; it must exit 0. Returns its output. */
  member(args: readonly string[]): Promise<string> {
    return this.#run([
      "member",
      ...["--servers", this.#servers, "--timeout", `${COMMAND_TIMEOUT_SECONDS}`],
      ...args,
    ]);
  }

  /** Adds node `id`, listening at `address`, as a voter: a learner first, then promoted. */
  async add(id: number, address: string): Promise<void> {
    const output = await this.member(["add", "--id", `${id}`, "--address", address]);
    assert(/^promote \d+: committed/m.test(output), `dsys member add ${id} said: ${output}`);
  }

  /** Hands leadership to `id` with `dsys leader transfer`, which must say that `id` leads. */
  async transfer(id: number): Promise<void> {
    const output = await this.#run([
      "leader",
      ...["--servers", this.#servers, "transfer", "--to", `${id}`],
      ...["--timeout", `${COMMAND_TIMEOUT_SECONDS}`],
    ]);
    assert(new RegExp(`^peer ${id} (leads|already leads)`).test(output), `Transfer: ${output}`);
  }

  /** The voters `dsys member list --json` shows, and checks it shows no learner. */
  async listedVoters(): Promise<number[]> {
    const output = await this.member(["list", "--json"]);
    const { members } = JSON.parse(output) as { members: { id: number; member: string }[] };
    assert(members.every((row) => row.member === "voter"), `Learners remain: ${output}`);
    return ascending(members.map((row) => row.id));
  }

  async #run(args: readonly string[]): Promise<string> {
    const exit = await this.#group.spawn(args, { cwd: this.#cwd }).exited;
    assert(exit.code === 0, `dsys ${args.join(" ")} exited ${exit.code}: ${exit.output}`);
    return exit.output;
  }

  /** Stops any command still running. */
  close(): Promise<void> {
    return this.#group.killAll();
  }
}

/** One line summing up a run. */
function describeRun(report: ScenarioReport): string {
  const { victim, replacement, growth, target, retired, finalVoters } = report.cast;
  return `membership: replaced ${report.victimLed ? "leader" : "follower"} ${victim} (kill -9) ` +
    `by ${replacement} (snapshot up to ${report.snapshotIndex}), added ${growth.join(",")}, ` +
    `handed leadership to ${target} and removed it with ${retired}: voters ` +
    `${finalVoters.join(",")}; ${report.operations} operations (${report.acknowledgedAppends} ` +
    `acknowledged appends all kept, ${report.unknownOperations} unknown), linearizable, ` +
    `${(report.elapsedMs / 1000).toFixed(1)} s`;
}

/** The scenario as a lab-style test: `dsys test cluster --run membership --count N`. */
export const membershipScenarioTest: LabTest = {
  name: "membership: replace, grow, shrink, transfer under load",
  part: "",
  async run(context: TestContext) {
    context.log(describeRun(await runMembershipScenario(context.seed)));
  },
};
