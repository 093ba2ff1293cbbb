import assert from "node:assert/strict";
import type { Entry } from "../raft/messages.ts";
import { MemoryStorage, PERSIST_STEP_COUNT, PERSIST_STEPS } from "./memory_storage.ts";
import type { PersistRequest } from "../raft/storage.ts";

function entries(from: number, terms: readonly number[]): Entry[] {
  return terms.map((term, position) => ({
    index: from + position,
    term,
    command: from + position,
  }));
}

function indexesAndTerms(storage: MemoryStorage): string[] {
  return storage.entries.map((entry) => `${entry.index}/${entry.term}`);
}

const NO_BYTES = new Uint8Array(0);

Deno.test("a fresh storage loads as a fresh peer: no hard state, no snapshot, no entries", () => {
  const storage = new MemoryStorage();
  assert.deepEqual(storage.load(), { entries: [] });
  assert.deepEqual(storage.hardState, { term: 0, votedFor: -1 });
  assert.deepEqual(storage.snapshot, { index: 0, term: 0, data: NO_BYTES });
  assert.equal(storage.lastIndex, 0);
  assert.equal(storage.lastTerm, 0);
});

Deno.test("a whole request is persisted in the contract's order", () => {
  const storage = new MemoryStorage();
  storage.persist({
    hardState: { term: 1, votedFor: 0 },
    logChange: { append: entries(1, [1, 1, 1]) },
  });
  assert.deepEqual(storage.hardState, { term: 1, votedFor: 0 });
  assert.deepEqual(indexesAndTerms(storage), ["1/1", "2/1", "3/1"]);
  // Truncate after 1, then append the leader's entries.
  storage.persist({ logChange: { truncateAfter: 1, append: entries(2, [2]) } });
  assert.deepEqual(indexesAndTerms(storage), ["1/1", "2/2"]);
  assert.equal(storage.lastIndex, 2);
  assert.equal(storage.lastTerm, 2);
  assert.equal(storage.termAt(1), 1);
  assert.deepEqual(storage.load(), {
    hardState: { term: 1, votedFor: 0 },
    entries: [...entries(1, [1]), ...entries(2, [2])],
  });
});

Deno.test("a snapshot drops the entries it covers and keeps the ones after it", () => {
  const storage = new MemoryStorage();
  storage.persist({ logChange: { append: entries(1, [1, 1, 2, 2]) } });
  const data = new Uint8Array([1, 2]);
  storage.persist({ snapshot: { index: 2, term: 1, data } });
  assert.deepEqual(indexesAndTerms(storage), ["3/2", "4/2"]);
  assert.equal(storage.snapshot.index, 2);
  assert.equal(storage.termAt(2), 1, "the snapshot's index has the snapshot's term");
  data[0] = 9;
  assert.equal(storage.snapshot.data[0], 1, "storage keeps its own copy of the bytes");
  // A snapshot past the end replaces everything; what follows continues it.
  storage.persist({
    snapshot: { index: 10, term: 3, data },
    logChange: { append: entries(11, [3]) },
  });
  assert.deepEqual(indexesAndTerms(storage), ["11/3"]);
  assert.equal(storage.lastIndex, 11);
  assert.equal(storage.lastTerm, 3);
});

Deno.test("the truncation comes before the snapshot and the append after both", () => {
  const storage = new MemoryStorage();
  storage.persist({ logChange: { append: entries(1, [1, 1, 1, 1]) } });
  // A leader of term 2 installs a snapshot at 2 that conflicts with entry 2: the core deletes
  // the entries after 1 first, so none of the stale ones outlives the snapshot.
  storage.persist({
    hardState: { term: 2, votedFor: -1 },
    logChange: { truncateAfter: 1, append: entries(3, [2]) },
    snapshot: { index: 2, term: 2, data: NO_BYTES },
  });
  assert.deepEqual(indexesAndTerms(storage), ["3/2"]);
  assert.equal(storage.termAt(2), 2);
});

