import assert from "node:assert/strict";
import { MAX_BENCH_CLIENTS, parseClientCounts, percentile } from "./bench.ts";

Deno.test("percentile takes the nearest rank of sorted values", () => {
  const values = Array.from({ length: 100 }, (_, index) => index + 1);
  assert.equal(percentile(values, 0.5), 50);
  assert.equal(percentile(values, 0.99), 99);
  assert.equal(percentile(values, 1), 100);
  assert.equal(percentile([4], 0.99), 4);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

Deno.test("parseClientCounts reads a comma-separated list and refuses counts out of range", () => {
  assert.deepEqual(parseClientCounts("1, 16,64"), [1, 16, 64]);
  assert.throws(() => parseClientCounts("1,0"), /"0" is not a client count/);
  assert.throws(() => parseClientCounts(`${MAX_BENCH_CLIENTS + 1}`), /is not a client count/);
  assert.throws(() => parseClientCounts("8,x"), /"x" is not a client count/);
});
