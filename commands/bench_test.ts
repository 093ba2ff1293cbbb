import assert from "node:assert/strict";
import { parseClientCounts, parseConsistencies, parseReadShares } from "./bench.ts";
import { MAX_BENCH_CLIENTS } from "../bench/kv.ts";

Deno.test("parseReadShares and parseConsistencies read lists and name what is wrong", () => {
  assert.deepEqual(parseReadShares("0, 0.5,1"), [0, 0.5, 1]);
  assert.throws(() => parseReadShares("0,1.5"), /"1.5" is not a share of gets from 0 to 1/);
  assert.throws(() => parseReadShares("0,"), /"" is not a share of gets/);
  assert.deepEqual(parseConsistencies("lease, serializable"), ["lease", "serializable"]);
  assert.throws(
    () => parseConsistencies("strong"),
    /"strong" is not a consistency: use linearizable, lease, serializable/,
  );
});

Deno.test("parseClientCounts reads a comma-separated list and refuses counts out of range", () => {
  assert.deepEqual(parseClientCounts("1, 16,64"), [1, 16, 64]);
  assert.throws(() => parseClientCounts("1,0"), /"0" is not a client count/);
  assert.throws(() => parseClientCounts(`${MAX_BENCH_CLIENTS + 1}`), /is not a client count/);
  assert.throws(() => parseClientCounts("8,x"), /"x" is not a client count/);
});
