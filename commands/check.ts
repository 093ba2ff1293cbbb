/**
 * `dsys check FILE…`: checks a history from files (the JSON lines of `dsys kv shell`, or a
 * Jepsen EDN history) for linearizability against a model, prints the verdict per key and
 * overall, and draws the HTML picture of a violation.
 *
 * Exit codes: 0 linearizable, 1 not linearizable, 2 undecided within the time budget, 3 the
 * input or the command line could not be read. Bad input has a code of its own so that a script
 * never takes "could not read the file" for a verdict.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { errorText } from "../util/error_text.ts";
import {
  checkHistory,
  checkModelHistory,
  type CheckResult,
  DEFAULT_TIMEOUT_MS,
} from "../linearizability/checker.ts";
import { readHistory, toKvOperations } from "../linearizability/history_file.ts";
import {
  MODEL_NAMES,
  type ModelName,
  modelNamed,
  type ModelOperation,
} from "../linearizability/models.ts";
import { type HistoryView, kvView, modelView, writePicture } from "../linearizability/visualize.ts";
import { examples, requireFiles, secondsFlag } from "./arguments.ts";

/** Exit code of a linearizable history. */
export const EXIT_OK = 0;
/** Exit code of a history that is not linearizable. */
export const EXIT_ILLEGAL = 1;
/** Exit code of a check that ran out of its time budget (or memo bound) undecided. */
export const EXIT_UNDECIDED = 2;
/** Exit code of input or a command line that could not be read. */
export const EXIT_BAD_INPUT = 3;
/** How many operations that could come next the table lists per illegal key. */
const MAX_LISTED_STUCK = 3;

/** What `dsys check` was asked to do. */
export interface CheckRequest {
  /** The history files, merged into one history. */
  readonly files: readonly string[];
  /** The model to check against. */
  readonly model: ModelName;
  /** The time budget of the whole check. */
  readonly timeoutMs: number;
  /** Where to write the picture; by default next to the first file, when a key is illegal. */
  readonly htmlPath: string | undefined;
  /** The form of the report. */
  readonly writeOut: "json" | "table";
}

/** The `check` subcommand. */
export function checkCommand() {
  return new Command("check")
    .description(
      `Check a history for linearizability: the JSON lines of "dsys kv shell" (several files are merged) or a Jepsen EDN history. Exit codes: ${EXIT_OK} linearizable, ${EXIT_ILLEGAL} not linearizable, ${EXIT_UNDECIDED} undecided within the time budget, ${EXIT_BAD_INPUT} unreadable input or usage error.`,
    )
    .argument("<files...>", "history files: .jsonl / .json (kv shell lines) or .edn (Jepsen)")
    .addOption(
      new Option("--model <model>", "the sequential specification").choices(MODEL_NAMES)
        .default("kv" as ModelName),
    )
    .addOption(
      secondsFlag(
        "--timeout <seconds>",
        "time budget; past it the verdict is undecided",
        DEFAULT_TIMEOUT_MS,
      ),
    )
    .option(
      "--html <path>",
      "write the picture here, whatever the verdict (default: FILE.check.html beside the first file, only when illegal)",
    )
    .addOption(
      new Option("--write-out <form>", "how to print the report").choices(
        ["table", "json"] as const,
      )
        .default("table" as const),
    )
    .exitOverride((error) => Deno.exit(error.exitCode === 0 ? 0 : EXIT_BAD_INPUT))
    .addHelpText(
      "after",
      examples(
        "(echo 'put x 1'; echo 'get x') | dsys kv --servers $peers shell > a.jsonl",
        "echo 'append x 2' | dsys kv --servers $peers shell > b.jsonl",
        "dsys check a.jsonl b.jsonl",
        "dsys check --model cas-register --timeout 30 jepsen-history.edn",
      ),
    )
    .action(async (files, options) => {
      const request: CheckRequest = {
        files,
        model: options.model,
        timeoutMs: options.timeout,
        htmlPath: options.html,
        writeOut: options.writeOut,
      };
      try {
        Deno.exitCode = await runCheck(request, (line) => console.log(line));
      } catch (error) {
        console.error(`dsys check: ${errorText(error)}`);
        Deno.exitCode = EXIT_BAD_INPUT;
      }
    });
}

