/**
 * {@linkcode assertLinearizable}: a check that throws unless the history is proven linearizable,
 * with a message that names the keys and operations at fault and an HTML picture of a violation.
 *
 * @module
 */
import { checkHistory, type CheckOptions, type CheckResult, type KeyCheck } from "./checker.ts";
import { describeOperation, type Operation } from "./history.ts";
import { replay } from "./kv_model.ts";
import { writeHtml } from "./visualize.ts";

/** Options of {@linkcode assertLinearizable}. */
export interface AssertOptions extends CheckOptions {
  /** Where to write the HTML picture of a violation; a new temporary file when absent. */
  readonly htmlPath?: string;
}

/** Thrown by {@linkcode assertLinearizable} when a history is illegal or could not be decided. */
export class LinearizabilityError extends Error {
  /** The full result of the check. */
  readonly result: CheckResult;
  /** The HTML picture of the violation, when one was written. */
  readonly htmlPath: string | undefined;

  /** Creates the error; the message names the keys at fault. */
  constructor(message: string, result: CheckResult, htmlPath: string | undefined) {
    super(message);
    this.name = "LinearizabilityError";
    this.result = result;
    this.htmlPath = htmlPath;
  }
}

/**
 * Checks `history` and throws a {@linkcode LinearizabilityError} unless it is proven
 * linearizable: on a violation (after writing an HTML picture of it) and on a timeout alike.
 */
export function assertLinearizable(
  history: readonly Operation[],
  options: AssertOptions = {},
): CheckResult {
  const result = checkHistory(history, options);
  if (result.verdict === "ok") return result;
  let htmlPath: string | undefined;
  const lines: string[] = [];
  if (result.illegalKeys.length > 0) {
    htmlPath = options.htmlPath ?? Deno.makeTempFileSync({
      prefix: "linearizability-",
      suffix: ".html",
    });
    writeHtml(htmlPath, history, result);
    const keys = result.illegalKeys.map((key) => JSON.stringify(key)).join(", ");
    lines.push(`History is not linearizable on key(s) ${keys}; picture in ${htmlPath}`);
    for (const check of result.keys) {
      if (check.verdict === "illegal") lines.push(...explainIllegal(history, check));
    }
  }
  if (result.timedOutKeys.length > 0) {
    const keys = result.timedOutKeys.map((key) => JSON.stringify(key)).join(", ");
    const why = result.keys.find((check) => check.verdict === "timeout")!.reason;
    lines.push(
      `Linearizability check of key(s) ${keys} stopped undecided (${why}; budget ` +
        `${result.timeoutMs} ms): the history is neither proven linearizable nor illegal`,
    );
  }
  throw new LinearizabilityError(lines.join("\n"), result, htmlPath);
}

/** How many stuck operations an error message lists per key. */
const MAX_LISTED_OPERATIONS = 6;
/** How much of the value after the prefix an error message shows (its end). */
const MAX_SHOWN_VALUE_CHARS = 60;

function explainIllegal(history: readonly Operation[], check: KeyCheck): string[] {
  const { values } = replay(history, check.linearization);
  const value = values.length > 0 ? values[values.length - 1] : "";
  const shown = value.length <= MAX_SHOWN_VALUE_CHARS
    ? JSON.stringify(value)
    : `(${value.length} chars)…${JSON.stringify(value.slice(-MAX_SHOWN_VALUE_CHARS))}`;
  const lines = [
    `  key ${JSON.stringify(check.key)}: ${check.linearization.length} of ` +
    `${check.operations.length} operations linearize, leaving the value ${shown}; ` +
    `none of these can come next:`,
  ];
  for (const index of check.stuck.slice(0, MAX_LISTED_OPERATIONS)) {
    lines.push(`    #${index} ${describeOperation(history[index])}`);
  }
  if (check.stuck.length > MAX_LISTED_OPERATIONS) {
    lines.push(`    and ${check.stuck.length - MAX_LISTED_OPERATIONS} more`);
  }
  return lines;
}
