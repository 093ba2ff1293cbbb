import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import type { Random } from "../util/random.ts";
import { checkHistory, type CheckResult } from "./checker.ts";
import { assertLinearizable, LinearizabilityError } from "./assert_linearizable.ts";
import { type Operation, type OperationKind, UNKNOWN_RETURN_MS } from "./history.ts";
import { generateHistory } from "./history_generator.ts";
import { replay } from "./kv_model.ts";
import { op } from "./testing/histories.ts";

/** Checks that `result` names, for every ok key, an order that is a real linearization. */
function assertLinearizationsValid(history: readonly Operation[], result: CheckResult): void {
  for (const check of result.keys) {
    if (check.verdict !== "ok") continue;
    const { firstIllegal } = replay(history, check.linearization);
    assert.equal(firstIllegal, -1, `key ${check.key}: the linearization breaks the model`);
    const position = new Map(check.linearization.map((index, rank) => [index, rank]));
    for (const index of check.operations) {
      if (history[index].returnMs === UNKNOWN_RETURN_MS) continue;
      assert.ok(
        position.has(index),
        `key ${check.key}: operation ${index} returned but is missing`,
      );
    }
    // Real time: no operation may come after one that was called after it returned.
    const order = check.linearization.map((index) => history[index]);
    let earliestLaterReturnMs = Infinity;
    for (let rank = order.length - 1; rank >= 0; rank--) {
      assert.ok(
        earliestLaterReturnMs >= order[rank].callMs,
        `key ${check.key}: rank ${rank} is late`,
      );
      earliestLaterReturnMs = Math.min(earliestLaterReturnMs, order[rank].returnMs);
    }
  }
}

function verdictOf(history: readonly Operation[]): string {
  const result = checkHistory(history, { timeoutMs: 10_000 });
  assertLinearizationsValid(history, result);
  return result.verdict;
}

Deno.test("an empty history is linearizable", () => {
  assert.equal(verdictOf([]), "ok");
});

Deno.test("a sequential history is linearizable", () => {
  const history = [
    op(0, "get", "k", "", 0, 1),
    op(0, "put", "k", "a", 2, 3),
    op(1, "append", "k", "b", 4, 5),
    op(1, "get", "k", "ab", 6, 7),
    op(0, "put", "k", "c", 8, 9),
    op(2, "get", "k", "c", 10, 11),
  ];
  assert.equal(verdictOf(history), "ok");
});

Deno.test("overlapping puts may take effect in either order", () => {
  for (const read of ["a", "b"]) {
    const history = [
      op(0, "put", "k", "a", 0, 10),
      op(1, "put", "k", "b", 1, 9),
      op(2, "get", "k", read, 11, 12),
    ];
    assert.equal(verdictOf(history), "ok", `reading ${read}`);
  }
});

Deno.test("overlapping appends may take effect in either order", () => {
  for (const read of ["ab", "ba"]) {
    const history = [
      op(0, "append", "k", "a", 0, 10),
      op(1, "append", "k", "b", 1, 9),
      op(2, "get", "k", read, 11, 12),
    ];
    assert.equal(verdictOf(history), "ok", `reading ${read}`);
  }
});

Deno.test("a get overlapping a put may read the old or the new value", () => {
  for (const read of ["", "x"]) {
    const history = [op(0, "put", "k", "x", 0, 10), op(1, "get", "k", read, 2, 5)];
    assert.equal(verdictOf(history), "ok", `reading ${JSON.stringify(read)}`);
  }
});

Deno.test("operations that touch at one instant count as overlapping", () => {
  const history = [op(0, "put", "k", "x", 0, 5), op(1, "get", "k", "", 5, 6)];
  assert.equal(verdictOf(history), "ok");
});

Deno.test("an append of unknown outcome whose effect appears is linearizable", () => {
  const history = [
    op(0, "append", "k", "a", 0, UNKNOWN_RETURN_MS),
    op(1, "append", "k", "b", 5, 6),
    op(1, "get", "k", "ba", 20, 21),
  ];
  assert.equal(verdictOf(history), "ok");
});

