import assert from "node:assert/strict";
import { PhaseTimes } from "./phase_times.ts";
import { ManualClock } from "../util/testing/manual_clock.ts";

Deno.test("PhaseTimes sums each phase and lists those that took time in job order", async () => {
  const clock = new ManualClock();
  const times = new PhaseTimes(clock);
  assert.equal(times.format(), "nothing timed");
  await times.time("reduce", () => clock.advance(250));
  await times.time("map", () => clock.advance(1_500));
  times.add("map", 500);
  await assert.rejects(() =>
    times.time("map", () => {
      clock.advance(10);
      throw new Error("app failed");
    })
  );
  assert.equal(times.totalMs("map"), 2_010);
  assert.equal(times.format(), "map 2.01 s · reduce 0.25 s");
});
