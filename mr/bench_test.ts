import assert from "node:assert/strict";
import { formatLogLine } from "../observe/log.ts";
import { ManualClock } from "../util/testing/manual_clock.ts";
import { timingsOf } from "./bench.ts";
import { PhaseTimes } from "./phase_times.ts";

Deno.test("timingsOf finds a worker's stamped timings line and sequential's plain one", async () => {
  const clock = new ManualClock();
  const times = new PhaseTimes(clock);
  await times.time("map", () => clock.advance(4_790));
  const phases = times.format();
  // A worker logs the line, stamped with time, level and node; sequential prints it bare.
  const stamped = formatLogLine(
    { ts: 0, level: "info", node: "worker 7", msg: times.line(), fields: {} },
    "text",
  );
  assert.equal(timingsOf(`starting\n${stamped}\n`), phases);
  assert.equal(timingsOf(`${times.line()}\n`), phases);
  assert.equal(timingsOf("no such line\n"), "no timings printed");
});
