/**
 * The coordinator's progress, for a person watching: on a terminal one live line redrawn in
 * place with `\r` and cut to the terminal's width, so it never wraps; elsewhere (a log file, a
 * pipe, a test) a plain line when the counts change, at most one a second, and the final state
 * at the end. Both go to standard error, so standard output stays free for scripts. Once
 * standard error is a broken pipe (whoever read it went away) the display drops what it would
 * write: the job matters more than its progress line.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Clock, realClock } from "../util/clock.ts";
import type { TaskCounts } from "./task_table.ts";
import { formatByteSize } from "./byte_size.ts";

/** Off a terminal, the least time between two progress lines. */
export const PROGRESS_LINE_INTERVAL_MS = 1_000;

/** What the progress line shows. */
export interface JobStatus extends TaskCounts {
  /** Workers heard from lately or holding a task. */
  workers: number;
  /** Whether every reduce task is done. */
  done: boolean;
  /** Time since the coordinator started, up to the job's end. */
  elapsedMs: number;
  /** Input bytes read by the maps accepted so far. */
  inputBytes: number;
  /** Attempts that failed. */
  failures: number;
}

/**
 * How progress is shown: `auto` picks `terminal` when standard error is a terminal and `lines`
 * otherwise; `off` shows nothing; a function receives every status instead.
 */
export type ProgressMode = "auto" | "terminal" | "lines" | "off" | ((status: JobStatus) => void);

/**
 * The progress line's text, for example
 * `maps 8/8 · reduces 3/10 · workers 3 · re-issued 1 · 12.0 s · 4.2 MiB/s`: the counts, then the
 * time so far and the input read per second.
 */
export function formatStatus(status: JobStatus): string {
  const seconds = status.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(status.inputBytes / seconds) : 0;
  return `${formatCounts(status)} · ${seconds.toFixed(1)} s · ${formatByteSize(rate)}/s`;
}

/** The counts part of {@linkcode formatStatus}: what changes only when the job moves on. */
function formatCounts(status: JobStatus): string {
  const head = status.done ? "done: " : "";
  const failed = status.failures > 0 ? ` · failed ${status.failures}` : "";
  const backups = status.backups > 0 ? ` · backups ${status.backups}` : "";
  return `${head}maps ${status.mapsDone}/${status.mapCount} · reduces ${status.reducesDone}/` +
    `${status.reduceCount} · workers ${status.workers} · re-issued ${status.reissued}` +
    `${backups}${failed}`;
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

/** Where progress goes: standard error, or a fake in tests. */
export interface ProgressOutput {
  /** Writes some of `bytes` and returns how many; throws `BrokenPipe` once the reader left. */
  writeSync(bytes: Uint8Array): number;
  /** Whether the output is a terminal, where the line is redrawn in place. */
  isTerminal(): boolean;
  /** The terminal's width in columns, or null when unknown. */
  columns(): number | null;
}

/** Standard error as a {@linkcode ProgressOutput}. */
export const standardError: ProgressOutput = {
  writeSync: (bytes) => Deno.stderr.writeSync(bytes),
  isTerminal: () => Deno.stderr.isTerminal(),
  columns: () => {
    try {
      return Deno.consoleSize().columns;
    } catch {
      return null; // No console to measure (standard streams redirected).
    }
  },
};

/**
 * Creates the display for `mode`, writing to `output` (standard error by default); off a
 * terminal `clock` spaces the lines out.
 */
export function createProgressDisplay(
  mode: ProgressMode,
  output: ProgressOutput = standardError,
  clock: Clock = realClock,
): ProgressDisplay {
  const write = writerTo(output);
  if (typeof mode === "function") {
    return { update: mode, log: (line) => write(`${line}\n`), finish: mode };
  }
  const resolved = mode === "auto" ? (output.isTerminal() ? "terminal" : "lines") : mode;
  if (resolved === "off") {
    return { update() {}, log: (line) => write(`${line}\n`), finish() {} };
  }
  if (resolved === "lines") return linesDisplay(write, clock);
  return terminalDisplay(write, () => output.columns());
}

/**
 * A function writing all of a text to `output`, or nothing once `output` is a broken pipe: the
 * reader of standard error went away, and neither the job nor any later write should fail
 * because of it. Nothing says so, since the only place to say it is gone.
 */
function writerTo(output: ProgressOutput): (text: string) => void {
  const encoder = new TextEncoder();
  let broken = false;
  return (text) => {
    if (broken) return;
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) {
      let count: number;
      try {
        count = output.writeSync(bytes.subarray(written));
      } catch (error) {
        if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
        broken = true;
        return;
      }
      assert(count > 0, "Cannot show progress: standard error accepted no bytes");
      written += count;
    }
  };
}

/** Plain lines: one when the counts changed, at most one per interval, and the last state. */
function linesDisplay(write: (text: string) => void, clock: Clock): ProgressDisplay {
  let shownCounts: string | null = null;
  let shownLine = "";
  let shownAtMs = -Infinity;
  const show = (line: string, counts: string) => {
    write(`progress: ${line}\n`);
    [shownLine, shownCounts, shownAtMs] = [line, counts, clock.now()];
  };
  return {
    update(status) {
      const counts = formatCounts(status);
      if (counts === shownCounts) return;
      if (clock.now() - shownAtMs < PROGRESS_LINE_INTERVAL_MS) return;
      show(formatStatus(status), counts);
    },
    log: (line) => write(`${line}\n`),
    finish(status) {
      const line = formatStatus(status);
      if (line !== shownLine) show(line, formatCounts(status));
    },
  };
}

/** One line redrawn in place, cut to the terminal's width, with log lines printed above it. */
function terminalDisplay(
  write: (text: string) => void,
  columns: () => number | null,
): ProgressDisplay {
  let shown = "";
  const fit = (line: string) => cutToWidth(line, columns());
  return {
    update(status) {
      const line = fit(formatStatus(status));
      if (line !== shown) write(`${ERASE_LINE}${line}`);
      shown = line;
    },
    log(line) {
      write(`${ERASE_LINE}${line}\n${shown}`);
    },
    finish(status) {
      shown = fit(formatStatus(status));
      write(`${ERASE_LINE}${shown}\n`);
    },
  };
}

/**
 * `line` cut to fit a terminal `columns` wide, ending in `…` when cut. One column stays free:
 * some terminals wrap as soon as the last one is written. The line's characters are all one
 * column wide (digits, letters, `·`), so characters count columns.
 */
export function cutToWidth(line: string, columns: number | null): string {
  if (columns === null) return line;
  const width = Math.max(0, columns - 1);
  if (line.length <= width) return line;
  return width === 0 ? "" : `${line.slice(0, width - 1)}…`;
}