Deno.test("an append of unknown outcome whose effect never appears is linearizable", () => {
  const history = [
    op(0, "append", "k", "a", 0, UNKNOWN_RETURN_MS),
    op(1, "append", "k", "b", 5, 6),
    op(1, "get", "k", "b", 20, 21),
    op(2, "get", "k", "b", 30, 31),
  ];
  const result = checkHistory(history);
  assert.equal(result.verdict, "ok");
  assert.ok(!result.keys[0].linearization.includes(0), "the unknown append need not happen");
});

Deno.test("a get of unknown outcome constrains nothing", () => {
  const history = [op(0, "put", "k", "a", 0, 1), op(1, "get", "k", "nonsense", 2, Infinity)];
  assert.equal(verdictOf(history), "ok");
});

Deno.test("an unknown put cannot take effect before its call", () => {
  const history = [
    op(0, "get", "k", "x", 0, 1),
    op(1, "put", "k", "x", 2, UNKNOWN_RETURN_MS),
  ];
  assert.equal(verdictOf(history), "illegal");
});

Deno.test("a read of a value no one wrote is illegal", () => {
  const history = [op(0, "put", "k", "a", 0, 1), op(1, "get", "k", "b", 2, 3)];
  assert.equal(verdictOf(history), "illegal");
});

Deno.test("swapping the values two sequential reads saw is illegal", () => {
  const history = [
    op(0, "put", "k", "a", 0, 1),
    op(1, "get", "k", "b", 2, 3),
    op(0, "put", "k", "b", 4, 5),
    op(1, "get", "k", "a", 6, 7),
  ];
  assert.equal(verdictOf(history), "illegal");
});

Deno.test("a read of a value written only after the read returned is illegal", () => {
  const history = [op(0, "get", "k", "x", 0, 1), op(1, "put", "k", "x", 2, 3)];
  assert.equal(verdictOf(history), "illegal");
});

Deno.test("a read that misses an append completed before it started is illegal", () => {
  const history = [
    op(0, "append", "k", "a", 0, 1),
    op(1, "append", "k", "b", 2, 3),
    op(2, "get", "k", "a", 4, 5),
  ];
  assert.equal(verdictOf(history), "illegal");
});

Deno.test("a read that sees one append twice is illegal", () => {
  const history = [
    op(0, "append", "k", "a", 0, 10),
    op(1, "append", "k", "b", 0, 10),
    op(2, "get", "k", "aba", 11, 12),
  ];
  assert.equal(verdictOf(history), "illegal");
});

Deno.test("reads that disagree on the order of two appends are illegal", () => {
  const history = [
    op(0, "append", "k", "a", 0, 10),
    op(1, "append", "k", "b", 0, 10),
    op(2, "get", "k", "ab", 11, 12),
    op(3, "get", "k", "ba", 13, 14),
  ];
  assert.equal(verdictOf(history), "illegal");
});

Deno.test("keys are checked independently and the illegal one is named", () => {
  const history = [
    op(0, "put", "good", "1", 0, 1),
    op(1, "put", "bad", "1", 0, 1),
    op(0, "get", "good", "1", 2, 3),
    op(1, "get", "bad", "2", 2, 3),
  ];
  const result = checkHistory(history);
  assert.equal(result.verdict, "illegal");
  assert.deepEqual(result.illegalKeys, ["bad"]);
  assert.deepEqual(result.keys.map((check) => [check.key, check.verdict]), [
    ["bad", "illegal"],
    ["good", "ok"],
  ]);
  assert.deepEqual(result.keys[0].linearization, [1]);
  assert.deepEqual(result.keys[0].stuck, [3]);
});

