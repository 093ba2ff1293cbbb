import assert from "node:assert/strict";
import { ManualClock } from "../util/testing/manual_clock.ts";
import { KvStore } from "./store.ts";
import { WatchPolls } from "./watch_polls.ts";
import { parseWatchRequest, type WatchReply } from "./watch_protocol.ts";

function put(store: KvStore, key: string, value: string): void {
  store.transaction(() => {
    const revision = store.nextRevision();
    store.put(
      { key, value, version: 1, createRevision: revision, modRevision: revision, lease: 0 },
      0,
    );
  });
}

Deno.test("a poll answers at once from history, or waits for a change or its wait", () => {
  const clock = new ManualClock();
  const store = new KvStore();
  const polls = new WatchPolls(clock, () => store, 1);
  put(store, "a", "1");
  put(store, "b", "2");
  const now = polls.poll({ key: "a", end: "c", fromRevision: 1, waitMs: 1_000 }) as WatchReply;
  assert.deepEqual(now.events.map((e) => [e.key, e.revision]), [["a", 1], ["b", 2]]);
  assert.deepEqual([now.nextRevision, now.nextSub], [3, 0]);
  let answered: WatchReply | null = null;
  const waiting = polls.poll({ key: "a", fromRevision: 3, waitMs: 1_000 });
  assert.ok(waiting instanceof Promise);
  waiting.then((reply) => answered = reply);
  assert.equal(
    (polls.poll({ key: "z", fromRevision: 3, waitMs: 1_000 }) as WatchReply).err,
    "ErrTimeout",
    "over the bound of waiting polls",
  );
  put(store, "b", "3");
  polls.changed();
  clock.advance(0);
  assert.equal(polls.waiting, 1, "a change to another key does not answer it");
  put(store, "a", "4");
  polls.changed();
  clock.advance(0);
  return waiting.then(() => {
    assert.deepEqual(answered?.events.map((e) => [e.key, e.value, e.previousValue]), [[
      "a",
      "4",
      "1",
    ]]);
    assert.equal(polls.waiting, 0);
  });
});

Deno.test("a poll from before the history says ErrCompacted and where it starts", () => {
  const store = new KvStore();
  for (let i = 0; i < 4; i++) put(store, "k", `${i}`);
  store.transaction(() => store.compact(2));
  const polls = new WatchPolls(new ManualClock(), () => store);
  const reply = polls.poll({ key: "k", fromRevision: 2, waitMs: 0 }) as WatchReply;
  assert.deepEqual([reply.err, reply.nextRevision], ["ErrCompacted", 3]);
  const empty = polls.poll({ key: "k", fromRevision: 9, waitMs: 0 }) as WatchReply;
  assert.deepEqual([empty.err, empty.events, empty.nextRevision], ["OK", [], 9]);
});

Deno.test("a watch poll's arguments are checked, naming the field at fault", () => {
  const good = { key: "a", end: "b", fromRevision: 1, waitMs: 0 };
  assert.deepEqual(parseWatchRequest(good), { ...good, fromSub: 0 });
  assert.throws(() => parseWatchRequest(null), /Bad watch: expected an object/);
  assert.throws(() => parseWatchRequest({ ...good, key: 1 }), /Bad watch: key/);
  assert.throws(() => parseWatchRequest({ ...good, end: 2 }), /Bad watch: end/);
  assert.throws(() => parseWatchRequest({ ...good, fromRevision: 0 }), /fromRevision/);
  assert.throws(() => parseWatchRequest({ ...good, fromSub: -1 }), /fromSub/);
  assert.throws(() => parseWatchRequest({ ...good, waitMs: 30_001 }), /waitMs must be 0 to 30000/);
});