Deno.test("a crash part way through a request keeps exactly the steps before it", () => {
  const batch: PersistRequest = {
    hardState: { term: 2, votedFor: 1 },
    logChange: { truncateAfter: 1, append: entries(2, [2]) },
    snapshot: { index: 1, term: 1, data: NO_BYTES },
  };
  const seen = [];
  for (let steps = 0; steps <= PERSIST_STEP_COUNT; steps++) {
    const storage = new MemoryStorage();
    storage.persist({ logChange: { append: entries(1, [1, 1]) } });
    storage.persistPrefix(batch, steps);
    seen.push(`${storage.hardState.term} ${storage.snapshot.index} ${indexesAndTerms(storage)}`);
  }
  assert.deepEqual(seen, ["0 0 1/1,2/1", "2 0 1/1,2/1", "2 0 1/1", "2 1 ", "2 1 2/2"]);
  assert.deepEqual(PERSIST_STEPS, ["hard state", "truncate", "snapshot", "append"]);
  assert.equal(PERSIST_STEP_COUNT, 4);
});

Deno.test("a step counts even when the request has no part for it", () => {
  const storage = new MemoryStorage();
  storage.persistPrefix({ logChange: { append: entries(1, [1]) } }, PERSIST_STEP_COUNT - 1);
  assert.equal(storage.lastIndex, 0, "three steps stop before the append");
  storage.persistPrefix({ logChange: { append: entries(1, [1]) } }, PERSIST_STEP_COUNT);
  assert.equal(storage.lastIndex, 1);
});

Deno.test("storage restored from a loaded state loads the same, and is its own copy", () => {
  const first = new MemoryStorage();
  first.persist({
    hardState: { term: 3, votedFor: 2 },
    snapshot: { index: 4, term: 2, data: new Uint8Array([7]) },
    logChange: { append: entries(5, [3, 3]) },
  });
  const loaded = first.load();
  const second = new MemoryStorage(loaded);
  assert.deepEqual(second.load(), loaded);
  first.persist({ logChange: { append: entries(7, [3]) } });
  assert.equal(loaded.entries.length, 2, "a load is not changed by later persists");
  assert.equal(second.lastIndex, 6);
  assert.deepEqual(new MemoryStorage({ entries: entries(1, [1]) }).load(), {
    entries: entries(1, [1]),
  });
});

Deno.test("storage refuses a restored state whose entries do not follow its snapshot", () => {
  assert.throws(
    () => new MemoryStorage({ entries: entries(2, [1]) }),
    /Cannot append entry 2: storage ends at entry 0/,
  );
  assert.throws(
    () =>
      new MemoryStorage({
        snapshot: { index: 3, term: 1, data: NO_BYTES },
        entries: [...entries(4, [1]), ...entries(6, [1])],
      }),
    /Cannot append entry 6: the entry before it is 4/,
  );
});

Deno.test("storage refuses entries that do not continue it and snapshots that go back", () => {
  const storage = new MemoryStorage();
  storage.persist({ logChange: { append: entries(1, [1]) } });
  assert.throws(
    () => storage.persist({ logChange: { append: entries(3, [1]) } }),
    /Cannot append entry 3: storage ends at entry 1/,
  );
  assert.throws(
    () => storage.persist({ logChange: { append: [...entries(2, [1]), ...entries(4, [1])] } }),
    /Cannot append entry 4: the entry before it is 2/,
  );
  assert.equal(storage.lastIndex, 1, "a refused append changes nothing");
  storage.persist({ logChange: { append: entries(2, [1]) } });
  storage.persist({ snapshot: { index: 2, term: 1, data: NO_BYTES } });
  assert.throws(
    () => storage.persist({ snapshot: { index: 1, term: 1, data: NO_BYTES } }),
    /Cannot store snapshot 1: storage holds snapshot 2/,
  );
  assert.throws(() => storage.termAt(1), /Cannot read the term of entry 1: storage holds 2 to 2/);
  assert.throws(
    () => storage.persistPrefix({}, 5),
    /Cannot persist 5 steps of a request: there are 4/,
  );
  assert.throws(() => storage.persistPrefix({}, -1), /Cannot persist -1 steps/);
});
