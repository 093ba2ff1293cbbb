import assert from "node:assert/strict";
import { ManualClock } from "../util/testing/manual_clock.ts";
import { RepeatLimiter } from "./repeat_limiter.ts";

function limited(linesPerWindow = 3) {
  const clock = new ManualClock();
  const lines: string[] = [];
  const limiter = new RepeatLimiter({
    write: (line) => lines.push(line),
    clock,
    linesPerWindow,
    windowMs: 10_000,
  });
  return { clock, lines, limiter };
}

Deno.test("50 garbage connections give the first lines and one summary at the window's end", () => {
  const { clock, lines, limiter } = limited();
  for (let i = 0; i < 50; i++) limiter.report("garbage connections", `garbage ${i}`);
  assert.deepEqual(lines, ["garbage 0", "garbage 1", "garbage 2"]);
  clock.advance(9_999);
  assert.equal(lines.length, 3);
  clock.advance(1);
  assert.deepEqual(lines.slice(3), ["47 more garbage connections in the last 10 s"]);
  clock.advance(60_000);
  assert.equal(lines.length, 4, "a quiet limiter writes nothing more");
});

Deno.test("a new window writes its first lines again", () => {
  const { clock, lines, limiter } = limited(1);
  limiter.report("refusals", "a");
  limiter.report("refusals", "b");
  clock.advance(10_000);
  limiter.report("refusals", "c");
  assert.deepEqual(lines, ["a", "1 more refusals in the last 10 s", "c"]);
});

Deno.test("kinds are limited apart, and close writes what is pending at once", () => {
  const { clock, lines, limiter } = limited(1);
  limiter.report("garbage connections", "g1");
  limiter.report("garbage connections", "g2");
  limiter.report("refusals", "r1");
  clock.advance(4_000);
  limiter.close();
  assert.deepEqual(lines, ["g1", "r1", "1 more garbage connections in the last 4 s"]);
  clock.advance(20_000);
  assert.equal(lines.length, 3, "no timer is left after close");
});

Deno.test("kinds past the bound share one count, so memory stays bounded", () => {
  const { clock, lines, limiter } = limited(1);
  for (let i = 0; i < 100; i++) limiter.report(`kind ${i}`, `line ${i}`);
  assert.equal(lines.length, 32);
  clock.advance(10_000);
  assert.deepEqual(lines.slice(32), ["68 more other faults in the last 10 s"]);
});
