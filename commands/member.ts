/**
 * `dsys member`: list a cluster's members and change them one at a time (add a learner, promote
 * it, add a voter through both, remove), for kv-server and raft-peer clusters alike. Any one
 * address of the cluster is enough.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { securityFromOptions, withClientSecurityOptions } from "../security/security_options.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import type { MembershipChange } from "../raft/membership.ts";
import {
  addVoter,
  changeMembership,
  type ChangeMembershipResult,
  viewCluster,
} from "../peer/membership_service.ts";
import type { NodeStatus } from "../peer/status.ts";
import { addressOption, examples, integerOption, secondsFlag } from "./arguments.ts";
import { addEndpointOptions, endpointsOf } from "../cli/endpoints.ts";

/** How long a change may take by default, a learner's catching up included. */
const DEFAULT_CHANGE_TIMEOUT_MS = 30_000;

/** The `member` subcommand and its `list`, `add`, `add-learner`, `promote` and `remove`. */
export function memberCommand() {
  const member = withClientSecurityOptions(new Command("member"))
    .description(
      "List or change a cluster's members, one at a time: a new node joins as a learner that " +
        "receives the log without voting, and is promoted to voter once it has caught up.",
    )
    .addOption(
      secondsFlag(
        "--timeout <seconds>",
        "give up on a change after this long",
        DEFAULT_CHANGE_TIMEOUT_MS,
      ),
    )
    .addHelpText(
      "after",
      examples(
        "dsys kv-server --id 3 --join --listen 127.0.0.1:7004 --data data/node-3 &",
        "dsys member --endpoints 127.0.0.1:7001 add --id 3 --address 127.0.0.1:7004",
        "dsys member --endpoints 127.0.0.1:7001 remove --id 0",
        "dsys member --endpoints 127.0.0.1:7001 list",
      ),
    );
  addEndpointOptions(member, "any of the cluster's addresses");
  const servers = () => endpointsOf(member);
  const timeoutMs = () => member.opts().timeout;
  const security = () => securityFromOptions(member.opts(), "client");
  member.command("list")
    .description("Print each member: id, voter or learner, address, and what it says of itself.")
    .option("--json", "print JSON instead of a table", false)
    .addHelpText("after", examples("dsys member --endpoints 127.0.0.1:7001 list --json"))
    .action(async (options) => await listMembers(servers(), options.json, await security()));
  newMember(member, "add", "Add a voter: as a learner first, promoted once it has caught up.")
    .action(async (options) => {
      const added = await addVoter(
        servers(),
        options.id,
        options.address,
        timeoutMs(),
        await security(),
      );
      if (added.alreadyVoter) console.log(`peer ${options.id} is a voter already`);
      else printChange({ kind: "promote", id: options.id }, added);
    });
  newMember(
    member,
    "add-learner",
    "Add a learner: it receives the log (a snapshot when far behind) but never votes.",
  )
    .action(async (options) => {
      await change(servers(), { kind: "add-learner", ...options }, timeoutMs(), await security());
    });
  member.command("promote")
    .description("Make a learner a voter, once it holds the log up to the leader's commit index.")
    .requiredOption("--id <id>", "the learner", integerOption(0))
    .addHelpText("after", examples("dsys member --endpoints 127.0.0.1:7001 promote --id 3"))
    .action(async (options) => {
      await change(servers(), { kind: "promote", id: options.id }, timeoutMs(), await security());
    });
  member.command("remove")
    .description(
      "Remove a member. A leader that removes itself steps down once the change is committed.",
    )
    .requiredOption("--id <id>", "the member", integerOption(0))
    .addHelpText("after", examples("dsys member --endpoints 127.0.0.1:7001 remove --id 0"))
    .action(async (options) => {
      await change(servers(), { kind: "remove", id: options.id }, timeoutMs(), await security());
    });
  return member;
}

/** A subcommand of `member` that adds a member: it takes the new id and address. */
function newMember(member: Command, name: string, description: string) {
  return member.command(name)
    .description(description)
    .requiredOption("--id <id>", "the new member's id (unused so far)", integerOption(0))
    .requiredOption("--address <address>", "where the new member listens", addressOption)
    .addHelpText(
      "after",
      examples(`dsys member --endpoints 127.0.0.1:7001 ${name} --id 3 --address 127.0.0.1:7004`),
    );
}

/** Makes `membershipChange` and prints the membership that results. */
async function change(
  servers: readonly string[],
  membershipChange: MembershipChange,
  timeoutMs: number,
  security: TransportSecurity | undefined,
): Promise<void> {
  printChange(
    membershipChange,
    await changeMembership(servers, membershipChange, timeoutMs, security),
  );
}

/** Prints a committed change and the membership that results. */
function printChange(
  membershipChange: MembershipChange,
  { index, membership }: ChangeMembershipResult,
): void {
  console.log(
    `${membershipChange.kind} ${membershipChange.id}: committed at entry ${index}; voters ${
      membership.voters.join(",")
    }, learners ${membership.learners.join(",") || "none"}`,
  );
}

/** Prints the members as the leader (or else the most recent membership seen) has them. */
async function listMembers(
  servers: readonly string[],
  json: boolean,
  security: TransportSecurity | undefined,
): Promise<void> {
  const { statuses, leader } = await viewCluster(servers, security);
  if (statuses.length === 0) throw new Error(`No node of ${servers.join(",")} answered`);
  const source = leader ??
    statuses.reduce((best, status) =>
      status.membershipIndex > best.membershipIndex ? status : best
    );
  const rows = [
    ...source.voters.map((id) => memberRow(id, "voter", source, statuses)),
    ...source.learners.map((id) => memberRow(id, "learner", source, statuses)),
  ];
  if (json) {
    console.log(JSON.stringify({ membershipIndex: source.membershipIndex, members: rows }));
    return;
  }
  const header = ["id", "member", "address", "role", "term", "commit"];
  const cells = rows.map((row) => [
    String(row.id),
    row.member,
    row.address,
    row.role,
    row.term === null ? "-" : String(row.term),
    row.commitIndex === null ? "-" : String(row.commitIndex),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column].length))
  );
  const format = (line: readonly string[]) =>
    line.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();
  console.log(
    `membership at entry ${source.membershipIndex}${
      leader === null ? " (no leader: the latest seen)" : `, led by ${leader.id}`
    }`,
  );
  console.log([format(header), ...cells.map(format)].join("\n"));
}

/** One member as `list` shows it. */
interface MemberRow {
  readonly id: number;
  readonly member: "voter" | "learner";
  readonly address: string;
  readonly role: string;
  readonly term: number | null;
  readonly commitIndex: number | null;
}

function memberRow(
  id: number,
  member: MemberRow["member"],
  source: NodeStatus,
  statuses: readonly NodeStatus[],
): MemberRow {
  const own = statuses.find((status) => status.id === id);
  return {
    id,
    member,
    address: source.addresses[String(id)] ?? "?",
    role: own?.role ?? "unreachable",
    term: own?.term ?? null,
    commitIndex: own?.commitIndex ?? null,
  };
}
