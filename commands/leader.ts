/**
 * `dsys leader transfer`: hands a cluster's leadership to a chosen peer (the Raft thesis's
 * leadership transfer), for kv-server and raft-peer clusters alike.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { securityFromOptions, withClientSecurityOptions } from "../security/security_options.ts";
import { transferLeadership } from "../peer/leadership.ts";
import { examples, integerOption, secondsFlag } from "./arguments.ts";
import { addEndpointOptions, endpointsOf } from "../cli/endpoints.ts";

/** How long `leader transfer` waits for the target to lead by default. */
const DEFAULT_TRANSFER_TIMEOUT_MS = 5_000;

/** The `leader` subcommand and its `transfer`. */
export function leaderCommand() {
  const leader = withClientSecurityOptions(new Command("leader"))
    .description("Manage a cluster's leadership.")
    .addHelpText(
      "after",
      examples(
        "dsys leader --endpoints 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 transfer --to 2",
      ),
    );
  addEndpointOptions(leader, "any of the cluster's addresses");
  leader.command("transfer")
    .description(
      "Hand leadership to peer ID: the leader stops taking writes, brings ID up to date and has it " +
        "start an election it wins. Prints the new leader and how long the hand-over took; exits 1 " +
        "if ID does not lead within --timeout.",
    )
    .requiredOption("--to <id>", "the peer to hand leadership to", integerOption(0, 1000))
    .addOption(
      secondsFlag(
        "--timeout <seconds>",
        "give up waiting for the new leader after this long",
        DEFAULT_TRANSFER_TIMEOUT_MS,
      ),
    )
    .addHelpText("after", examples("dsys leader --endpoints $peers transfer --to 2"))
    .action(async (options) => {
      const servers = endpointsOf(leader);
      const security = await securityFromOptions(leader.opts(), "client");
      const outcome = await transferLeadership(servers, options.to, options.timeout, security);
      console.log(
        outcome.from === outcome.to
          ? `peer ${outcome.to} already leads (term ${outcome.term})`
          : `peer ${outcome.to} leads term ${outcome.term}, taken over from peer ${outcome.from} in ${
            Math.round(outcome.elapsedMs)
          } ms`,
      );
    });
  return leader;
}
