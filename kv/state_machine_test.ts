import assert from "node:assert/strict";
import { encode } from "../rpc/codec.ts";
import { KvStateMachine } from "./state_machine.ts";
import { commandProblem, type KvCommand, type Txn } from "./command.ts";
import { ERR_NO_KEY, ERR_VERSION, type KvReply, OK } from "./protocol.ts";

function command(
  clientId: number,
  sequence: number,
  kind: KvCommand["kind"],
  key: string,
  value = "",
  extra: Partial<KvCommand> = {},
): KvCommand {
  return { clientId, sequence, kind, key, value, ...extra };
}

/** Applies `commands` in order at the next indexes and returns the replies. */
function applyAll(machine: KvStateMachine, ...commands: KvCommand[]): KvReply[] {
  return commands.map((each) => machine.apply(machine.appliedIndex + 1, each));
}

Deno.test("get of a missing key says ErrNoKey; put replaces and append concatenates", () => {
  const machine = new KvStateMachine();
  assert.deepEqual(machine.read(command(7, 1, "get", "k")), {
    err: ERR_NO_KEY,
    value: "",
    version: 0,
    revision: 0,
  });
  applyAll(
    machine,
    command(7, 2, "put", "k", "a"),
    command(7, 3, "append", "k", "b"),
    command(8, 1, "append", "other", "c"),
  );
  const got = machine.read(command(8, 2, "get", "k"));
  assert.deepEqual([got.err, got.value, got.version, got.revision], [OK, "ab", 2, 3]);
  assert.deepEqual(got.records, [{
    key: "k",
    value: "ab",
    version: 2,
    createRevision: 1,
    modRevision: 2,
    lease: 0,
  }]);
  assert.equal(machine.get("other"), "c");
  assert.equal(machine.appliedIndex, 3);
  assert.equal(machine.revision, 3);
});

Deno.test("a versioned put follows the 2025 lab: 0 creates, a mismatch is ErrVersion", () => {
  const machine = new KvStateMachine();
  const put = (sequence: number, value: string, version: number) =>
    applyAll(machine, command(1, sequence, "put", "k", value, { version }))[0];
  assert.equal(put(1, "x", 3).err, ERR_NO_KEY);
  assert.deepEqual([put(2, "a", 0).err, put(3, "b", 1).err], [OK, OK]);
  assert.equal(put(4, "c", 1).err, ERR_VERSION);
  assert.equal(put(5, "c", 0).err, ERR_VERSION);
  assert.equal(machine.get("k"), "b");
  assert.equal(machine.read(command(1, 6, "get", "k")).version, 2);
  // Refused puts change nothing, the revision included.
  assert.equal(machine.revision, 2);
});

Deno.test("a retried write takes effect once and gets the first reply again", () => {
  const machine = new KvStateMachine();
  const [first] = applyAll(machine, command(7, 1, "append", "k", "x"));
  const [again] = applyAll(machine, command(7, 1, "append", "k", "x"));
  assert.deepEqual(again, first);
  applyAll(machine, command(9, 1, "put", "k", "y"), command(7, 1, "append", "k", "x"));
  assert.equal(machine.get("k"), "y");
  assert.ok(machine.isDuplicate(command(9, 1, "put", "k", "y")));
  assert.ok(!machine.isDuplicate(command(9, 2, "put", "k", "y")));
  const [refused] = applyAll(machine, command(9, 2, "put", "k", "z", { version: 7 }));
  assert.equal(refused.err, ERR_VERSION);
  assert.equal(
    applyAll(machine, command(9, 2, "put", "k", "z", { version: 7 }))[0].err,
    ERR_VERSION,
  );
  applyAll(machine, command(7, 2, "append", "k", "z"));
  assert.equal(machine.get("k"), "yz");
});

Deno.test("delete takes a key or a range at one revision; range pages in key order", () => {
  const machine = new KvStateMachine();
  for (const [sequence, key] of ["a", "b/1", "b/2", "b/3", "c"].entries()) {
    applyAll(machine, command(1, sequence + 1, "put", key, key));
  }
  const range = (extra: Partial<KvCommand>) =>
    machine.read(command(2, 1, "range", "b/", "", extra));
  const page = range({ end: "b0", limit: 2 });
  assert.deepEqual([page.records?.map((r) => r.key), page.more], [["b/1", "b/2"], true]);
  const [deleted] = applyAll(machine, command(1, 6, "delete", "b/", "", { end: "b0" }));
  assert.deepEqual([deleted.deleted, deleted.revision], [3, 6]);
  assert.deepEqual(range({ end: "" }).records?.map((r) => r.key), ["c"]);
  assert.equal(applyAll(machine, command(1, 7, "delete", "zzz"))[0].deleted, 0);
  assert.equal(machine.revision, 6, "deleting nothing takes no revision");
  // The keys as they stood before the delete.
  const before = range({ end: "b0", revision: 5 });
  assert.deepEqual(before.records?.map((r) => r.key), ["b/1", "b/2", "b/3"]);
});