Deno.test("a malformed history is refused with the operation named", () => {
  assert.throws(
    () => checkHistory([op(3, "put", "k", "x", 5, 4)]),
    /Operation 0 \(client 3\) returns at 4 ms, before its call at 5 ms/,
  );
  assert.throws(() => checkHistory([op(0, "put", "k", "x", NaN, 4)]), /call time NaN/);
});

// Brute force: every order that respects real time, with unknown operations optional.
function bruteForceLinearizable(history: readonly Operation[]): boolean {
  const keys = new Set(history.map((operation) => operation.key));
  for (const key of keys) {
    const operations = history.filter((operation) =>
      operation.key === key && !(operation.kind === "get" && operation.returnMs === Infinity)
    );
    if (!bruteForceKey(operations, new Array(operations.length).fill(false), "")) return false;
  }
  return true;
}

function bruteForceKey(operations: readonly Operation[], used: boolean[], value: string): boolean {
  if (operations.every((operation, index) => used[index] || operation.returnMs === Infinity)) {
    return true;
  }
  for (let index = 0; index < operations.length; index++) {
    if (used[index]) continue;
    const operation = operations[index];
    const blocked = operations.some((other, otherIndex) =>
      !used[otherIndex] && other.returnMs < operation.callMs
    );
    if (blocked) continue;
    if (operation.kind === "get" && operation.output !== value) continue;
    const next = operation.kind === "get"
      ? value
      : operation.kind === "put"
      ? operation.value
      : value + operation.value;
    used[index] = true;
    const found = bruteForceKey(operations, used, next);
    used[index] = false;
    if (found) return true;
  }
  return false;
}

/**
 * A small history on one key. Plain histories use few, often repeated values (hard cases for
 * shortcuts); marked ones write unique tokens and read random sequences of them.
 */
function smallRandomHistory(random: Random, marked: boolean): Operation[] {
  const values = ["a", "b", "ab", ""];
  const outputs = ["", "a", "b", "ab", "ba", "aa", "bab", "aab", "abab", "abb"];
  const count = 2 + random.int(6);
  const history: Operation[] = [];
  for (let index = 0; index < count; index++) {
    const roll = random.int(10);
    const kind: OperationKind = roll < 4 ? "get" : roll < 6 ? "put" : "append";
    const callMs = random.int(12);
    const returnMs = random.int(8) === 0 ? Infinity : callMs + random.int(6);
    let text = kind === "get" ? outputs[random.int(outputs.length)] : values[random.int(4)];
    // Marked histories also put "", as lab clients do to start their key.
    if (marked && kind !== "get") text = kind === "put" && random.int(3) === 0 ? "" : `<${index}>`;
    if (marked && kind === "get") {
      text = "";
      for (let token = random.int(4); token > 0; token--) text += `<${random.int(count)}>`;
    }
    history.push(op(index, kind, "k", text, callMs, returnMs));
  }
  return history;
}

Deno.test("the checker agrees with brute force on thousands of small histories", () => {
  const random = new SeededRandom(20240605);
  const verdicts = { ok: 0, illegal: 0 };
  for (let round = 0; round < 6000; round++) {
    const history = smallRandomHistory(random, round % 2 === 1);
    const expected = bruteForceLinearizable(history) ? "ok" : "illegal";
    const actual = verdictOf(history);
    assert.equal(actual, expected, `round ${round}: ${JSON.stringify(history)}`);
    verdicts[expected]++;
  }
  // Both answers must be well represented, or the comparison proves little.
  assert.ok(verdicts.ok > 500 && verdicts.illegal > 500, JSON.stringify(verdicts));
});

