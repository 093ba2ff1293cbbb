import assert from "node:assert/strict";
import { EventList, HEAD, NONE } from "./event_list.ts";
import type { Operation } from "./history.ts";

function span(callMs: number, returnMs: number): Operation {
  return { clientId: 0, kind: "get", key: "k", value: "", output: "", callMs, returnMs };
}

/** The list read front to back, as `c0` (call of operation 0) and `r0` (its return). */
function read(list: EventList): string[] {
  const entries: string[] = [];
  for (let entry = list.next[HEAD]; entry !== NONE; entry = list.next[entry]) {
    entries.push(`${list.isCall[entry] === 1 ? "c" : "r"}${list.operationOf[entry]}`);
  }
  return entries;
}

Deno.test("events are in time order, calls before returns at one instant", () => {
  const list = new EventList([span(5, 10), span(0, 5), span(10, Infinity)]);
  assert.deepEqual(read(list), ["c1", "c0", "r1", "c2", "r0", "r2"]);
  assert.equal(list.match[list.callEntryOf[0]], list.returnEntryOf[0]);
  assert.equal(list.match[list.returnEntryOf[2]], list.callEntryOf[2]);
});

Deno.test("lifting takes out a call and its return; unlifting in reverse restores them", () => {
  const list = new EventList([span(0, 3), span(1, 2), span(2, 6), span(4, 5)]);
  const before = read(list);
  const version = list.version;
  list.lift(list.callEntryOf[1]);
  assert.deepEqual(read(list), ["c0", "c2", "r0", "c3", "r3", "r2"]);
  list.lift(list.callEntryOf[2]);
  assert.deepEqual(read(list), ["c0", "r0", "c3", "r3"]);
  list.unlift(list.callEntryOf[2]);
  list.unlift(list.callEntryOf[1]);
  assert.deepEqual(read(list), before);
  assert.equal(list.version, version + 4);
});

Deno.test("an empty list has only its head", () => {
  assert.deepEqual(read(new EventList([])), []);
});