Deno.test("a transaction compares, then runs one branch at one revision", () => {
  const machine = new KvStateMachine();
  applyAll(machine, command(1, 1, "put", "lock", "me"));
  const txn = (compareValue: string): Txn => ({
    compare: [{ key: "lock", target: "value", op: "=", value: compareValue }],
    success: [
      { kind: "put", key: "x", value: "1" },
      { kind: "put", key: "y", value: "2" },
      { kind: "range", key: "x", end: "z" },
    ],
    failure: [{ kind: "range", key: "lock" }],
  });
  const [won] = applyAll(machine, command(1, 2, "txn", "", "", { txn: txn("me") }));
  assert.equal(won.succeeded, true);
  assert.deepEqual(won.responses?.map((r) => r.kind), ["put", "put", "range"]);
  assert.deepEqual(won.responses?.[2].records?.map((r) => [r.key, r.modRevision]), [
    ["x", 2],
    ["y", 2],
  ]);
  const [lost] = applyAll(machine, command(1, 3, "txn", "", "", { txn: txn("you") }));
  assert.equal(lost.succeeded, false);
  assert.equal(lost.responses?.[0].records?.[0].value, "me");
  assert.equal(machine.revision, 2, "a transaction that writes nothing takes no revision");
  const absent: Txn = {
    compare: [{ key: "new", target: "version", op: "=", value: 0 }],
    success: [{ kind: "put", key: "new", value: "v" }],
    failure: [],
  };
  assert.equal(applyAll(machine, command(1, 4, "txn", "", "", { txn: absent }))[0].succeeded, true);
  assert.equal(
    applyAll(machine, command(1, 5, "txn", "", "", { txn: absent }))[0].succeeded,
    false,
  );
});

Deno.test("a sequential put creates the prefix and its revision, unique and increasing", () => {
  const machine = new KvStateMachine();
  const [first, second] = applyAll(
    machine,
    command(1, 1, "put", "queue/", "a", { sequential: true }),
    command(1, 2, "put", "queue/", "b", { sequential: true }),
  );
  assert.equal(first.records?.[0].key, "queue/00000000000000000001");
  assert.equal(second.records?.[0].key, "queue/00000000000000000002");
  applyAll(machine, command(2, 1, "put", "queue/00000000000000000004", "by hand"));
  const [taken] = applyAll(machine, command(1, 3, "put", "queue/", "c", { sequential: true }));
  assert.equal(taken.err, ERR_VERSION, "a key of that name exists");
  assert.equal(machine.revision, 3);
  assert.match(
    commandProblem(command(1, 1, "append", "k", "", { sequential: true })) ?? "",
    /only a put/,
  );
});

Deno.test("history older than the kept window is compacted; reads there say ErrCompacted", () => {
  const machine = new KvStateMachine({ historyRevisions: 2 });
  // Compacted in steps: by revision 105, everything up to 100 is gone.
  for (let sequence = 1; sequence <= 105; sequence++) {
    applyAll(machine, command(1, sequence, "put", "k", `v${sequence}`));
  }
  const at = (revision: number) => machine.read(command(2, 1, "range", "k", "", { revision }));
  assert.equal(at(103).records?.[0].value, "v103");
  assert.equal(at(101).records?.[0].value, "v101");
  assert.equal(at(100).err, "ErrCompacted");
  assert.equal(at(200).err, "ErrFutureRevision");
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
  applyAll(machine, command(2 ** 52 + 3, 1, "put", "a", "1"), command(5, 4, "append", "b", "2"));
  const restored = new KvStateMachine();
  restored.apply(1, command(6, 1, "put", "gone", "x"));
  restored.restoreSnapshot(machine.encodeSnapshot());
  assert.equal(restored.appliedIndex, 2);
  assert.equal(restored.revision, 2);
  assert.equal(restored.get("a"), "1");
  assert.equal(restored.get("b"), "2");
  assert.equal(restored.get("gone"), "");
  assert.ok(restored.isDuplicate(command(2 ** 52 + 3, 1, "put", "a", "again")));
  assert.ok(restored.isDuplicate(command(5, 4, "append", "b", "again")));
  assert.ok(!restored.isDuplicate(command(6, 1, "put", "gone", "x")));
  restored.apply(3, command(5, 4, "append", "b", "again"));
  assert.equal(restored.get("b"), "2");
});

Deno.test("a snapshot written before versions still restores", () => {
  const machine = new KvStateMachine();
  machine.restoreSnapshot(encode({ appliedIndex: 4, data: ["a", "1", "b", "2"], clients: [7, 3] }));
  assert.equal(machine.appliedIndex, 4);
  assert.equal(machine.get("b"), "2");
  assert.equal(machine.read(command(1, 1, "get", "a")).version, 1);
  assert.ok(machine.isDuplicate(command(7, 3, "put", "a", "x")));
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
  assert.match(commandProblem({ ...command(1, 1, "get", "k"), kind: "drop" }) ?? "", /kind/);
  assert.match(commandProblem({ ...command(1, 1, "get", "k"), key: 3 }) ?? "", /key/);
  assert.match(commandProblem({ ...command(1, 1, "put", "k"), version: -1 }) ?? "", /version/);
  assert.match(
    commandProblem({
      ...command(1, 1, "txn", "k"),
      txn: { compare: [{ key: "k", target: "size", op: "=", value: 1 }], success: [], failure: [] },
    }) ??
      "",
    /target "size"/,
  );
  assert.match(commandProblem(null) ?? "", /not a map/);
});
