/**
 * `dsys kv shell` on a terminal: a prompt, history and line editing (node's readline, which
 * Deno provides), and plain answers — a get's value, `OK` for a write, `dsys: …` for a failure —
 * instead of the JSON lines that scripts read.
 *
 * @module
 */
import { createInterface } from "node:readline";
import process from "node:process";
import { errorText } from "../util/error_text.ts";
import type { Consistency } from "../kv/command.ts";
import { DeadlineClerk, type KvOperation } from "./kv_clerk.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { MAX_SHELL_LINE_CHARS, parseShellLine } from "./shell_line.ts";

/** Lines the terminal shell remembers for the arrow keys. */
export const HISTORY_LINES_MAX = 1_000;
/** The prompt. */
const PROMPT = "dsys> ";

/**
 * Reads operations from the terminal until end of input (Ctrl-D) and answers each; returns how
 * many lines were not operations.
 */
export async function runTerminalShell(
  servers: readonly string[],
  timeoutMs: number,
  consistency: Consistency,
  security?: TransportSecurity,
): Promise<number> {
  const clerk = new DeadlineClerk(servers, timeoutMs, security);
  const lines = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    prompt: PROMPT,
    historySize: HISTORY_LINES_MAX,
  });
  let rejected = 0;
  try {
    lines.prompt();
    for await (const line of lines) {
      let operation: KvOperation | null = null;
      try {
        if (line.length > MAX_SHELL_LINE_CHARS) {
          throw new Error(`Line is longer than ${MAX_SHELL_LINE_CHARS} characters`);
        }
        operation = parseShellLine(line, consistency);
      } catch (error) {
        rejected++;
        console.log(`dsys: ${errorText(error)}`);
      }
      if (operation !== null) {
        const outcome = await clerk.run(operation);
        if (!outcome.ok) console.log(`dsys: ${outcome.error}`);
        else console.log(operation.kind === "get" ? outcome.output : "OK");
      }
      lines.prompt();
    }
  } finally {
    lines.close();
    clerk.close();
  }
  return rejected;
}
