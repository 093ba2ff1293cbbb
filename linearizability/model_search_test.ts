import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { checkHistory, checkModelHistory, type Verdict } from "./checker.ts";
import { generateHistory } from "./history_generator.ts";
import {
  CAS_REGISTER_MODEL,
  KV_MODEL,
  type Model,
  type ModelOperation,
  REGISTER_MODEL,
  VERSIONED_KV_MODEL,
} from "./models.ts";
import { fromKv, mop } from "./testing/model_histories.ts";

function verdictOf<State>(model: Model<State>, history: readonly ModelOperation[]): Verdict {
  return checkModelHistory(history, model, { timeoutMs: 10_000 }).verdict;
}

const write = (client: number, value: string | null, callMs: number, returnMs: number) =>
  mop(client, "write", "x", callMs, returnMs, { value });
const read = (client: number, output: string | null, callMs: number, returnMs: number) =>
  mop(client, "read", "x", callMs, returnMs, { output });
const cas = (
  client: number,
  expected: string | null,
  value: string,
  callMs: number,
  returnMs: number,
) => mop(client, "cas", "x", callMs, returnMs, { expected, value });

Deno.test("register: reads see the latest write, or nil before any", () => {
  assert.equal(verdictOf(REGISTER_MODEL, [read(0, null, 0, 1)]), "ok");
  assert.equal(
    verdictOf(REGISTER_MODEL, [write(0, "1", 0, 10), read(1, "1", 5, 15), write(0, "2", 20, 30)]),
    "ok",
  );
  // Concurrent writes: either order, as long as later reads agree.
  const both = [write(0, "1", 0, 10), write(1, "2", 0, 10)];
  assert.equal(verdictOf(REGISTER_MODEL, [...both, read(2, "1", 11, 12)]), "ok");
  assert.equal(verdictOf(REGISTER_MODEL, [...both, read(2, "2", 11, 12)]), "ok");
});

Deno.test("register: a stale read and a flip-flop between concurrent writes are illegal", () => {
  const stale = [write(0, "1", 0, 1), write(1, "2", 2, 3), read(2, "1", 4, 5)];
  assert.equal(verdictOf(REGISTER_MODEL, stale), "illegal");
  const flipFlop = [
    write(0, "1", 0, 10),
    write(1, "2", 0, 10),
    read(2, "2", 11, 12),
    read(2, "1", 13, 14),
  ];
  assert.equal(verdictOf(REGISTER_MODEL, flipFlop), "illegal");
  assert.equal(verdictOf(REGISTER_MODEL, [read(0, "7", 0, 1)]), "illegal");
});

Deno.test("register: a write of unknown outcome may happen any time after its call, or never", () => {
  const unknown = write(0, "3", 0, Infinity);
  assert.equal(verdictOf(REGISTER_MODEL, [unknown, read(1, null, 1, 2)]), "ok");
  assert.equal(verdictOf(REGISTER_MODEL, [unknown, read(1, null, 1, 2), read(1, "3", 3, 4)]), "ok");
  assert.equal(
    verdictOf(REGISTER_MODEL, [unknown, read(1, "3", 1, 2), read(1, null, 3, 4)]),
    "illegal",
  );
});

Deno.test("register: one that may not have happened but returned is over by its return", () => {
  const maybe = { ...write(0, "3", 0, 5), maybe: true };
  assert.equal(verdictOf(REGISTER_MODEL, [maybe, read(1, "3", 10, 11)]), "ok");
  assert.equal(verdictOf(REGISTER_MODEL, [maybe, read(1, null, 10, 11)]), "ok");
  assert.equal(
    verdictOf(REGISTER_MODEL, [maybe, read(1, null, 6, 7), read(1, "3", 10, 11)]),
    "illegal",
  );
});

Deno.test("cas register: a cas happens only on the value it expects", () => {
  const history = [write(0, "1", 0, 1), cas(1, "1", "2", 2, 3), read(2, "2", 4, 5)];
  assert.equal(verdictOf(CAS_REGISTER_MODEL, history), "ok");
  assert.equal(verdictOf(CAS_REGISTER_MODEL, [cas(0, null, "1", 0, 1), read(1, "1", 2, 3)]), "ok");
});

