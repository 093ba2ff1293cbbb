import assert from "node:assert/strict";
import { formatOf, HistoryInputError, readHistory, toKvOperations } from "./history_file.ts";
import type { ModelName } from "./models.ts";

/** A `dsys kv shell` result line. */
function shellLine(fields: Record<string, unknown>): string {
  return JSON.stringify({
    op: "get",
    key: "k",
    value: "",
    output: "",
    ok: true,
    unknown: false,
    clientId: 7,
    callMs: 1,
    returnMs: 2,
    ...fields,
  });
}

Deno.test("formatOf goes by extension, else by whether the first line is a JSON object", () => {
  assert.equal(formatOf("h.edn", '{"op": 1}'), "edn");
  assert.equal(formatOf("h.jsonl", "{:f :read}"), "json");
  assert.equal(formatOf("h.txt", '\n{"op":"get"}'), "json");
  assert.equal(formatOf("h.txt", "; comment\n{:process 0}"), "edn");
});

Deno.test("kv shell lines: unknown outcomes return at infinity, failures and error lines drop", () => {
  const text = [
    shellLine({ op: "put", value: "a", callMs: 1, returnMs: 2 }),
    shellLine({ op: "append", value: "b", ok: false, unknown: true, callMs: 3, returnMs: 9 }),
    shellLine({ op: "put", value: "c", ok: false, unknown: false }),
    JSON.stringify({ error: 'Cannot read "x"', ok: false, unknown: false }),
    "",
    shellLine({ output: "a", callMs: 4, returnMs: 5 }),
  ].join("\n");
  const history = readHistory("a.jsonl", text, "kv");
  assert.deepEqual(history.map((operation) => [operation.kind, operation.source]), [
    ["put", "a.jsonl:1"],
    ["append", "a.jsonl:2"],
    ["get", "a.jsonl:6"],
  ]);
  assert.equal(history[1].returnMs, Infinity);
  assert.equal(history[1].maybe, true);
  assert.deepEqual(toKvOperations(history)[2], {
    clientId: 7,
    kind: "get",
    key: "k",
    value: "",
    output: "a",
    callMs: 4,
    returnMs: 5,
  });
});

Deno.test("JSON lines for the other models: cas, versions and replies, ErrMaybe", () => {
  const cas = readHistory(
    "c.jsonl",
    shellLine({ op: "cas", expected: 1, value: 2 }),
    "cas-register",
  );
  assert.deepEqual([cas[0].kind, cas[0].expected, cas[0].value], ["cas", "1", "2"]);
  const versioned = readHistory(
    "v.jsonl",
    [
      shellLine({ op: "put", value: "a", version: 0, err: "ErrMaybe" }),
      shellLine({ op: "get", err: "ErrNoKey" }),
      shellLine({ op: "put", value: "b", version: 4, err: "ErrVersion" }),
    ].join("\n"),
    "versioned-kv",
  );
  assert.deepEqual(
    versioned.map((operation) => [operation.reply, operation.maybe, operation.returnMs]),
    [["OK", true, 2], ["ErrNoKey", false, 2], ["ErrVersion", false, 2]],
  );
  // Register models read get and put as read and write.
  assert.equal(readHistory("r.jsonl", shellLine({}), "register")[0].kind, "read");
});

Deno.test("EDN: invocations pair with completions; :fail drops, :info never returns", () => {
  const text = [
    "{:process 0, :type :invoke, :f :write, :value 1}",
    "{:process 1, :type :invoke, :f :write, :value 2}",
    "{:process :nemesis, :type :info, :f :start, :value nil}",
    "{:process 0, :type :ok, :f :write, :value 1}",
    "{:process 1, :type :fail, :f :write, :value 2}",
    "{:process 2, :type :invoke, :f :cas, :value [1 3]}",
    "{:process 3, :type :invoke, :f :read, :value nil}",
    "{:process 2, :type :info, :f :cas, :value [1 3]}",
    "{:process 3, :type :ok, :f :read, :value 3}",
    '{:process 4, :type :invoke, :f :write, :value "s"}',
  ].join("\n");
  const history = readHistory("h.edn", text, "cas-register");
  assert.deepEqual(
    history.map((operation) => [
      operation.kind,
      operation.callMs,
      operation.returnMs,
      operation.value ?? operation.output,
    ]),
    [["write", 1, 4, "1"], ["cas", 6, Infinity, "3"], ["read", 7, 9, "3"], [
      "write",
      10,
      Infinity,
      "s",
    ]],
  );
  assert.equal(history[1].expected, "1");
});

