import assert from "node:assert/strict";
import {
  describeOperation,
  HistoryRecorder,
  isUnknownOutcome,
  type Operation,
  partitionByKey,
  UNKNOWN_RETURN_MS,
  validateHistory,
} from "./history.ts";

function operation(fields: Partial<Operation>): Operation {
  return {
    clientId: 1,
    kind: "put",
    key: "k",
    value: "v",
    output: "",
    callMs: 0,
    returnMs: 1,
    ...fields,
  };
}

Deno.test("validation names the operation at fault", () => {
  validateHistory([operation({}), operation({ returnMs: UNKNOWN_RETURN_MS })]);
  assert.throws(
    () => validateHistory([operation({}), operation({ kind: "cas" as "put" })]),
    /Operation 1 \(client 1\) has unknown kind "cas"/,
  );
  assert.throws(
    () => validateHistory([operation({ callMs: Infinity })]),
    /Operation 0 \(client 1\) has call time Infinity/,
  );
  assert.throws(
    () => validateHistory([operation({ key: 7 as unknown as string })]),
    /Operation 0 \(client 1\) has a key that is not a string/,
  );
});

Deno.test("partitioning groups indices by key, in sorted key order", () => {
  const history = [
    operation({ key: "b" }),
    operation({ key: "a" }),
    operation({ key: "b" }),
  ];
  assert.deepEqual([...partitionByKey(history)], [["a", [1]], ["b", [0, 2]]]);
});

Deno.test("operations are described with their client, arguments and times", () => {
  assert.equal(
    describeOperation(operation({ kind: "get", value: "", output: "xy", callMs: 3, returnMs: 5 })),
    'client 1: get("k") -> "xy" [3, 5]',
  );
  assert.equal(
    describeOperation(operation({ kind: "append", returnMs: UNKNOWN_RETURN_MS })),
    'client 1: append("k", "v") [0, unknown]',
  );
});

Deno.test("the recorder takes times from its clock and leaves unfinished operations unknown", () => {
  let nowMs = 10;
  const recorder = new HistoryRecorder({ now: () => nowMs }, 2);
  const append = recorder.begin(3, "append", "k", "x");
  nowMs = 12;
  const get = recorder.begin(4, "get", "k");
  nowMs = 15;
  recorder.end(get, "x");
  assert.throws(() => recorder.end(get, "x"), /Operation 1 already returned/);
  assert.throws(() => recorder.begin(5, "get", "k"), /the recorder holds at most 2/);
  const history = recorder.history();
  assert.deepEqual(history[1], {
    clientId: 4,
    kind: "get",
    key: "k",
    value: "",
    output: "x",
    callMs: 12,
    returnMs: 15,
  });
  assert.equal(history[0].callMs, 10);
  assert.ok(isUnknownOutcome(history[0]));
  nowMs = 20;
  recorder.end(append);
  assert.equal(recorder.history()[0].returnMs, 20);
});
