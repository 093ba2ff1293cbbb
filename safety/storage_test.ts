import assert from "node:assert/strict";
import type { Ready } from "../raft/ready.ts";
import type { Entry } from "../raft/messages.ts";
import { MemoryStorage, PERSIST_STEP_COUNT, PERSIST_STEPS } from "./storage.ts";

function entries(from: number, terms: readonly number[]): Entry[] {
  return terms.map((term, position) => ({
    index: from + position,
    term,
    command: from + position,
  }));
}

function ready(fields: Partial<Ready>): Ready {
  return { messagesBeforePersist: [], messages: [], committedEntries: [], ...fields };
}

function indexesAndTerms(storage: MemoryStorage): string[] {
  return storage.entries.map((entry) => `${entry.index}/${entry.term}`);
}

Deno.test("a whole Ready is persisted in the contract's order", () => {
  const storage = new MemoryStorage();
  storage.persist(
    ready({ hardState: { term: 1, votedFor: 0 }, logChange: { append: entries(1, [1, 1, 1]) } }),
  );
  assert.deepEqual(storage.hardState, { term: 1, votedFor: 0 });
  assert.deepEqual(indexesAndTerms(storage), ["1/1", "2/1", "3/1"]);
  // Truncate after 1, then append the leader's entries.
  storage.persist(ready({ logChange: { truncateAfter: 1, append: entries(2, [2]) } }));
  assert.deepEqual(indexesAndTerms(storage), ["1/1", "2/2"]);
  assert.equal(storage.lastIndex, 2);
  assert.equal(storage.lastTerm, 2);
});

Deno.test("a snapshot drops the entries it covers and keeps the ones after it", () => {
  const storage = new MemoryStorage();
  storage.persist(ready({ logChange: { append: entries(1, [1, 1, 2, 2]) } }));
  const data = new Uint8Array([1, 2]);
  storage.persist(ready({ snapshot: { index: 2, term: 1, data } }));
  assert.deepEqual(indexesAndTerms(storage), ["3/2", "4/2"]);
  assert.equal(storage.snapshot.index, 2);
  data[0] = 9;
  assert.equal(storage.snapshot.data[0], 1, "storage keeps its own copy of the bytes");
  // A snapshot past the end replaces everything; what follows continues it.
  storage.persist(ready({
    snapshot: { index: 10, term: 3, data },
    logChange: { append: entries(11, [3]) },
  }));
  assert.deepEqual(indexesAndTerms(storage), ["11/3"]);
  assert.equal(storage.lastIndex, 11);
});

Deno.test("a crash part way through a Ready keeps exactly the steps before it", () => {
  const batch = ready({
    hardState: { term: 2, votedFor: 1 },
    logChange: { truncateAfter: 1, append: entries(2, [2]) },
    snapshot: { index: 1, term: 1, data: new Uint8Array(0) },
  });
  const seen = [];
  for (let steps = 0; steps <= PERSIST_STEP_COUNT; steps++) {
    const storage = new MemoryStorage();
    storage.persist(ready({ logChange: { append: entries(1, [1, 1]) } }));
    storage.persist(batch, steps);
    seen.push(`${storage.hardState.term} ${storage.snapshot.index} ${indexesAndTerms(storage)}`);
  }
  assert.deepEqual(seen, ["0 0 1/1,2/1", "2 0 1/1,2/1", "2 0 1/1", "2 1 ", "2 1 2/2"]);
  assert.deepEqual(PERSIST_STEPS, ["hard state", "truncate", "snapshot", "append"]);
});

Deno.test("storage refuses entries that do not continue it and snapshots that go back", () => {
  const storage = new MemoryStorage();
  storage.persist(ready({ logChange: { append: entries(1, [1]) } }));
  assert.throws(
    () => storage.persist(ready({ logChange: { append: entries(3, [1]) } })),
    /Cannot append entry 3: storage ends at entry 1/,
  );
  storage.persist(ready({ snapshot: { index: 1, term: 1, data: new Uint8Array(0) } }));
  assert.throws(
    () => storage.persist(ready({ snapshot: { index: 0, term: 0, data: new Uint8Array(0) } })),
    /Cannot store snapshot 0: storage holds snapshot 1/,
  );
  assert.throws(() => storage.persist(ready({}), 5), /there are 4/);
});