Deno.test("EDN: keys from :key or from [key value] tuples, times from :time", () => {
  const tuples = [
    '{:process 0, :type :invoke, :f :read, :value ["a" nil], :time 1000000}',
    '{:process 0, :type :ok, :f :read, :value ["a" 5], :time 3000000}',
    "{:process 1, :type :invoke, :f :cas, :value [7 [1 2]], :time 2000000}",
    "{:process 1, :type :ok, :f :cas, :value [7 [1 2]], :time 4000000}",
    "{:process 2, :type :invoke, :f :write, :key :b, :value 9, :time 5000000}",
    "{:process 2, :type :ok, :f :write, :key :b, :value 9, :time 6000000}",
  ].join("\n");
  const history = readHistory("t.edn", tuples, "cas-register");
  assert.deepEqual(
    history.map((operation) => [operation.key, operation.callMs, operation.returnMs]),
    [["a", 1, 3], ["7", 2, 4], [":b", 5, 6]],
  );
  assert.deepEqual([history[0].output, history[1].expected, history[1].value], ["5", "1", "2"]);
});

Deno.test("EDN for the versioned model: [value version] pairs, definite errors kept", () => {
  const text = [
    '{:process 0, :type :invoke, :f :put, :key "k", :value ["a" 0]}',
    '{:process 0, :type :ok, :f :put, :key "k", :value ["a" 0]}',
    '{:process 0, :type :invoke, :f :put, :key "k", :value ["b" 0]}',
    '{:process 0, :type :fail, :f :put, :key "k", :value ["b" 0], :error :ErrVersion}',
    '{:process 0, :type :invoke, :f :put, :key "k", :value ["c" 1]}',
    '{:process 0, :type :info, :f :put, :key "k", :value ["c" 1], :error :ErrMaybe}',
    '{:process 0, :type :invoke, :f :get, :key "k", :value nil}',
    '{:process 0, :type :ok, :f :get, :key "k", :value ["c" 2]}',
    '{:process 0, :type :invoke, :f :get, :key "z", :value nil}',
    '{:process 0, :type :ok, :f :get, :key "z", :value nil}',
  ].join("\n");
  const history = readHistory("v.edn", text, "versioned-kv");
  assert.deepEqual(
    history.map((operation) => [
      operation.kind,
      operation.reply,
      operation.version,
      operation.maybe,
      operation.returnMs,
    ]),
    [
      ["put", "OK", 0, false, 2],
      ["put", "ErrVersion", 0, false, 4],
      ["put", "OK", 1, true, 6],
      ["get", "OK", 2, false, 8],
      ["get", "ErrNoKey", 0, false, 10],
    ],
  );
});

Deno.test("every malformed line is one error that names the file and the line", () => {
  const cases: [string, string, ModelName, RegExp][] = [
    ["a.jsonl", `${shellLine({})}\nnot json`, "kv", /^Cannot read a\.jsonl line 2: not JSON/],
    ["a.jsonl", "[1]", "kv", /line 1: expected a JSON object/],
    [
      "a.jsonl",
      shellLine({ op: "delete" }),
      "kv",
      /line 1: the kv model has no operation "delete"/,
    ],
    ["a.jsonl", shellLine({ op: "append" }), "register", /line 1: .* no operation "append"/],
    ["a.jsonl", shellLine({ callMs: "x" }), "kv", /line 1: "callMs" is not a number/],
    ["a.jsonl", shellLine({ returnMs: 0 }), "kv", /line 1: it returns at 0, before its call at 1/],
    ["a.jsonl", shellLine({ err: "Nope" }), "versioned-kv", /line 1: "err" is "Nope"/],
    ["a.jsonl", shellLine({ version: -1 }), "versioned-kv", /line 1: "version" is -1/],
    ["a.jsonl", shellLine({ key: 3 }), "kv", /line 1: "key" is not a string/],
    [
      "h.edn",
      "{:process 0, :type :invoke, :f :read",
      "register",
      /^Cannot read h\.edn line 1: expected "}"/,
    ],
    ["h.edn", "[1 2]", "register", /line 1: expected a map/],
    [
      "h.edn",
      "{:process 0, :type :ok, :f :read}",
      "register",
      /line 1: :ok of process 0, which invoked nothing/,
    ],
    [
      "h.edn",
      "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :invoke, :f :read}",
      "register",
      /line 2: process 0 invokes while its line 1 is open/,
    ],
    [
      "h.edn",
      "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :write}",
      "register",
      /line 2: :write completes :read/,
    ],
    ["h.edn", "{:process 0, :type :begin, :f :read}", "register", /line 1: :type is not/],
    [
      "h.edn",
      '{:process "p", :type :ok, :f :read}',
      "register",
      /line 1: :process is not a number/,
    ],
    [
      "h.edn",
      "{:process 0, :type :invoke, :f :cas, :value 1}",
      "cas-register",
      /line 1: expected a cas value/,
    ],
    [
      "h.edn",
      "{:process 0, :type :invoke, :f :read, :time 5}\n{:process 0, :type :ok, :f :read}",
      "register",
      /line 2: some events have :time and others do not/,
    ],
    [
      "h.edn",
      "{:process 0, :type :invoke, :f :write, :value {:a 1}}",
      "register",
      /line 1: value is not a string/,
    ],
  ];
  for (const [file, text, model, message] of cases) {
    assert.throws(() => readHistory(file, text, model), (error) => {
      assert.ok(error instanceof HistoryInputError, `${file}: ${text}`);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("\n"), error.message);
      return true;
    });
  }
});
