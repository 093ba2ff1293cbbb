import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { generateHistory } from "./history_generator.ts";

Deno.test("generated histories follow their options and replay from the seed", () => {
  const options = { clientCount: 4, operationCount: 300, keys: ["p", "q"], unknownPercent: 10 };
  const history = generateHistory(new SeededRandom(8), options);
  assert.deepEqual(generateHistory(new SeededRandom(8), options), history);
  assert.equal(history.length, 300);
  assert.ok(history.every((operation) => ["p", "q"].includes(operation.key)));
  assert.ok(history.every((operation) => operation.clientId >= 0 && operation.clientId < 4));
  assert.ok(history.some((operation) => operation.returnMs === Infinity));
  for (const kind of ["get", "put", "append"]) {
    assert.ok(history.some((operation) => operation.kind === kind), `no ${kind}`);
  }
  // One client's operations never overlap.
  for (let client = 0; client < 4; client++) {
    const mine = history.filter((operation) => operation.clientId === client);
    for (let index = 1; index < mine.length; index++) {
      const previous = mine[index - 1];
      if (previous.returnMs === Infinity) continue;
      assert.ok(mine[index].callMs >= previous.returnMs, `client ${client} overlaps itself`);
    }
  }
});

Deno.test("generated writes are unique tokens and reads are made of them", () => {
  const history = generateHistory(new SeededRandom(9), { operationCount: 500 });
  const written = history.filter((operation) => operation.kind !== "get").map((op) => op.value);
  assert.equal(new Set(written).size, written.length);
  assert.ok(written.every((value) => /^\[\d+\.\d+\]$/.test(value)));
  const writtenSet = new Set(written);
  for (const operation of history) {
    if (operation.kind !== "get" || operation.returnMs === Infinity) continue;
    for (const token of operation.output.match(/\[[^\]]*\]/g) ?? []) {
      assert.ok(writtenSet.has(token), `${token} was never written`);
    }
  }
});
