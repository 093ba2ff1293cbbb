import assert from "node:assert/strict";
import { AssertionError } from "../util/assert.ts";
import { RaftLog } from "./log.ts";
import type { Entry } from "./messages.ts";

/** Entries at indexes from, from + 1, … with the given terms. */
function entries(from: number, terms: readonly number[]): Entry[] {
  return terms.map((term, position) => ({
    index: from + position,
    term,
    command: `entry ${from + position} term ${term}`,
  }));
}

function termsOf(log: RaftLog): number[] {
  return log.slice(log.firstIndex, log.lastIndex + 1).map((entry) => entry.term);
}

Deno.test("an empty log starts at index 0 with term 0", () => {
  const log = new RaftLog();
  assert.equal(log.snapshotIndex, 0);
  assert.equal(log.firstIndex, 1);
  assert.equal(log.lastIndex, 0);
  assert.equal(log.lastTerm, 0);
  assert.equal(log.term(0), 0);
  assert.deepEqual(log.slice(1, 1), []);
});

Deno.test("a restored log hides the snapshot offset", () => {
  const log = new RaftLog({ snapshotIndex: 10, snapshotTerm: 3, entries: entries(11, [3, 4]) });
  assert.equal(log.firstIndex, 11);
  assert.equal(log.lastIndex, 12);
  assert.equal(log.lastTerm, 4);
  assert.equal(log.term(10), 3);
  assert.equal(log.term(11), 3);
  assert.equal(log.entry(12).command, "entry 12 term 4");
  assert.deepEqual(log.slice(11, 13).map((entry) => entry.index), [11, 12]);
});

Deno.test("reads outside the log fail with a sentence naming the index", () => {
  const log = new RaftLog({ snapshotIndex: 2, snapshotTerm: 1, entries: entries(3, [1, 1, 2]) });
  assert.throws(() => log.entry(7), { message: "Cannot read entry 7: log ends at 5" });
  assert.throws(() => log.term(6), { message: "Cannot read the term of entry 6: log ends at 5" });
  assert.throws(
    () => log.entry(2),
    { message: "Cannot read entry 2: it is compacted into the snapshot at 2" },
  );
  assert.throws(() => log.term(1), AssertionError);
  assert.throws(() => log.slice(2, 4), AssertionError);
  assert.throws(() => log.slice(3, 7), AssertionError);
  assert.throws(() => log.slice(5, 4), AssertionError);
  assert.throws(() => log.entry(1.5), AssertionError);
});

Deno.test("append takes only the next index and never a lower term", () => {
  const log = new RaftLog();
  log.append(entries(1, [1, 1, 2]));
  assert.deepEqual(termsOf(log), [1, 1, 2]);
  assert.throws(() => log.append(entries(5, [2])), {
    message: "Cannot append entry 5: log ends at 3",
  });
  assert.throws(() => log.append(entries(4, [1])), AssertionError);
  assert.throws(
    () => new RaftLog({ snapshotIndex: 5, snapshotTerm: 3, entries: entries(6, [2]) }),
    AssertionError,
  );
});

Deno.test("findConflict reports the first entry not held with the same term", () => {
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: entries(1, [1, 2, 3]) });
  assert.equal(log.findConflict([]), 0);
  assert.equal(log.findConflict(entries(1, [1, 2, 3])), 0);
  assert.equal(log.findConflict(entries(2, [2, 3])), 0);
  assert.equal(log.findConflict(entries(2, [2, 3, 4, 4])), 4);
  assert.equal(log.findConflict(entries(2, [2, 4])), 3);
  assert.equal(log.findConflict(entries(1, [4, 4])), 1);
});

Deno.test("merge appends new entries and leaves matching ones alone", () => {
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: entries(1, [1, 1]) });
  const first = log.entry(1);
  assert.equal(log.merge(entries(1, [1, 1, 2, 2])), -1);
  assert.deepEqual(termsOf(log), [1, 1, 2, 2]);
  assert.equal(log.entry(1), first, "a matching entry is kept, not replaced");
});

Deno.test("merge of a stale, shorter request never truncates matching entries", () => {
  const log = new RaftLog();
  assert.equal(log.merge(entries(1, [1, 1, 1, 1])), -1);
  // The same leader's earlier request, delivered late, carries a prefix of what is held.
  assert.equal(log.merge(entries(2, [1])), -1);
  assert.equal(log.merge([]), -1);
  assert.deepEqual(termsOf(log), [1, 1, 1, 1]);
});

