import assert from "node:assert/strict";
import {
  createProgressDisplay,
  cutToWidth,
  formatStatus,
  type JobStatus,
  PROGRESS_LINE_INTERVAL_MS,
  type ProgressOutput,
} from "./progress.ts";
import { ManualClock } from "../util/testing/manual_clock.ts";

const base: JobStatus = {
  mapCount: 8,
  mapsDone: 3,
  reduceCount: 10,
  reducesDone: 0,
  reissued: 1,
  backups: 0,
  staleReports: 0,
  workers: 3,
  done: false,
  elapsedMs: 4_000,
  inputBytes: 8 * 1024 * 1024,
  failures: 0,
};

const BASE_LINE = "maps 3/8 · reduces 0/10 · workers 3 · re-issued 1 · 4.0 s · 2 MiB/s";

function fakeOutput(terminal: boolean, columns: number | null = null) {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const output: ProgressOutput & { chunks: string[]; broken: boolean } = {
    chunks,
    broken: false,
    writeSync(bytes: Uint8Array) {
      if (output.broken) throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
      chunks.push(decoder.decode(bytes));
      return bytes.length;
    },
    isTerminal: () => terminal,
    columns: () => columns,
  };
  return output;
}

Deno.test("formatStatus shows maps, reduces, workers, re-issued tasks, elapsed time and input bytes/s", () => {
  assert.equal(formatStatus(base), BASE_LINE);
  assert.match(formatStatus({ ...base, done: true }), /^done: /);
  assert.match(formatStatus({ ...base, failures: 2 }), / · re-issued 1 · failed 2 · 4\.0 s/);
  assert.match(formatStatus({ ...base, elapsedMs: 0 }), / · 0\.0 s · 0 B\/s$/);
});

Deno.test("off a terminal, progress prints a line when the counts change, at most one a second, and the last state at the end", () => {
  const output = fakeOutput(false);
  const clock = new ManualClock();
  const display = createProgressDisplay("auto", output, clock);
  display.update(base);
  clock.advance(300);
  display.update({ ...base, elapsedMs: 4_300 }); // Only the time moved: no line.
  display.update({ ...base, mapsDone: 4, elapsedMs: 4_300 }); // Too soon after the last line.
  clock.advance(PROGRESS_LINE_INTERVAL_MS - 300);
  display.update({ ...base, mapsDone: 5, elapsedMs: 5_000 });
  clock.advance(10);
  display.update({ ...base, mapsDone: 6, elapsedMs: 5_010 }); // Too soon: shown by finish.
  display.finish({ ...base, mapsDone: 6, elapsedMs: 5_020 });
  display.finish({ ...base, mapsDone: 6, elapsedMs: 5_020 });
  assert.deepEqual(output.chunks, [
    `progress: ${BASE_LINE}\n`,
    "progress: maps 5/8 · reduces 0/10 · workers 3 · re-issued 1 · 5.0 s · 1.6 MiB/s\n",
    "progress: maps 6/8 · reduces 0/10 · workers 3 · re-issued 1 · 5.0 s · 1.6 MiB/s\n",
  ]);
});

Deno.test("on a terminal, progress redraws one line and keeps log lines above it", () => {
  const output = fakeOutput(true);
  const display = createProgressDisplay("auto", output);
  display.update(base);
  display.log("Re-issued map task 2");
  display.finish({ ...base, done: true });
  const text = output.chunks.join("");

  assert.equal(
    text,
    `\r\x1b[K${BASE_LINE}` +
      `\r\x1b[KRe-issued map task 2\n${BASE_LINE}` +
      `\r\x1b[Kdone: ${BASE_LINE}\n`,
  );
});

Deno.test("on a terminal, the live line is cut to the terminal's width so it never wraps", () => {
  const output = fakeOutput(true, 40);
  const display = createProgressDisplay("terminal", output);
  display.update(base);
  display.log("a log line longer than forty columns is printed whole");
  display.finish({ ...base, done: true });
  const cut = `${BASE_LINE.slice(0, 38)}…`;
  assert.deepEqual(output.chunks, [
    `\r\x1b[K${cut}`,
    `\r\x1b[Ka log line longer than forty columns is printed whole\n${cut}`,
    `\r\x1b[K${`done: ${BASE_LINE}`.slice(0, 38)}…\n`,
  ]);
});

Deno.test("cutToWidth leaves one column free and marks the cut", () => {
  assert.equal(cutToWidth("abcdef", null), "abcdef");
  assert.equal(cutToWidth("abcdef", 7), "abcdef");
  assert.equal(cutToWidth("abcdef", 6), "abcd…");
  assert.equal(cutToWidth("abcdef", 2), "…");
  assert.equal(cutToWidth("abcdef", 1), "");
  assert.equal(cutToWidth("abcdef", 0), "");
});

Deno.test("once standard error is a broken pipe, progress and log lines are dropped without failing", () => {
  for (const mode of ["lines", "terminal"] as const) {
    const output = fakeOutput(mode === "terminal");
    const display = createProgressDisplay(mode, output, new ManualClock());
    display.update(base);
    output.broken = true;
    display.log("nobody reads this");
    display.update({ ...base, mapsDone: 8 });
    display.finish({ ...base, mapsDone: 8, done: true });
    assert.equal(output.chunks.length, 1, mode);
  }
  const output = fakeOutput(false);
  output.writeSync = () => {
    throw new Deno.errors.PermissionDenied("not a pipe problem");
  };
  assert.throws(() => createProgressDisplay("lines", output).log("x"), /not a pipe problem/);
});