/** Changes what one get read: drops, repeats, swaps or adds tokens, or breaks one. */
function mutateRead(history: readonly Operation[], random: Random): Operation[] {
  const gets = knownGets(history);
  if (gets.length === 0) return [...history];
  const index = gets[random.int(gets.length)];
  const tokens = tokensOf(history[index].output);
  const writes = history.filter((operation) => operation.kind !== "get");
  const position = random.int(tokens.length + 1);
  switch (random.int(5)) {
    case 0:
      tokens.splice(position, 1);
      break;
    case 1:
      if (tokens.length > 0) tokens.splice(position, 0, tokens[random.int(tokens.length)]);
      break;
    case 2:
      if (tokens.length > 1) tokens.push(tokens.splice(random.int(tokens.length - 1), 1)[0]);
      break;
    case 3:
      if (writes.length > 0) tokens.splice(position, 0, writes[random.int(writes.length)].value);
      break;
    default:
      return withOutput(history, index, history[index].output.slice(1));
  }
  return withOutput(history, index, tokens.join(""));
}

Deno.test("the checker agrees with brute force on small generated histories", () => {
  const random = new SeededRandom(77);
  const verdicts = { ok: 0, illegal: 0 };
  for (let round = 0; round < 1500; round++) {
    const history = generateHistory(random, {
      clientCount: 3,
      operationCount: 8,
      keys: ["k"],
      putPercent: 25,
      getPercent: 40,
      unknownPercent: 15,
      maxDurationMs: 6,
      maxPauseMs: 2,
    });
    assert.equal(verdictOf(history), "ok", `round ${round}`);
    const mutated = mutateRead(history, random);
    const expected = bruteForceLinearizable(mutated) ? "ok" : "illegal";
    assert.equal(verdictOf(mutated), expected, `round ${round}: ${JSON.stringify(mutated)}`);
    verdicts[expected]++;
  }
  assert.ok(verdicts.illegal > 500, JSON.stringify(verdicts));
});

function largeHistory(seed: number, clientCount: number): Operation[] {
  return generateHistory(new SeededRandom(seed), {
    clientCount,
    operationCount: 3000,
    keys: ["a", "b", "c"],
    putPercent: 10,
    getPercent: 40,
    unknownPercent: 1,
    maxDurationMs: 20,
    maxPauseMs: 5,
  });
}

/**
 * Makes some operations slow: they return up to `maxDelayMs` later (a client stuck behind a
 * partition). A later return only widens an interval, so the history stays linearizable.
 */
function withSlowOperations(history: readonly Operation[], seed: number, maxDelayMs: number) {
  const random = new SeededRandom(seed);
  return history.map((operation) =>
    random.int(100) < 5 && operation.returnMs !== Infinity
      ? { ...operation, returnMs: operation.returnMs + random.int(maxDelayMs) }
      : operation
  );
}

/** Lab-style values (`x 3 17 y`) and a put of "" to every key before anything else. */
function labStyle(history: readonly Operation[]): Operation[] {
  const rename = (text: string) => text.replace(/\[(\d+)\.(\d+)\]/g, "x $1 $2 y");
  const keys = [...new Set(history.map((operation) => operation.key))];
  const starts = keys.map((key, client) => op(client, "put", key, "", -2, -1));
  const renamed = history.map((operation) => ({
    ...operation,
    value: rename(operation.value),
    output: rename(operation.output),
  }));
  return [...starts, ...renamed];
}

Deno.test("large generated histories are linearizable within the budget", () => {
  for (const [seed, clientCount] of [[1, 5], [2, 10], [3, 15]]) {
    const history = largeHistory(seed, clientCount);
    const result = checkHistory(history, { timeoutMs: 30_000 });
    assert.equal(result.verdict, "ok", `seed ${seed}, ${clientCount} clients`);
    assertLinearizationsValid(history, result);
  }
});

Deno.test("large histories with slow operations or lab-style values are linearizable", () => {
  const cases = [
    withSlowOperations(largeHistory(6, 15), 6, 2000),
    withSlowOperations(
      generateHistory(new SeededRandom(7), {
        clientCount: 15,
        operationCount: 2000,
        keys: ["hot"],
        putPercent: 5,
        getPercent: 30,
        unknownPercent: 3,
      }),
      7,
      2000,
    ),
    labStyle(largeHistory(8, 10)),
  ];
  for (const [index, history] of cases.entries()) {
    const result = checkHistory(history, { timeoutMs: 30_000 });
    assert.equal(result.verdict, "ok", `case ${index}`);
    assertLinearizationsValid(history, result);
  }
});

