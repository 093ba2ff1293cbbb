import assert from "node:assert/strict";
import { type KeyRecord, KvStore, prefixEnd, ROWS_SNAPSHOT_MAX } from "./store.ts";

/**
 * Puts `key` = `value` as change `sub` of `revision`, as the state machine would; inside a
 * transaction.
 */
function putAt(store: KvStore, key: string, value: string, revision: number, sub: number) {
  const before = store.get(key);
  const record: KeyRecord = {
    key,
    value,
    version: (before?.version ?? 0) + 1,
    createRevision: before?.createRevision ?? revision,
    modRevision: revision,
    lease: 0,
  };
  store.put(record, sub, before);
  return record;
}

/** Puts `key` = `value` as a change of its own revision. */
function put(store: KvStore, key: string, value: string): KeyRecord {
  return store.transaction(() => putAt(store, key, value, store.nextRevision(), 0));
}

function remove(store: KvStore, key: string): void {
  store.transaction(() => store.delete(key, store.nextRevision(), 0));
}

const valuesOf = (records: readonly KeyRecord[]) => records.map((r) => `${r.key}=${r.value}`);

Deno.test("prefixEnd bounds the keys that start with a prefix", () => {
  assert.equal(prefixEnd("a/"), "a0");
  assert.equal(prefixEnd("a\uffff"), "b");
  assert.equal(prefixEnd("\uffff\uffff"), "");
});

Deno.test("a range reads keys in order, one page at a time", () => {
  const store = new KvStore();
  for (const key of ["b/2", "a", "b/1", "b/3", "c"]) put(store, key, key.toUpperCase());
  const prefix = { key: "b/", end: prefixEnd("b/") };
  assert.deepEqual(valuesOf(store.range(prefix).records), ["b/1=B/1", "b/2=B/2", "b/3=B/3"]);
  const page = store.range(prefix, 2);
  assert.deepEqual(valuesOf(page.records), ["b/1=B/1", "b/2=B/2"]);
  assert.equal(page.more, true);
  const next = store.range({ key: "b/2\0", end: prefix.end }, 2);
  assert.deepEqual(valuesOf(next.records), ["b/3=B/3"]);
  assert.equal(next.more, false);
  assert.deepEqual(valuesOf(store.range({ key: "b/3", end: "" }).records), ["b/3=B/3", "c=C"]);
  assert.equal(store.count({ key: "", end: "" }), 5);
  assert.deepEqual(valuesOf(store.range({ key: "a" }).records), ["a=A"]);
});

Deno.test("a range at a past revision sees keys as they stood then", () => {
  const store = new KvStore();
  put(store, "k1", "one"); // revision 1
  put(store, "k2", "two"); // 2
  put(store, "k1", "ONE"); // 3
  remove(store, "k2"); // 4
  put(store, "k3", "three"); // 5
  const all = { key: "", end: "" };
  assert.deepEqual(valuesOf(store.rangeAt(all, 1).records), ["k1=one"]);
  assert.deepEqual(valuesOf(store.rangeAt(all, 2).records), ["k1=one", "k2=two"]);
  assert.deepEqual(valuesOf(store.rangeAt(all, 3).records), ["k1=ONE", "k2=two"]);
  assert.deepEqual(valuesOf(store.rangeAt(all, 4).records), ["k1=ONE"]);
  assert.deepEqual(valuesOf(store.rangeAt(all, 5).records), ["k1=ONE", "k3=three"]);
  assert.deepEqual(store.rangeAt(all, 2).records[1], {
    key: "k2",
    value: "two",
    version: 1,
    createRevision: 2,
    modRevision: 2,
    lease: 0,
  });
  const first = store.rangeAt(all, 3, 1);
  assert.deepEqual([valuesOf(first.records), first.more], [["k1=ONE"], true]);
  store.transaction(() => store.compact(2));
  assert.throws(() => store.rangeAt(all, 2), /Cannot read at revision 2: history holds 3 to 5/);
  assert.deepEqual(valuesOf(store.rangeAt(all, 3).records), ["k1=ONE", "k2=two"]);
});

Deno.test("changes come in revision order with the state before each", () => {
  const store = new KvStore();
  put(store, "a", "1");
  put(store, "b", "1");
  put(store, "a", "2");
  remove(store, "a");
  const changes = store.changesFrom({ key: "a" }, 1, 10);
  assert.deepEqual(changes.map((c) => [c.type, c.revision, c.record.value]), [
    ["put", 1, "1"],
    ["put", 3, "2"],
    ["delete", 4, ""],
  ]);
  assert.equal(changes[0].previous, null);
  assert.equal(changes[2].previous?.value, "2");
  assert.equal(store.changesFrom({ key: "", end: "" }, 2, 2).length, 2);
  store.transaction(() => store.compact(3));
  assert.throws(() => store.changesFrom({ key: "a" }, 3, 10), /compacted/);
  assert.deepEqual(store.changesFrom({ key: "a" }, 4, 10).map((c) => c.revision), [4]);
});