Deno.test("cas register: a cas that succeeds on a stale value, or twice on one, is illegal", () => {
  const stale = [write(0, "1", 0, 1), write(1, "2", 2, 3), cas(2, "1", "3", 4, 5)];
  assert.equal(verdictOf(CAS_REGISTER_MODEL, stale), "illegal");
  // Two concurrent swaps from 1 cannot both succeed: one of them lost the other's write.
  const twice = [write(0, "1", 0, 1), cas(1, "1", "2", 2, 10), cas(2, "1", "3", 2, 10)];
  assert.equal(verdictOf(CAS_REGISTER_MODEL, twice), "illegal");
  const unknownSecond = [twice[0], twice[1], { ...twice[2], returnMs: Infinity, maybe: true }];
  assert.equal(verdictOf(CAS_REGISTER_MODEL, unknownSecond), "ok");
});

const get = (output: string | null, version: number, callMs: number, returnMs: number) =>
  mop(0, "get", "k", callMs, returnMs, {
    output,
    version,
    reply: output === null ? "ErrNoKey" : "OK",
  });
const put = (
  value: string,
  version: number,
  reply: ModelOperation["reply"],
  callMs: number,
  returnMs: number,
) => mop(1, "put", "k", callMs, returnMs, { value, version, reply });

Deno.test("versioned kv: puts install a value when the version matches, gets see both", () => {
  const history = [
    get(null, 0, 0, 1),
    put("a", 0, "OK", 2, 3),
    get("a", 1, 4, 5),
    put("b", 1, "OK", 6, 7),
    put("c", 1, "ErrVersion", 8, 9),
    put("d", 5, "ErrVersion", 8, 9),
    get("b", 2, 10, 11),
  ];
  assert.equal(verdictOf(VERSIONED_KV_MODEL, history), "ok");
  assert.equal(verdictOf(VERSIONED_KV_MODEL, [put("a", 3, "ErrNoKey", 0, 1)]), "ok");
});

Deno.test("versioned kv: two puts at one version, wrong versions and wrong errors are illegal", () => {
  const lost = [put("a", 0, "OK", 0, 1), put("b", 0, "OK", 2, 3)];
  assert.equal(verdictOf(VERSIONED_KV_MODEL, lost), "illegal");
  const version = [put("a", 0, "OK", 0, 1), get("a", 2, 2, 3)];
  assert.equal(verdictOf(VERSIONED_KV_MODEL, version), "illegal");
  const noKey = [put("a", 0, "OK", 0, 1), put("b", 3, "ErrNoKey", 2, 3)];
  assert.equal(verdictOf(VERSIONED_KV_MODEL, noKey), "illegal");
  const badVersion = [put("a", 0, "ErrVersion", 0, 1)];
  assert.equal(verdictOf(VERSIONED_KV_MODEL, badVersion), "illegal");
  const gone = [put("a", 0, "OK", 0, 1), get(null, 0, 2, 3)];
  assert.equal(verdictOf(VERSIONED_KV_MODEL, gone), "illegal");
});

Deno.test("versioned kv: an ErrMaybe put happened before its return or not at all", () => {
  const maybe = { ...put("a", 0, "OK", 0, 1), maybe: true };
  assert.equal(verdictOf(VERSIONED_KV_MODEL, [maybe, get("a", 1, 2, 3)]), "ok");
  assert.equal(verdictOf(VERSIONED_KV_MODEL, [maybe, put("b", 0, "OK", 2, 3)]), "ok");
  assert.equal(
    verdictOf(VERSIONED_KV_MODEL, [maybe, put("b", 0, "OK", 2, 3), get("a", 1, 4, 5)]),
    "illegal",
  );
});

Deno.test("kv through the model interface: a duplicated append is illegal", () => {
  const append = mop(0, "append", "k", 0, 1, { value: "x" });
  const getOf = (output: string) => mop(1, "get", "k", 2, 3, { output });
  assert.equal(verdictOf(KV_MODEL, [append, getOf("x")]), "ok");
  assert.equal(verdictOf(KV_MODEL, [append, getOf("xx")]), "illegal");
});

Deno.test("the plain search and the key/value search agree on generated histories", () => {
  const verdicts = new Set<Verdict>();
  for (let seed = 1; seed <= 12; seed++) {
    const random = new SeededRandom(seed);
    const history = generateHistory(random, {
      clientCount: 5,
      operationCount: 60,
      keys: ["a", "b"],
      unknownPercent: 5,
    });
    // Every other history gets one get that read something else: usually illegal.
    const changed = seed % 2 === 0
      ? history.map((operation, index) =>
        index === 30 && operation.kind === "get"
          ? { ...operation, output: `${operation.output}[9.9]` }
          : operation
      )
      : history;
    const fast = checkHistory(changed).verdict;
    const plain = verdictOf(KV_MODEL, changed.map(fromKv));
    assert.equal(plain, fast, `seed ${seed}`);
    verdicts.add(fast);
  }
  assert.deepEqual([...verdicts].sort(), ["illegal", "ok"]);
});

