/**
 * The timeline page's data: the rows a {@linkcode TraceRecorder} keeps, in time order, and the
 * run's header. Rows are arrays, not objects, so a whole lab test's trace stays a few megabytes
 * of inline JSON.
 *
 * @module
 */

/** `kind, atMs, sentMs, fromLane, toLane, label, term, entries, success, outcome`. */
export type MessageRow = [
  "m",
  number,
  number,
  number,
  number,
  string,
  number,
  number,
  number,
  "u" | "x" | "d" | "k",
];
/** A peer's new `role, term, commitIndex, appliedIndex, snapshotIndex`. */
export type StateRow = ["s", number, number, string, number, number, number, number];
/** A peer's log from index `start` on is now `tail` (terms); its last index is the last field. */
export type LogRow = ["l", number, number, number, number[], number];
/** A server started (1) or crashed (0). */
export type CrashRow = ["c", number, number, 0 | 1];
/** The servers a server now reaches both ways. */
export type ReachRow = ["p", number, number, number[]];
/** A client called an operation (`call` numbers it), and the call returned. */
export type CallRow = ["o", number, number, number, string];
/** A client's call returned its output. */
export type ReturnRow = ["r", number, number, number, string];

/** One recorded event; the second field is always its virtual time in ms. */
export type TraceRow = MessageRow | StateRow | LogRow | CrashRow | ReachRow | CallRow | ReturnRow;

/** One run's trace, as the page embeds it. */
export interface TraceData {
  /** The test's label. */
  readonly title: string;
  readonly seed: number;
  /** The command that replays the run. */
  readonly replay: string;
  /** Lane names: servers and clients, in order of first appearance. */
  readonly lanes: readonly string[];
  readonly rows: readonly TraceRow[];
  /** The failed check and its moment, or null for a run that passed. */
  readonly failure: { readonly atMs: number; readonly message: string } | null;
  /** Whether the recorder stopped at its row limit. */
  readonly truncated: boolean;
}
