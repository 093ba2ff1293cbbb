import assert from "node:assert/strict";
import { checkedPairs, checkReduceResult, describeValue } from "./app_contract.ts";
import type { MapReduceApp } from "./app.ts";

const app: MapReduceApp = { name: "./my_app.ts", map: () => [], reduce: () => "" };

Deno.test("describeValue renders any value briefly, whatever it is", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(describeValue(undefined), "undefined");
  assert.equal(describeValue(null), "null");
  assert.equal(describeValue({ key: "a", value: 1 }), '{"key":"a","value":1}');
  assert.equal(describeValue(12n), "12n");
  assert.equal(describeValue(Symbol("s")), "Symbol(s)");
  assert.equal(describeValue(function named() {}), "a function named");
  assert.equal(describeValue(cyclic), "[object Object]");
  assert.equal(describeValue("x".repeat(200)), `"${"x".repeat(79)}…`);
});

Deno.test("checkedPairs accepts {key, value} strings and names the first bad element", () => {
  const good = [{ key: "a", value: "1" }, { key: "", value: "" }];
  assert.equal(checkedPairs(app, "in.txt", good), good);
  assert.throws(
    () => checkedPairs(app, "in.txt", { key: "a", value: "1" }),
    /^Error: App \.\/my_app\.ts: map of in\.txt returned \{"key":"a","value":"1"\}, not an array of \{key, value\} pairs of strings$/,
  );
  assert.throws(
    () => checkedPairs(app, "in.txt", [...good, ["a", "1"]]),
    /returned \["a","1"\] at index 2, not a \{key, value\} pair of strings/,
  );
});

Deno.test("checkReduceResult accepts a string and names the key and value otherwise", () => {
  assert.equal(checkReduceResult(app, "k", ""), "");
  assert.throws(
    () => checkReduceResult(app, "k\n", { count: 2 }),
    /^Error: App \.\/my_app\.ts: reduce of key "k\\n" returned \{"count":2\}, not a string$/,
  );
});