Deno.test("a transaction that throws changes nothing, revision included", () => {
  const store = new KvStore();
  put(store, "a", "1");
  assert.throws(() =>
    store.transaction(() => {
      store.nextRevision();
      store.put(
        { key: "a", value: "2", version: 2, createRevision: 1, modRevision: 2, lease: 0 },
        0,
      );
      throw new Error("refused");
    }), /refused/);
  assert.equal(store.revision, 1);
  assert.equal(store.get("a")?.value, "1");
  assert.throws(
    () =>
      store.put(
        { key: "b", value: "", version: 1, createRevision: 1, modRevision: 1, lease: 0 },
        0,
      ),
    /outside a transaction/,
  );
});

Deno.test("a snapshot restores the whole state, small as rows and large as an image", () => {
  for (const keyCount of [3, ROWS_SNAPSHOT_MAX + 1]) {
    const store = new KvStore();
    store.transaction(() => {
      const revision = store.nextRevision();
      for (let index = 0; index < keyCount; index++) {
        const key = `key-${String(index).padStart(6, "0")}`;
        store.put({
          key,
          value: `v${index}`,
          version: 1,
          createRevision: revision,
          modRevision: revision,
          lease: 0,
        }, index);
      }
      store.setClient(42, 7, '{"err":"OK"}');
      store.setAppliedIndex(9);
    });
    const bytes = store.snapshot();
    if (keyCount === 3) assert.ok(bytes.length < 300, `${bytes.length} bytes for 3 keys`);
    const restored = new KvStore(bytes);
    assert.equal(restored.appliedIndex, 9);
    assert.equal(restored.revision, 1);
    assert.equal(restored.count({ key: "", end: "" }), keyCount);
    assert.deepEqual(restored.get("key-000002"), store.get("key-000002"));
    assert.deepEqual(restored.client(42), { sequence: 7, reply: '{"err":"OK"}' });
    assert.deepEqual(restored.changesFrom({ key: "key-000001" }, 1, 5).length, 1);
  }
});

Deno.test("a damaged snapshot is refused with a sentence", () => {
  const store = new KvStore();
  put(store, "a", "1");
  const bytes = store.snapshot();
  assert.throws(
    () => new KvStore(new Uint8Array([9, ...bytes.subarray(1)])),
    /Cannot read the key\/value snapshot: its first byte 9 names no format/,
  );
  assert.throws(
    () => new KvStore(bytes.subarray(0, bytes.length - 3)),
    /Cannot read the key\/value snapshot/,
  );
  const image = new Uint8Array(4097);
  image[0] = 2;
  assert.throws(() => new KvStore(image), /Cannot read the key\/value snapshot/);
});

Deno.test("changes read the same from near the present and from far back, several to a revision", () => {
  const store = new KvStore();
  const keys = ["a", "b/1", "b/2", "c"];
  // 1,500 revisions of two changes each: far more than a look near the present reads in order.
  const written: { key: string; revision: number; sub: number }[] = [];
  for (let step = 0; step < 1_500; step++) {
    store.transaction(() => {
      const revision = store.nextRevision();
      for (const sub of [0, 1]) {
        const key = keys[(step * 2 + sub) % keys.length];
        putAt(store, key, `${step}`, revision, sub);
        written.push({ key, revision, sub });
      }
    });
  }
  const ranges = [{ key: "a" }, { key: "b/", end: prefixEnd("b/") }, { key: "", end: "" }];
  for (const range of ranges) {
    const inRange = (key: string) =>
      range.end === undefined ? key === range.key : key >= range.key &&
        (range.end === "" || key < range.end);
    for (const [from, fromSub] of [[1, 0], [700, 1], [1_400, 1], [1_499, 0], [1_500, 1]]) {
      const expected = written.filter((change) =>
        inRange(change.key) &&
        (change.revision > from || (change.revision === from && change.sub >= fromSub))
      ).slice(0, 50);
      const got = store.changesFrom(range, from, 50, fromSub);
      assert.deepEqual(
        got.map((change) => [change.record.key, change.revision, change.sub]),
        expected.map((change) => [change.key, change.revision, change.sub]),
        `changes of ${JSON.stringify(range)} from ${from}.${fromSub}`,
      );
    }
  }
});
