import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import {
  CLOCK_DRIFT_PERCENTS,
  drawFault,
  drawProfile,
  drawTickPeriodUnits,
  FAULT_KINDS,
  FAULT_MIXES,
  slowestTickUnits,
  TICK_UNITS,
} from "./profile.ts";

Deno.test("tick periods stay within the drift the cores are told, and reach both ends", () => {
  const random = new SeededRandom(7);
  for (const maxClockDriftPercent of CLOCK_DRIFT_PERCENTS) {
    const profile = { ...drawProfile(random), maxClockDriftPercent };
    const slowest = slowestTickUnits(profile);
    assert.equal(slowest, TICK_UNITS + TICK_UNITS * maxClockDriftPercent / 100);
    const periods = new Set<number>();
    for (let peer = 0; peer < 200; peer++) periods.add(drawTickPeriodUnits(random, profile));
    assert.ok([...periods].every((period) => period >= TICK_UNITS && period <= slowest));
    assert.ok(periods.has(TICK_UNITS) && periods.has(slowest), `${[...periods]}`);
  }
});

Deno.test("every fault kind is drawn, pauses among them, and pauses dominate one mix", () => {
  const random = new SeededRandom(3);
  const drawn = new Set(FAULT_MIXES.flatMap((mix) => {
    return Array.from({ length: 500 }, () => drawFault(random, mix));
  }));
  assert.deepEqual([...drawn].sort(), [...FAULT_KINDS].sort());
  const pauseMix = FAULT_MIXES.find((mix) =>
    FAULT_KINDS.every((kind) => kind === "pause" || mix[kind] < mix.pause)
  );
  assert.ok(pauseMix !== undefined, "no mix where pauses dominate");
});