/** The tokens (`[client.sequence]`) a generated value is made of. */
function tokensOf(value: string): string[] {
  return value.match(/\[[^\]]*\]/g) ?? [];
}

function withOutput(history: readonly Operation[], index: number, output: string): Operation[] {
  return history.map((operation, at) => at === index ? { ...operation, output } : operation);
}

function knownGets(history: readonly Operation[]): number[] {
  return history.flatMap((operation, index) =>
    operation.kind === "get" && operation.returnMs !== Infinity ? [index] : []
  );
}

/** Mutations that provably break linearizability, given the generator's unique tokens. */
const mutations: Record<string, (history: readonly Operation[], random: Random) => Operation[]> = {
  "a read of a value never written": (history, random) => {
    const gets = knownGets(history);
    const index = gets[random.int(gets.length)];
    return withOutput(history, index, history[index].output + "[never]");
  },
  "a read that sees an append twice": (history, random) => {
    const gets = knownGets(history).filter((index) => tokensOf(history[index].output).length > 1);
    const index = gets[random.int(gets.length)];
    const tokens = tokensOf(history[index].output);
    const twice = tokens[tokens.length - 1];
    return withOutput(history, index, history[index].output + twice);
  },
  "a read that sees an append called after it returned": (history, random) => {
    const gets = knownGets(history);
    for (let attempt = 0; attempt < 1000; attempt++) {
      const index = gets[random.int(gets.length)];
      const get = history[index];
      const later = history.find((operation) =>
        operation.key === get.key && operation.kind === "append" && operation.callMs > get.returnMs
      );
      if (later !== undefined) return withOutput(history, index, get.output + later.value);
    }
    throw new Error("No get is followed by an append on its key");
  },
  "a read that misses an append completed before it started": (history) => {
    for (const [index, get] of history.entries()) {
      if (get.kind !== "get" || get.returnMs === Infinity) continue;
      const lost = history.find((append) =>
        append.key === get.key && append.kind === "append" && append.returnMs < get.callMs &&
        !history.some((put) =>
          put.key === get.key && put.kind === "put" && put.callMs <= get.returnMs &&
          put.returnMs >= append.callMs
        )
      );
      if (lost !== undefined) {
        assert.ok(get.output.includes(lost.value), "The generated read misses a completed append");
        return withOutput(history, index, get.output.replace(lost.value, ""));
      }
    }
    throw new Error("No append completes before a get without a put in between");
  },
};

Deno.test("mutated large histories are illegal, with the mutated key named", () => {
  const random = new SeededRandom(99);
  for (const [name, mutate] of Object.entries(mutations)) {
    for (const seed of [4, 5]) {
      const history = largeHistory(seed, 10);
      const mutated = mutate(history, random);
      const changed = mutated.findIndex((operation, index) => operation !== history[index]);
      assert.notEqual(changed, -1, `${name}: nothing changed`);
      const result = checkHistory(mutated, { timeoutMs: 30_000 });
      assert.equal(result.verdict, "illegal", `${name}, seed ${seed}`);
      assert.deepEqual(result.illegalKeys, [mutated[changed].key], `${name}, seed ${seed}`);
      const check = result.keys.find((keyCheck) => keyCheck.verdict === "illegal")!;
      assert.ok(check.stuck.includes(changed), `${name}, seed ${seed}: the culprit is not shown`);
      assert.equal(replay(mutated, check.linearization).firstIllegal, -1);
    }
  }
});

