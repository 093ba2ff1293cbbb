/**
 * `dsys mr`: commands about a running MapReduce job; `dsys mr status` asks its coordinator how
 * it goes (tasks by state, workers, bytes and rates, counters), as a table or as JSON.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import {
  DEFAULT_COORDINATOR_ADDRESS,
  DEFAULT_MR_STATUS_TIMEOUT_MS,
  fetchCoordinatorStatus,
  formatCoordinatorStatus,
} from "../mr/mod.ts";
import { addressOption, examples, secondsFlag } from "./arguments.ts";

/** The `mr` command group. */
export function mrCommand() {
  return new Command("mr")
    .description("Inspect a running MapReduce job.")
    .addCommand(mrStatusCommand())
    .addHelpText("after", examples("dsys mr status --coordinator 127.0.0.1:7070"));
}

/** `mr status`. */
function mrStatusCommand() {
  return new Command("status")
    .description(
      "Show a MapReduce job's tasks by state, workers, bytes in and out with rates, and counters.",
    )
    .option(
      "--coordinator <address>",
      "the coordinator's host:port or unix:/path",
      addressOption,
      DEFAULT_COORDINATOR_ADDRESS,
    )
    .addOption(
      new Option("--write-out <form>", "how to print the status").choices(
        ["table", "json"] as const,
      )
        .default("table" as const),
    )
    .addOption(
      secondsFlag(
        "--timeout <seconds>",
        "give up on a coordinator silent this long",
        DEFAULT_MR_STATUS_TIMEOUT_MS,
      ),
    )
    .addHelpText(
      "after",
      examples(
        "dsys mr status --coordinator 127.0.0.1:7070",
        "dsys mr status --coordinator unix:/tmp/mr.sock --write-out json",
      ),
    )
    .action(async (options) => {
      console.log(await mrStatusText(options.coordinator, options.writeOut, options.timeout));
    });
}

/**
 * The status of the coordinator at `address` as `dsys mr status` prints it: a table, or one
 * JSON object. Throws one line naming the address when no coordinator answers there.
 */
export async function mrStatusText(
  address: string,
  form: "table" | "json",
  timeoutMs: number = DEFAULT_MR_STATUS_TIMEOUT_MS,
): Promise<string> {
  const status = await fetchCoordinatorStatus(address, timeoutMs);
  return form === "json"
    ? JSON.stringify({ coordinator: address, ...status })
    : formatCoordinatorStatus(address, status);
}