Deno.test("merge truncates at the first real conflict and appends the rest", () => {
  const log = new RaftLog({
    snapshotIndex: 0,
    snapshotTerm: 0,
    entries: entries(1, [1, 1, 2, 2, 2]),
  });
  assert.equal(log.merge(entries(3, [3])), 2);
  assert.deepEqual(termsOf(log), [1, 1, 3]);
  assert.equal(log.merge(entries(2, [1, 3, 3, 3])), -1);
  assert.deepEqual(termsOf(log), [1, 1, 3, 3, 3]);
});

Deno.test("merge skips entries the snapshot covers", () => {
  const log = new RaftLog({ snapshotIndex: 3, snapshotTerm: 2, entries: entries(4, [2]) });
  assert.equal(log.merge(entries(2, [1, 2, 2, 3])), -1);
  assert.deepEqual(termsOf(log), [2, 3]);
  assert.equal(log.lastIndex, 5);
  assert.throws(() => log.merge(entries(7, [3])), {
    message: "Cannot merge entries from 7: log ends at 5",
  });
});

Deno.test("compact drops the prefix and keeps the term of its last entry", () => {
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: entries(1, [1, 1, 2, 3]) });
  log.compact(3);
  assert.equal(log.snapshotIndex, 3);
  assert.equal(log.snapshotTerm, 2);
  assert.equal(log.firstIndex, 4);
  assert.equal(log.lastIndex, 4);
  assert.equal(log.term(3), 2);
  assert.deepEqual(termsOf(log), [3]);
  log.compact(4);
  assert.equal(log.lastIndex, 4);
  assert.equal(log.lastTerm, 3);
  assert.deepEqual(termsOf(log), []);
  assert.throws(() => log.compact(4), AssertionError);
  assert.throws(() => log.compact(5), { message: "Cannot compact up to entry 5: log ends at 4" });
});

Deno.test("installSnapshot keeps the suffix when the log matches at its index", () => {
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: entries(1, [1, 2, 2, 3]) });
  assert.equal(log.installSnapshot(2, 2), true);
  assert.equal(log.snapshotIndex, 2);
  assert.deepEqual(termsOf(log), [2, 3]);
  assert.equal(log.lastIndex, 4);
});

Deno.test("installSnapshot discards everything when the log does not match", () => {
  const conflicting = new RaftLog({
    snapshotIndex: 0,
    snapshotTerm: 0,
    entries: entries(1, [1, 1, 1]),
  });
  assert.equal(conflicting.installSnapshot(2, 2), false);
  assert.equal(conflicting.lastIndex, 2);
  assert.equal(conflicting.lastTerm, 2);
  assert.deepEqual(termsOf(conflicting), []);

  const short = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: entries(1, [1]) });
  assert.equal(short.installSnapshot(5, 2), false);
  assert.equal(short.firstIndex, 6);
  assert.equal(short.lastIndex, 5);
  assert.throws(() => short.installSnapshot(4, 2), AssertionError);
});

Deno.test("term searches find the ends of a term's run", () => {
  const log = new RaftLog({
    snapshotIndex: 2,
    snapshotTerm: 1,
    entries: entries(3, [1, 2, 2, 2, 5]),
  });
  assert.equal(log.firstIndexOfTerm(1), 3);
  assert.equal(log.firstIndexOfTerm(2), 4);
  assert.equal(log.firstIndexOfTerm(5), 7);
  assert.equal(log.firstIndexOfTerm(3), -1);
  assert.equal(log.lastIndexOfTerm(1), 3);
  assert.equal(log.lastIndexOfTerm(2), 6);
  assert.equal(log.lastIndexOfTerm(5), 7);
  assert.equal(log.lastIndexOfTerm(4), -1);
  assert.equal(log.lastIndexOfTerm(6), -1);
  assert.equal(log.lastIndexOfTerm(0), -1);

  const onlySnapshot = new RaftLog({ snapshotIndex: 4, snapshotTerm: 3, entries: [] });
  assert.equal(onlySnapshot.lastIndexOfTerm(3), 4, "the snapshot's last entry counts");
  assert.equal(onlySnapshot.firstIndexOfTerm(3), -1, "only held entries count");
});

Deno.test("matchesTerm is false past the end and checks the snapshot boundary", () => {
  const log = new RaftLog({ snapshotIndex: 2, snapshotTerm: 1, entries: entries(3, [2]) });
  assert.equal(log.matchesTerm(2, 1), true);
  assert.equal(log.matchesTerm(3, 2), true);
  assert.equal(log.matchesTerm(3, 1), false);
  assert.equal(log.matchesTerm(4, 2), false);
  assert.throws(() => log.matchesTerm(1, 1), AssertionError);
});
