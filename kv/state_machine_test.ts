import assert from "node:assert/strict";
import { encode } from "../rpc/codec.ts";
import { commandProblem, type KvCommand, KvStateMachine } from "./state_machine.ts";

function command(
  clientId: number,
  sequence: number,
  kind: KvCommand["kind"],
  key: string,
  value = "",
): KvCommand {
  return { clientId, sequence, kind, key, value };
}

Deno.test("get of a missing key reads empty; put replaces and append concatenates", () => {
  const machine = new KvStateMachine();
  assert.equal(machine.apply(1, command(7, 1, "get", "k")), "");
  machine.apply(2, command(7, 2, "put", "k", "a"));
  machine.apply(3, command(7, 3, "append", "k", "b"));
  machine.apply(4, command(8, 1, "append", "other", "c"));
  assert.equal(machine.apply(5, command(8, 2, "get", "k")), "ab");
  assert.equal(machine.get("other"), "c");
  assert.equal(machine.appliedIndex, 5);
});

Deno.test("a retried put or append takes effect once; gets always read", () => {
  const machine = new KvStateMachine();
  machine.apply(1, command(7, 1, "append", "k", "x"));
  machine.apply(2, command(7, 1, "append", "k", "x"));
  machine.apply(3, command(9, 1, "put", "k", "y"));
  machine.apply(4, command(7, 1, "append", "k", "x"));
  assert.equal(machine.get("k"), "y");
  assert.ok(machine.isDuplicate(command(9, 1, "put", "k", "y")));
  assert.ok(!machine.isDuplicate(command(9, 2, "put", "k", "y")));
  machine.apply(5, command(7, 2, "append", "k", "z"));
  assert.equal(machine.apply(6, command(7, 2, "get", "k")), "yz");
  assert.equal(machine.apply(7, command(7, 2, "get", "k")), "yz");
});

Deno.test("entries apply in log order only", () => {
  const machine = new KvStateMachine();
  machine.skip(1);
  assert.throws(
    () => machine.apply(3, command(1, 1, "put", "k", "v")),
    /Cannot apply entry 3: the state machine has applied up to 1/,
  );
  assert.throws(() => machine.skip(1), /Cannot skip entry 1/);
});

Deno.test("a snapshot restores the data, the duplicate table and the applied index", () => {
  const machine = new KvStateMachine();
  machine.apply(1, command(2 ** 52 + 3, 1, "put", "a", "1"));
  machine.apply(2, command(5, 4, "append", "b", "2"));
  const restored = new KvStateMachine();
  restored.apply(1, command(6, 1, "put", "gone", "x"));
  restored.restoreSnapshot(machine.encodeSnapshot());
  assert.equal(restored.appliedIndex, 2);
  assert.equal(restored.get("a"), "1");
  assert.equal(restored.get("b"), "2");
  assert.equal(restored.get("gone"), "");
  assert.ok(restored.isDuplicate(command(2 ** 52 + 3, 1, "put", "a", "again")));
  assert.ok(restored.isDuplicate(command(5, 4, "append", "b", "again")));
  assert.ok(!restored.isDuplicate(command(6, 1, "put", "gone", "x")));
  restored.apply(3, command(5, 4, "append", "b", "again"));
  assert.equal(restored.get("b"), "2");
});

Deno.test("malformed snapshots and commands are refused with the reason", () => {
  const machine = new KvStateMachine();
  assert.throws(
    () => machine.restoreSnapshot(new Uint8Array([0xc1])),
    /Cannot read the key\/value snapshot/,
  );
  assert.throws(
    () => machine.restoreSnapshot(encode({ appliedIndex: 1, data: ["k"], clients: [] })),
    /its data is not a list of pairs/,
  );
  assert.throws(
    () => machine.restoreSnapshot(encode({ appliedIndex: 1, data: [], clients: [1, 0.5] })),
    /its clients hold a number that is not whole/,
  );
  assert.equal(commandProblem(command(1, 1, "get", "k")), null);
  assert.match(commandProblem({ ...command(1, 0, "get", "k") }) ?? "", /sequence/);
  assert.match(commandProblem({ ...command(1, 1, "get", "k"), kind: "delete" }) ?? "", /kind/);
  assert.match(commandProblem({ ...command(1, 1, "get", "k"), key: 3 }) ?? "", /key/);
  assert.match(commandProblem(null) ?? "", /not a map/);
});
