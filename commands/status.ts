/**
 * `dsys status`: every node's role, term, leader and indexes, from its `Status` method, as a
 * table or as JSON; nodes that do not answer are shown as unreachable.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { securityFromOptions, withClientSecurityOptions } from "../security/security_options.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { DEFAULT_STATUS_TIMEOUT_MS, fetchStatuses, formatStatusTable } from "../peer/status.ts";
import { examples, parseServers, secondsFlag } from "./arguments.ts";

/** The `status` subcommand. */
export function statusCommand() {
  return withClientSecurityOptions(new Command("status"))
    .description("Show the role, term, leader and indexes of kv-server or raft-peer nodes.")
    .requiredOption("--servers <addresses>", "the nodes' addresses, comma-separated")
    .option("--json", "print JSON instead of a table", false)
    .addOption(
      secondsFlag(
        "--timeout <seconds>",
        "a node silent this long is unreachable",
        DEFAULT_STATUS_TIMEOUT_MS,
      ),
    )
    .addHelpText(
      "after",
      examples("dsys status --servers 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --json"),
    )
    .action(async (options) => {
      const security = await securityFromOptions(options, "client");
      await runStatus(parseServers(options.servers), options.json, options.timeout, security);
    });
}

/** Prints every node's status as a table, or as JSON with `json`. */
export async function runStatus(
  servers: readonly string[],
  json: boolean,
  timeoutMs: number,
  security?: TransportSecurity,
): Promise<void> {
  const rows = await fetchStatuses(servers, timeoutMs, security);
  if (json) {
    console.log(JSON.stringify(rows.map((row) => ({
      address: row.address,
      ...(row.status ?? { error: row.error }),
    }))));
  } else {
    console.log(formatStatusTable(rows));
  }
}