Deno.test("an illegal key names its longest linearizable prefix and the operations stuck after it", () => {
  const history = [write(0, "1", 0, 1), write(1, "2", 2, 3), read(2, "1", 4, 5)];
  const result = checkModelHistory(history, REGISTER_MODEL);
  assert.deepEqual(result.keys[0].linearization, [0, 1]);
  assert.deepEqual(result.keys[0].stuck, [2]);
  assert.throws(
    () => checkModelHistory([mop(0, "append", "x", 0, 1)], REGISTER_MODEL),
    /The register model has no append \(test:0\)/,
  );
});

Deno.test("a search that runs out of budget says undecided, never ok", () => {
  // Twenty overlapping writes, each value read while they overlap, then two reads after them
  // that disagree: the search tries every subset of the writes before it gives up.
  const history = Array.from({ length: 20 }, (_, client) => write(client, `${client}`, 0, 100));
  for (let client = 0; client < 20; client++) history.push(read(20 + client, `${client}`, 0, 100));
  history.push(read(40, "1", 101, 102), read(40, "0", 103, 104));
  let clock = 0;
  const result = checkModelHistory(history, REGISTER_MODEL, {
    timeoutMs: 5,
    now: () => clock++,
  });
  assert.equal(result.verdict, "timeout");
  assert.match(result.keys[0].reason, /the time budget ran out/);
});

/**
 * Whether some order of some of `history`'s operations explains it, by trying them all: every
 * operation that returned is in it (one that may not have happened may be a no-op), and one
 * that finished before another was called comes first.
 */
function bruteForce<State>(model: Model<State>, history: readonly ModelOperation[]): boolean {
  const done = new Array<boolean>(history.length).fill(false);
  const extend = (state: State, count: number): boolean => {
    const finished = history.every((operation, index) =>
      done[index] || operation.returnMs === Infinity
    );
    if (finished) return true;
    for (let index = 0; index < history.length; index++) {
      if (done[index]) continue;
      const operation = history[index];
      // Everything placed later must have been called before this one returned.
      const blocked = history.some((other, position) =>
        !done[position] && position !== index && other.returnMs < operation.callMs
      );
      if (blocked) continue;
      done[index] = true;
      const after = model.step(state, operation);
      const skipped = operation.maybe && extend(state, count + 1);
      const stepped = skipped || (after !== undefined && extend(after, count + 1));
      done[index] = false;
      if (stepped) return true;
    }
    return false;
  };
  return extend(model.initial, 0);
}

/**
 * A random small history of `model` with values from a small set, so that they repeat; with
 * `skippable`, some operations that returned may not have happened.
 */
function randomHistory(
  random: SeededRandom,
  model: Model<unknown>,
  skippable: boolean,
): ModelOperation[] {
  const values = [null, "1", "2"];
  const pick = () => values[random.int(values.length)];
  return Array.from({ length: 2 + random.int(6) }, (_, index) => {
    const kind = model.kinds[random.int(model.kinds.length)];
    const callMs = random.int(10);
    const returnMs = random.int(8) === 0 ? Infinity : callMs + random.int(6);
    return mop(index % 3, kind, "k", callMs, returnMs, {
      value: kind === "read" || kind === "get" ? null : pick() ?? "3",
      expected: pick(),
      output: model === VERSIONED_KV_MODEL ? pick() ?? "" : pick(),
      version: random.int(3),
      reply: (["OK", "OK", "ErrVersion", "ErrNoKey"] as const)[random.int(4)],
      maybe: returnMs === Infinity || (skippable && random.int(8) === 0),
    });
  });
}

Deno.test("the search agrees with trying every order on small random histories", () => {
  const models = [REGISTER_MODEL, CAS_REGISTER_MODEL, VERSIONED_KV_MODEL, KV_MODEL];
  for (const model of models as Model<unknown>[]) {
    const random = new SeededRandom(7);
    const counts = { ok: 0, illegal: 0 };
    for (let trial = 0; trial < 600; trial++) {
      const history = randomHistory(random, model, trial % 2 === 0);
      const expected = bruteForce(model, history) ? "ok" : "illegal";
      assert.equal(
        verdictOf(model, history),
        expected,
        `${model.name}: ${JSON.stringify(history)}`,
      );
      counts[expected]++;
    }
    // Both verdicts are common, or the comparison would prove little.
    assert.ok(counts.ok > 25 && counts.illegal > 25, `${model.name}: ${JSON.stringify(counts)}`);
  }
});
