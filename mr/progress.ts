/**
 * The coordinator's progress, for a person watching: on a terminal one live line redrawn in
 * place with `\r`; elsewhere (a log file, a pipe, a test) one plain line each time the counts
 * change. Both go to standard error, so standard output stays free for scripts.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { TaskCounts } from "./task_table.ts";

/** What the progress line shows. */
export interface JobStatus extends TaskCounts {
  /** Workers heard from lately or holding a task. */
  workers: number;
  /** Whether every reduce task is done. */
  done: boolean;
}

/**
 * How progress is shown: `auto` picks `terminal` when standard error is a terminal and `lines`
 * otherwise; `off` shows nothing; a function receives every status instead.
 */
export type ProgressMode = "auto" | "terminal" | "lines" | "off" | ((status: JobStatus) => void);

/** The progress line's text, for example `maps 8/8 · reduces 3/10 · workers 3 · re-issued 1`. */
export function formatStatus(status: JobStatus): string {
  const head = status.done ? "done: " : "";
  return `${head}maps ${status.mapsDone}/${status.mapCount} · reduces ${status.reducesDone}/` +
    `${status.reduceCount} · workers ${status.workers} · re-issued ${status.reissued}`;
}

/** Shows statuses and log lines without the two garbling each other. */
export interface ProgressDisplay {
  /** Shows `status` if its line differs from the last one shown. */
  update(status: JobStatus): void;
  /** Prints one log line (above the live line on a terminal). */
  log(line: string): void;
  /** Shows the final status and ends the live line. */
  finish(status: JobStatus): void;
}

const ERASE_LINE = "\r\x1b[K";

/** Creates the display for `mode`, writing to `output` (standard error by default). */
export function createProgressDisplay(
  mode: ProgressMode,
  output: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean } = Deno.stderr,
): ProgressDisplay {
  const encoder = new TextEncoder();
  const write = (text: string) => {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) {
      const count = output.writeSync(bytes.subarray(written));
      assert(count > 0, "Cannot show progress: standard error accepted no bytes");
      written += count;
    }
  };
  if (typeof mode === "function") {
    return { update: mode, log: (line) => write(`${line}\n`), finish: mode };
  }
  const resolved = mode === "auto" ? (output.isTerminal() ? "terminal" : "lines") : mode;
  let shown = "";
  if (resolved === "off") {
    return { update() {}, log: (line) => write(`${line}\n`), finish() {} };
  }
  if (resolved === "lines") {
    const show = (status: JobStatus) => {
      const line = formatStatus(status);
      if (line !== shown) write(`progress: ${line}\n`);
      shown = line;
    };
    return { update: show, log: (line) => write(`${line}\n`), finish: show };
  }
  return {
    update(status) {
      const line = formatStatus(status);
      if (line !== shown) write(`${ERASE_LINE}${line}`);
      shown = line;
    },
    log(line) {
      write(`${ERASE_LINE}${line}\n${shown}`);
    },
    finish(status) {
      shown = formatStatus(status);
      write(`${ERASE_LINE}${shown}\n`);
    },
  };
}
