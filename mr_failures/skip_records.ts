/**
 * Skipping bad records (the MapReduce paper, section 4.6): a map task that failed repeatedly
 * — say map throws on one malformed line — runs its next attempt in skip mode when the job
 * allows it (`dsys coordinator --skip-bad-records`). The worker then maps the split whole; if
 * that fails, each half; and so on down to single lines, leaving out the lines map fails on
 * alone. This suits applications whose map treats lines independently (wc, indexer): mapping
 * the pieces then gives what mapping the split without the bad lines gives. The skipped lines
 * are counted under {@linkcode SKIPPED_RECORDS_COUNTER}, and the first of them reported with
 * their numbers in the split; the coordinator, which has the input file (the worker may not),
 * turns them into line numbers of the file and logs them, up to
 * {@linkcode SKIPPED_LOG_LINES_MAX} a job.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { KeyValue, MapReduceApp } from "../apps/app.ts";
import { CounterSet } from "../apps/counters.ts";
import { checkedPairs } from "../apps/app_contract.ts";
import type { InputSplit } from "../mr_data/input_split.ts";
import { errorLine, SKIPPED_LISTED_MAX, type SkippedRecord } from "../mr/protocol.ts";

/** The counter that counts skipped records. */
export const SKIPPED_RECORDS_COUNTER = "skipped records";
/** Most skipped records the coordinator logs in one job; the counter counts every one. */
export const SKIPPED_LOG_LINES_MAX = 100;
/** Bytes read at a time while counting the lines before a split. */
const COUNT_CHUNK_BYTES = 64 * 1024;

/** What a map in skip mode produced. */
export interface SkippingMap {
  /** The pairs of every line range map succeeded on, in line order. */
  readonly pairs: KeyValue[];
  /** The first {@linkcode SKIPPED_LISTED_MAX} lines left out, in order. */
  readonly skipped: SkippedRecord[];
}

/**
 * Maps `contents`, the lines of a split of `inputName`, skipping the lines map fails on alone.
 * The counts of a failed map call are dropped with it; those of the calls that succeeded, and
 * the number of skipped lines, go to `counters`.
 */
export async function mapSkippingBadRecords(
  app: MapReduceApp,
  inputName: string,
  contents: string,
  counters: CounterSet,
): Promise<SkippingMap> {
  // Each piece keeps its newline, so that pieces joined are the text they came from.
  const lines = contents.split(/(?<=\n)/);
  const parts: KeyValue[][] = [];
  const skipped: SkippedRecord[] = [];
  let skippedCount = 0;
  // Ranges still to map, the next on top; popping the left half first keeps line order.
  const pending: [number, number][] = [[0, lines.length]];
  // Bounded: every range is mapped once and halved at most once, so at most 2 × lines ranges.
  for (let mapped = 0; pending.length > 0 && mapped < 2 * lines.length; mapped++) {
    const [first, end] = pending.pop()!;
    const rangeCounters = new CounterSet();
    try {
      const result = await app.map(inputName, lines.slice(first, end).join(""), rangeCounters);
      parts.push(checkedPairs(app, inputName, result));
      counters.addAll(rangeCounters.counts());
      continue;
    } catch (error) {
      if (end - first > 1) {
        const middle = first + Math.floor((end - first) / 2);
        pending.push([middle, end], [first, middle]);
        continue;
      }
      skippedCount++;
      if (skipped.length < SKIPPED_LISTED_MAX) {
        skipped.push({ splitLine: first + 1, error: errorLine(error) });
      }
    }
  }
  assert(pending.length === 0, `Mapped ${2 * lines.length} ranges of ${lines.length} lines`);
  if (skippedCount > 0) counters.add(SKIPPED_RECORDS_COUNTER, skippedCount);
  return { pairs: parts.flat(), skipped };
}

/**
 * The number, from 1, of the first line `split` owns in its file: the lines that start before
 * the split's range are counted by reading the file up to it, in bounded chunks.
 */
export async function firstLineOf(
  split: Pick<InputSplit, "path" | "offset">,
): Promise<number> {
  if (split.offset === 0) return 1;
  // The first line starts at byte 0; every newline before byte offset - 1 starts another line
  // before the range; the split's first line is the next one.
  const end = split.offset - 1;
  const file = await Deno.open(split.path, { read: true });
  try {
    const buffer = new Uint8Array(COUNT_CHUNK_BYTES);
    let newlines = 0;
    let position = 0;
    // Bounded: every pass reads at least one byte of the `end` bytes, or stops.
    while (position < end) {
      const count = await file.read(buffer.subarray(0, Math.min(buffer.length, end - position)));
      if (count === null) break;
      for (let index = 0; index < count; index++) if (buffer[index] === 0x0a) newlines++;
      position += count;
    }
    return newlines + 2;
  } finally {
    file.close();
  }
}

/** The coordinator's log of skipped records, bounded to {@linkcode SKIPPED_LOG_LINES_MAX} lines. */
export class SkippedRecordLog {
  readonly #log: (line: string) => void;
  #linesLogged = 0;

  /** Creates a log that writes through `log`. */
  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /**
   * Logs the records `skipped` that map task `taskId` of `inputName` skipped, `skippedCount` in
   * all, as far as the bound allows; `firstLine` is the number in the file of the split's first
   * line, or null when unknown (then lines are numbered within the split).
   */
  note(
    taskId: number,
    inputName: string,
    firstLine: number | null,
    skipped: SkippedRecord[],
    skippedCount: number,
  ): void {
    for (const record of skipped) {
      if (!this.#room()) return;
      const where = firstLine === null
        ? `line ${record.splitLine} of the split`
        : `line ${firstLine + record.splitLine - 1}`;
      this.#log(
        `Skipped a bad record of map task ${taskId}: ${inputName} ${where}: ${record.error}`,
      );
    }
    const unlisted = skippedCount - skipped.length;
    if (unlisted > 0 && this.#room()) {
      this.#log(
        `Skipped ${unlisted} more bad records of map task ${taskId} (${inputName}), ` +
          `counted under "${SKIPPED_RECORDS_COUNTER}"`,
      );
    }
  }

  /** Whether one more line may be logged; the last one allowed says what happens next. */
  #room(): boolean {
    if (this.#linesLogged > SKIPPED_LOG_LINES_MAX) return false;
    this.#linesLogged++;
    if (this.#linesLogged <= SKIPPED_LOG_LINES_MAX) return true;
    this.#log(
      `Logged ${SKIPPED_LOG_LINES_MAX} skipped records; further ones are only counted, ` +
        `under "${SKIPPED_RECORDS_COUNTER}"`,
    );
    return false;
  }
}
