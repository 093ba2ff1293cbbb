import assert from "node:assert/strict";
import { decode, encode } from "../rpc/codec.ts";
import { EncodedEntries } from "./encoded_entries.ts";
import type { Entry } from "../raft/messages.ts";
import { Persister } from "./persister.ts";
import { PersisterStorage } from "./persister_storage.ts";

function entries(from: number, to: number, term: number): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) result.push({ index, term, command: index * 7 });
  return result;
}

Deno.test("EncodedEntries gives the bytes encode gives for the whole state, at every size", () => {
  const header = { term: 3, votedFor: 1, snapshotIndex: 0, snapshotTerm: 0 };
  const buffer = new EncodedEntries();
  // 0, 15 and 16, 65535 and 65536 entries cross MessagePack's array header sizes.
  const all = entries(1, 65_536, 1);
  for (const size of [0, 15, 16, 65_535, 65_536]) {
    while (buffer.count < size) buffer.push(all[buffer.count]);
    const expected = encode({ ...header, entries: all.slice(0, size) });
    assert.deepEqual(buffer.encodeWith(header), expected);
  }
});

Deno.test("EncodedEntries truncates and drops a prefix", () => {
  const header = { term: 2, votedFor: -1, snapshotIndex: 4, snapshotTerm: 1 };
  const buffer = new EncodedEntries();
  for (const entry of entries(1, 20, 1)) buffer.push(entry);
  buffer.truncate(12);
  buffer.dropFirst(4);
  buffer.push({ index: 13, term: 2, command: "thirteen" });
  const expected = [...entries(5, 12, 1), { index: 13, term: 2, command: "thirteen" }];
  assert.deepEqual(decode(buffer.encodeWith(header)), { ...header, entries: expected });
  buffer.dropFirst(100);
  assert.equal(buffer.count, 0);
  assert.deepEqual(decode(buffer.encodeWith(header)), { ...header, entries: [] });
});

Deno.test("PersisterStorage saves what each batch says and restores it from a copy", () => {
  const persister = new Persister();
  const storage = new PersisterStorage(persister);
  assert.deepEqual(storage.load(), { hardState: { term: 0, votedFor: -1 }, entries: [] });
  storage.persist({ hardState: { term: 1, votedFor: 0 }, logChange: { append: entries(1, 5, 1) } });
  // A follower whose entries 4 and 5 lose to a new leader's.
  storage.persist({
    hardState: { term: 2, votedFor: 2 },
    logChange: { truncateAfter: 3, append: entries(4, 6, 2) },
  });
  const membership = { voters: [0, 1, 2], learners: [], addresses: {} };
  const snapshot = { index: 4, term: 2, data: Uint8Array.of(9, 9), membership };
  storage.persist({ snapshot });
  const state = decode(persister.readRaftState());
  assert.deepEqual(state, {
    term: 2,
    votedFor: 2,
    snapshotIndex: 4,
    snapshotTerm: 2,
    snapshotMembership: membership,
    entries: entries(5, 6, 2),
  });
  assert.equal(persister.raftStateSize(), persister.readRaftState().byteLength);
  assert.deepEqual(persister.readSnapshot(), snapshot.data);

  const restarted = new PersisterStorage(persister.copy());
  assert.deepEqual(restarted.load(), {
    hardState: { term: 2, votedFor: 2 },
    snapshot,
    entries: entries(5, 6, 2),
  });
});

Deno.test("PersisterStorage drops the whole log when a snapshot passes its end", () => {
  const persister = new Persister();
  const storage = new PersisterStorage(persister);
  storage.persist({ hardState: { term: 1, votedFor: 1 }, logChange: { append: entries(1, 3, 1) } });
  // InstallSnapshot from a leader: the log did not match, so it is truncated, then replaced.
  storage.persist({
    logChange: { truncateAfter: 9, append: [] },
    snapshot: { index: 9, term: 1, data: Uint8Array.of(1) },
  });
  storage.persist({ logChange: { append: entries(10, 10, 1) } });
  assert.deepEqual(new PersisterStorage(persister.copy()).load().entries, entries(10, 10, 1));
});

Deno.test("PersisterStorage refuses an append that leaves a gap", () => {
  const storage = new PersisterStorage(new Persister());
  assert.throws(
    () => storage.persist({ logChange: { append: entries(2, 2, 1) } }),
    /Cannot persist entry 2: the persisted log ends at 0/,
  );
});

Deno.test("PersisterStorage refuses unreadable state, naming what is wrong", () => {
  const persister = new Persister();
  persister.save(encode({ term: 1, votedFor: -1, snapshotIndex: 0, snapshotTerm: 0 }), null);
  assert.throws(() => new PersisterStorage(persister), /field entries is not an array/);
  persister.save(Uint8Array.of(0xc1), null);
  assert.throws(() => new PersisterStorage(persister), /Cannot read the persisted Raft state/);
  persister.save(
    encode({ term: 1, votedFor: -1, snapshotIndex: 3, snapshotTerm: 1, entries: [] }),
    null,
  );
  assert.throws(() => new PersisterStorage(persister), /holds no snapshot bytes/);
});

Deno.test("Persister copies are independent", () => {
  const original = new Persister();
  original.save(Uint8Array.of(1), Uint8Array.of(2));
  const copy = original.copy();
  original.save(Uint8Array.of(3, 3), null);
  assert.deepEqual(copy.readRaftState(), Uint8Array.of(1));
  assert.deepEqual(copy.readSnapshot(), Uint8Array.of(2));
  assert.equal(original.raftStateSize(), 2);
  assert.equal(original.readSnapshot(), null);
});
