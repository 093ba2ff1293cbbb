import assert from "node:assert/strict";
import { createProgressDisplay, formatStatus, type JobStatus } from "./progress.ts";

const base: JobStatus = {
  mapCount: 8,
  mapsDone: 3,
  reduceCount: 10,
  reducesDone: 0,
  reissued: 1,
  staleReports: 0,
  workers: 3,
  done: false,
};

function fakeOutput(terminal: boolean) {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  return {
    chunks,
    writeSync(bytes: Uint8Array) {
      chunks.push(decoder.decode(bytes));
      return bytes.length;
    },
    isTerminal: () => terminal,
  };
}

Deno.test("formatStatus shows maps, reduces, workers and re-issued tasks", () => {
  assert.equal(formatStatus(base), "maps 3/8 · reduces 0/10 · workers 3 · re-issued 1");
  assert.match(formatStatus({ ...base, done: true }), /^done: /);
});

Deno.test("off a terminal, progress prints one plain line per change", () => {
  const output = fakeOutput(false);
  const display = createProgressDisplay("auto", output);
  display.update(base);
  display.update(base);
  display.update({ ...base, mapsDone: 4 });
  display.finish({ ...base, mapsDone: 4 });
  assert.deepEqual(output.chunks, [
    "progress: maps 3/8 · reduces 0/10 · workers 3 · re-issued 1\n",
    "progress: maps 4/8 · reduces 0/10 · workers 3 · re-issued 1\n",
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
    "\r\x1b[Kmaps 3/8 · reduces 0/10 · workers 3 · re-issued 1" +
      "\r\x1b[KRe-issued map task 2\nmaps 3/8 · reduces 0/10 · workers 3 · re-issued 1" +
      "\r\x1b[Kdone: maps 3/8 · reduces 0/10 · workers 3 · re-issued 1\n",
  );
});
