import assert from "node:assert/strict";
import { appendValue, auditAppends, type IssuedAppend } from "./append_audit.ts";

function issued(client: number, sequence: number, key: string, acknowledged = true): IssuedAppend {
  return { client, sequence, key, value: appendValue(client, sequence), acknowledged };
}

Deno.test("an audit counts acknowledged appends and unknown ones that took effect or not", () => {
  const appends = [
    issued(0, 1, "a"),
    issued(1, 1, "a"),
    issued(0, 2, "a", false),
    issued(1, 2, "b", false),
  ];
  const audit = auditAppends(appends, new Map([["a", "1.1;0.1;0.2;"], ["b", ""]]));
  assert.deepEqual(audit, { acknowledged: 2, unknownApplied: 1, unknownLost: 1 });
});

Deno.test("an audit names a lost acknowledged append", () => {
  const appends = [issued(0, 1, "a"), issued(0, 2, "a")];
  assert.throws(
    () => auditAppends(appends, new Map([["a", "0.1;"]])),
    /Acknowledged append 0\.2; of client 0 to key a is lost/,
  );
});

Deno.test("an audit refuses an append applied twice", () => {
  assert.throws(
    () => auditAppends([issued(0, 1, "a", false)], new Map([["a", "0.1;0.1;"]])),
    /holds append 0\.1 twice/,
  );
});

Deno.test("an audit refuses a value no client appended, and a torn one", () => {
  assert.throws(() => auditAppends([], new Map([["a", "9.9;"]])), /no client appended/);
  assert.throws(() => auditAppends([issued(0, 1, "a")], new Map([["a", "0.1"]])), /partial/);
});

Deno.test("an audit refuses a client's acknowledged appends out of issue order", () => {
  const appends = [issued(2, 1, "a"), issued(2, 2, "a")];
  assert.throws(
    () => auditAppends(appends, new Map([["a", "2.2;2.1;"]])),
    /Client 2's acknowledged appends to key a are out of order/,
  );
});

Deno.test("an unknown append may land after a later acknowledged one of its client", () => {
  const appends = [issued(3, 1, "a", false), issued(3, 2, "a")];
  const audit = auditAppends(appends, new Map([["a", "3.2;3.1;"]]));
  assert.deepEqual(audit, { acknowledged: 1, unknownApplied: 1, unknownLost: 0 });
});