/** Many concurrent identical appends and a read of one too many: 2^n sets to rule out. */
function hardHistory(): Operation[] {
  const history: Operation[] = [];
  for (let client = 0; client < 40; client++) history.push(op(client, "append", "k", "a", 0, 100));
  history.push(op(40, "get", "k", "a".repeat(41), 0, 100));
  return history;
}

Deno.test("a hard history on a tiny budget times out, and that is not ok", () => {
  const result = checkHistory(hardHistory(), { timeoutMs: 20 });
  assert.equal(result.verdict, "timeout");
  assert.deepEqual(result.timedOutKeys, ["k"]);
  assert.match(result.keys[0].reason, /time budget/);
  assert.throws(
    () => assertLinearizable(hardHistory(), { timeoutMs: 20 }),
    (error: unknown) => {
      assert.ok(error instanceof LinearizabilityError);
      assert.equal(error.result.verdict, "timeout");
      assert.equal(error.htmlPath, undefined);
      assert.match(error.message, /key\(s\) "k" stopped undecided/);
      return true;
    },
  );
});

Deno.test("a hard history stops at the memo bound with a timeout", () => {
  // 41 operations: 2 words of bits and the overhead, 168 bytes per configuration.
  const result = checkHistory(hardHistory(), { timeoutMs: 60_000, maxMemoBytes: 168 * 5000 });
  assert.equal(result.verdict, "timeout");
  assert.match(result.keys[0].reason, /memo reached its limit of 5000 configurations/);
});

Deno.test("the budget is read from the clock it is given", () => {
  let nowMs = 0;
  const clock = () => (nowMs += 1);
  const result = checkHistory(hardHistory(), { timeoutMs: 50, now: clock });
  assert.equal(result.verdict, "timeout");
  // The clock is read every 1024 steps, once per millisecond here.
  assert.ok(result.keys[0].steps >= 1024 * 50, `${result.keys[0].steps} steps`);
});

Deno.test("assertLinearizable returns the result of a linearizable history", () => {
  const history = [op(0, "put", "k", "a", 0, 1), op(1, "get", "k", "a", 2, 3)];
  assert.equal(assertLinearizable(history).verdict, "ok");
});

Deno.test("assertLinearizable throws on a violation, naming the key and writing HTML", () => {
  const history = [
    op(0, "put", "x", "1", 0, 1),
    op(1, "append", "<y>", "a", 0, 1),
    op(2, "get", "<y>", "b", 2, 3),
  ];
  const htmlPath = Deno.makeTempFileSync({ suffix: ".html" });
  try {
    assert.throws(() => assertLinearizable(history, { htmlPath }), (error: unknown) => {
      assert.ok(error instanceof LinearizabilityError);
      assert.equal(error.htmlPath, htmlPath);
      assert.match(error.message, /not linearizable on key\(s\) "<y>"/);
      assert.match(error.message, /#2 client 2: get\("<y>"\) -> "b" \[2, 3\]/);
      assert.match(error.message, /leaving the value "a"/);
      assert.ok(error.message.includes(htmlPath));
      return true;
    });
    const html = Deno.readTextFileSync(htmlPath);
    assert.ok(html.includes("&quot;&lt;y&gt;&quot;"), "the key is in the page, escaped");
    assert.ok(!html.includes("Key &quot;x&quot;"), "the page shows only the illegal key");
  } finally {
    Deno.removeSync(htmlPath);
  }
});

Deno.test("assertLinearizable writes a temporary file when given no path", () => {
  const history = [op(0, "get", "k", "ghost", 0, 1)];
  let htmlPath: string | undefined;
  try {
    assert.throws(() => assertLinearizable(history), (error: unknown) => {
      assert.ok(error instanceof LinearizabilityError);
      htmlPath = error.htmlPath;
      return true;
    });
    assert.ok(htmlPath !== undefined);
    assert.ok(Deno.readTextFileSync(htmlPath).includes("ghost"));
  } finally {
    if (htmlPath !== undefined) Deno.removeSync(htmlPath);
  }
});