/** Reads, checks and reports; returns the exit code of the verdict. Throws on bad input. */
export async function runCheck(
  request: CheckRequest,
  write: (line: string) => void,
): Promise<number> {
  await requireFiles(request.files);
  const history: ModelOperation[] = [];
  for (const file of request.files) {
    history.push(...readHistory(file, await Deno.readTextFile(file), request.model));
  }
  const { result, view } = checkAgainst(history, request.model, request.timeoutMs);
  let htmlPath = request.htmlPath;
  if (htmlPath === undefined && result.verdict === "illegal") {
    htmlPath = `${request.files[0].replace(/\.[^./]*$/, "")}.check.html`;
  }
  if (htmlPath !== undefined) writePicture(htmlPath, view, result);
  const report = { model: request.model, operations: history.length, htmlPath, result, view };
  for (const line of request.writeOut === "json" ? jsonReport(report) : tableReport(report)) {
    write(line);
  }
  return result.verdict === "ok"
    ? EXIT_OK
    : result.verdict === "illegal"
    ? EXIT_ILLEGAL
    : EXIT_UNDECIDED;
}

/** Checks with the fast key/value search for "kv", the plain one for the other models. */
function checkAgainst(
  history: readonly ModelOperation[],
  model: ModelName,
  timeoutMs: number,
): { result: CheckResult; view: HistoryView } {
  if (model === "kv") {
    const operations = toKvOperations(history);
    return { result: checkHistory(operations, { timeoutMs }), view: kvView(operations) };
  }
  const chosen = modelNamed(model);
  return {
    result: checkModelHistory(history, chosen, { timeoutMs }),
    view: modelView(history, chosen),
  };
}

interface Report {
  readonly model: ModelName;
  readonly operations: number;
  readonly htmlPath: string | undefined;
  readonly result: CheckResult;
  readonly view: HistoryView;
}

const VERDICT_WORDS = { ok: "ok", illegal: "illegal", timeout: "undecided" } as const;

function tableReport(report: Report): string[] {
  const { result, view } = report;
  const rows = result.keys.map((check) => [
    JSON.stringify(check.key),
    VERDICT_WORDS[check.verdict],
    `${check.operations.length}`,
    `${check.steps}`,
  ]);
  const header = ["key", "verdict", "operations", "search steps"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length))
  );
  const format = (row: readonly string[]) =>
    row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();
  const lines = [format(header), ...rows.map(format)];
  for (const check of result.keys) {
    if (check.verdict === "timeout") {
      lines.push(`key ${JSON.stringify(check.key)}: ${check.reason}`);
    }
    if (check.verdict !== "illegal") continue;
    lines.push(
      `key ${JSON.stringify(check.key)}: ${check.linearization.length} operations linearize; ` +
        `none of these can come next:`,
    );
    for (const index of check.stuck.slice(0, MAX_LISTED_STUCK)) {
      const why = view.whyNot(index, check.linearization);
      lines.push(`  ${view.describe(index)}${why === "" ? "" : `: ${why}`}`);
    }
  }
  lines.push(
    `${VERDICT_WORDS[result.verdict]}: ${report.operations} operations on ` +
      `${result.keys.length} key(s), ${report.model} model, checked in ` +
      `${result.elapsedMs.toFixed(1)} ms`,
  );
  if (report.htmlPath !== undefined) lines.push(`picture: ${report.htmlPath}`);
  return lines;
}

function jsonReport(report: Report): string[] {
  const { result, view } = report;
  return [JSON.stringify({
    verdict: VERDICT_WORDS[result.verdict],
    model: report.model,
    operations: report.operations,
    elapsedMs: result.elapsedMs,
    html: report.htmlPath ?? null,
    keys: result.keys.map((check) => ({
      key: check.key,
      verdict: VERDICT_WORDS[check.verdict],
      operations: check.operations.length,
      steps: check.steps,
      linearized: check.linearization.length,
      stuck: check.stuck.map((index) => view.describe(index)),
      reason: check.reason,
    })),
  })];
}
