import assert from "node:assert/strict";
import { COUNTERS_MAX, CounterSet, countsProblem, formatCounts } from "./counters.ts";

Deno.test("a counter set adds by name, sorts its names, and merges another set's counts", () => {
  const counters = new CounterSet();
  counters.add("words");
  counters.add("long words", 2);
  counters.addAll({ words: 3, empty: 0 });
  assert.deepEqual(counters.counts(), { empty: 0, "long words": 2, words: 4 });
  assert.equal(formatCounts(counters.counts()), "empty=0, long words=2, words=4");
  assert.equal(formatCounts({}), "none");
});

Deno.test("counts that are not whole numbers, bad names and too many counters are refused, naming them", () => {
  const counters = new CounterSet();
  assert.throws(() => counters.add("x", -1), /counter "x" cannot grow by -1: not a whole number/);
  assert.throws(() => counters.add("x", 1.5), /cannot grow by 1.5/);
  assert.throws(() => counters.add(""), /counter name "" is not a string of 1 to 100/);
  for (let name = 0; name < COUNTERS_MAX; name++) counters.add(`c${name}`);
  assert.throws(() => counters.add("one more"), /Cannot count "one more": 100 counters exist/);
  assert.equal(countsProblem({ a: 1 }), null);
  assert.equal(countsProblem([1]), "counters are not an object");
  assert.equal(countsProblem({ a: "1" }), 'counter "a" cannot grow by 1: not a whole number ≥ 0');
});
