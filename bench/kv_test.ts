import assert from "node:assert/strict";
import { levelsOf, percentile } from "./kv.ts";

Deno.test("percentile takes the nearest rank of sorted values", () => {
  const values = Array.from({ length: 100 }, (_, index) => index + 1);
  assert.equal(percentile(values, 0.5), 50);
  assert.equal(percentile(values, 0.99), 99);
  assert.equal(percentile(values, 1), 100);
  assert.equal(percentile([4], 0.99), 4);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

Deno.test("a level of puts only has no consistency; every share of gets runs at every level", () => {
  const levels = levelsOf(3, {
    clients: [1, 64],
    seconds: 1,
    readShares: [0, 1],
    consistencies: ["linearizable", "lease"],
  });
  assert.deepEqual(
    levels.map((level) => [level.clients, level.readShare, level.consistency]),
    [
      [1, 0, null],
      [1, 1, "linearizable"],
      [1, 1, "lease"],
      [64, 0, null],
      [64, 1, "linearizable"],
      [64, 1, "lease"],
    ],
  );
});
