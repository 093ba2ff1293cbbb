import assert from "node:assert/strict";
import type { Operation } from "./history.ts";
import { replay, stepModel } from "./kv_model.ts";

function operation(kind: Operation["kind"], text: string): Operation {
  const isGet = kind === "get";
  return {
    clientId: 0,
    kind,
    key: "k",
    value: isGet ? "" : text,
    output: isGet ? text : "",
    callMs: 0,
    returnMs: 1,
  };
}

Deno.test("the model reads, replaces and appends", () => {
  assert.deepEqual(stepModel("", operation("get", "")), { legal: true, value: "" });
  assert.deepEqual(stepModel("a", operation("get", "b")), { legal: false, value: "a" });
  assert.deepEqual(stepModel("a", operation("put", "b")), { legal: true, value: "b" });
  assert.deepEqual(stepModel("a", operation("append", "b")), { legal: true, value: "ab" });
});

Deno.test("replay gives the value after each operation and stops at the first illegal one", () => {
  const history = [
    operation("append", "a"),
    operation("get", "a"),
    operation("put", "b"),
    operation("get", "a"),
  ];
  assert.deepEqual(replay(history, [0, 1, 2]), { values: ["a", "a", "b"], firstIllegal: -1 });
  assert.deepEqual(replay(history, [0, 2, 3, 1]), { values: ["a", "b"], firstIllegal: 2 });
});
