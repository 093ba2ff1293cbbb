/**
 * `dsys status`: every node's role, term, leader and indexes, from its `Status` method, as a
 * table or as JSON; nodes that do not answer are shown as unreachable. The exit code says
 * whether the cluster is whole: 0 when every node answered and one leads, 4 (degraded) when one
 * leads but a node did not answer, 3 (unavailable) when no node leads, and 1 when a node refused
 * the connection (a wrong or missing cluster secret or certificate).
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { securityFromOptions, withClientSecurityOptions } from "../security/security_options.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import {
  currentLeader,
  DEFAULT_STATUS_TIMEOUT_MS,
  fetchStatuses,
  formatStatusTable,
  type StatusRow,
} from "../peer/status.ts";
import { examples, secondsFlag } from "./arguments.ts";
import { addEndpointOptions, endpointsOf } from "../cli/endpoints.ts";
import {
  EXIT_DEGRADED,
  EXIT_ERROR,
  EXIT_OK,
  EXIT_UNAVAILABLE,
  exitCodesHelp,
} from "../cli/exit_codes.ts";

/** The `--write-out` formats of status. */
export const STATUS_WRITE_OUTS = ["table", "json"] as const;
/** One of {@linkcode STATUS_WRITE_OUTS}. */
export type StatusWriteOut = typeof STATUS_WRITE_OUTS[number];

/** The `status` subcommand. */
export function statusCommand() {
  const status = withClientSecurityOptions(new Command("status"))
    .description(
      "Show the role, term, leader and indexes of kv-server or raft-peer nodes; the exit code says whether every node answered and one leads.",
    )
    .addOption(
      new Option("-w, --write-out <format>", "table, or JSON: one array of one object per node")
        .choices(STATUS_WRITE_OUTS).default("table" as const),
    )
    .addOption(new Option("--json", "the same as --write-out json").hideHelp())
    .addOption(
      secondsFlag(
        "--timeout <seconds>",
        "a node silent this long is unreachable",
        DEFAULT_STATUS_TIMEOUT_MS,
      ),
    )
    .addHelpText(
      "after",
      exitCodesHelp() + "\n" +
        examples("dsys status --endpoints 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 -w json"),
    );
  addEndpointOptions(status, "the nodes' addresses");
  return status.action(async (options) => {
    const format = options.json === true ? "json" : options.writeOut;
    const security = await securityFromOptions(options, "client");
    await runStatus(endpointsOf(status), format, options.timeout, security);
  });
}

/**
 * Prints every node's status as a table or as JSON, and sets the exit code by
 * {@linkcode statusExitCode}.
 */
export async function runStatus(
  servers: readonly string[],
  format: StatusWriteOut,
  timeoutMs: number,
  security?: TransportSecurity,
): Promise<void> {
  const rows = await fetchStatuses(servers, timeoutMs, security);
  if (format === "json") {
    console.log(JSON.stringify(rows.map((row) => ({
      address: row.address,
      ...(row.status ?? { error: row.error }),
    }))));
  } else {
    console.log(formatStatusTable(rows));
  }
  const code = statusExitCode(rows);
  if (code !== EXIT_OK) Deno.exitCode = code;
}

/**
 * 0 when every node answered and one leads the highest term seen; {@linkcode EXIT_UNAVAILABLE}
 * when none leads it (every node down included); {@linkcode EXIT_DEGRADED} when one leads but a
 * node did not answer; {@linkcode EXIT_ERROR} first when a node refused the connection (a wrong
 * or missing secret or certificate), as other clients exit then: no retry can fix it.
 */
export function statusExitCode(rows: readonly StatusRow[]): number {
  if (rows.some((row) => row.refused === true)) return EXIT_ERROR;
  if (currentLeader(rows) === -1) return EXIT_UNAVAILABLE;
  return rows.every((row) => row.status !== null) ? EXIT_OK : EXIT_DEGRADED;
}
