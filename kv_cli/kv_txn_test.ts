import assert from "node:assert/strict";
import { parseCompare, parseTxn, parseTxnOp } from "./kv_txn.ts";

Deno.test("parseTxn reads compares, success and failure, each part ended by a blank line", () => {
  const text = [
    "# take the lock if free",
    'version("lock") = 0',
    'value("owner") != "me"',
    "",
    "put lock me",
    'put "a key" "a value with \\"quotes\\""',
    "",
    "get lock",
    "",
    "",
  ].join("\n");
  assert.deepEqual(parseTxn(text), {
    compare: [
      { key: "lock", target: "version", op: "=", value: 0 },
      { key: "owner", target: "value", op: "!=", value: "me" },
    ],
    success: [
      { kind: "put", key: "lock", value: "me" },
      { kind: "put", key: "a key", value: 'a value with "quotes"' },
    ],
    failure: [{ kind: "range", key: "lock" }],
  });
  assert.deepEqual(parseTxn("\ndel a\n"), {
    compare: [],
    success: [{ kind: "delete", key: "a" }],
    failure: [],
  });
});

Deno.test("parseCompare takes numbers quoted or not, and values as strings", () => {
  assert.deepEqual(parseCompare('create("k") > "5"'), {
    key: "k",
    target: "create",
    op: ">",
    value: 5,
  });
  assert.deepEqual(parseCompare("mod(k) < 12"), { key: "k", target: "mod", op: "<", value: 12 });
  assert.deepEqual(parseCompare('value("k") = 12'), {
    key: "k",
    target: "value",
    op: "=",
    value: "12",
  });
});

Deno.test("parseTxnOp reads ranges, prefixes and deletes", () => {
  assert.deepEqual(parseTxnOp("get a c"), { kind: "range", key: "a", end: "c" });
  assert.deepEqual(parseTxnOp("get config/ --prefix"), {
    kind: "range",
    key: "config/",
    end: "config0",
  });
  assert.deepEqual(parseTxnOp("del a"), { kind: "delete", key: "a" });
});

Deno.test("a transaction's text at fault is named in one line", () => {
  assert.throws(
    () => parseCompare('size("k") = 1'),
    /Cannot read comparison "size\(\\"k\\"\) = 1"/,
  );
  assert.throws(() => parseCompare('version("k") = one'), /a version is a whole number, not "one"/);
  assert.throws(() => parseTxnOp("put k"), /Cannot read operation "put k": expected put KEY VALUE/);
  assert.throws(() => parseTxnOp("get a b --prefix"), /--prefix and an end/);
  assert.throws(() => parseTxn("\n\n\nput k v\n"), /compares, success and failure are done/);
  assert.throws(() => parseTxnOp('put "k v'), /"k is not a JSON string/);
});
