import assert from "node:assert/strict";
import type { KvReply } from "../kv/protocol.ts";
import type { KeyRecord } from "../kv/store.ts";
import type { ModelOperation } from "../linearizability/models.ts";
import {
  answerOf,
  applyRequest,
  COORDINATION_MODEL,
  type CoordinationRequest,
  type CoordinationState,
  EMPTY_STATE,
} from "./model.ts";
import { checkCoordinationHistory, coordinationOperation, describeState } from "./history.ts";

/** An operation of `client` from `callMs` to `returnMs` (Infinity: never returned). */
function op(
  client: number,
  callMs: number,
  returnMs: number,
  request: CoordinationRequest,
  reply: KvReply | null = null,
): ModelOperation {
  const answer = reply === null ? null : answerOf(request, reply);
  return coordinationOperation(client, callMs, returnMs, { request, answer }, `test ${client}`);
}

/** A record as the service returns it. */
function record(key: string, value: string, version: number, create: number, mod: number) {
  const found: KeyRecord = {
    key,
    value,
    version,
    createRevision: create,
    modRevision: mod,
    lease: 0,
  };
  return found;
}

/** A get's reply: found with its record, or ErrNoKey. */
function got(revision: number, found?: KeyRecord): KvReply {
  if (found === undefined) return { err: "ErrNoKey", value: "", version: 0, revision };
  return { err: "OK", value: found.value, version: found.version, records: [found], revision };
}

/** A put of `key` from `at` to `at + 1` that wrote `version` at `revision`. */
const put = (at: number, key: string, value: string, revision: number, version = 1) =>
  op(0, at, at + 1, { kind: "put", key, value }, { err: "OK", value: "", version, revision });
const putA = (client: number, at: number, value: string, revision: number, version = 1) => ({
  ...put(at, "a", value, revision, version),
  clientId: client,
});

const casA: CoordinationRequest = {
  kind: "txn",
  txn: {
    compare: [{ key: "a", target: "version", op: "=", value: 1 }],
    success: [{ kind: "put", key: "a", value: "y" }],
    failure: [{ kind: "range", key: "a" }],
  },
};

const casSucceeded: KvReply = {
  err: "OK",
  value: "",
  succeeded: true,
  responses: [{ kind: "put", version: 2 }],
  revision: 2,
};

const twoPuts: CoordinationRequest = {
  kind: "txn",
  txn: {
    compare: [],
    success: [{ kind: "put", key: "a", value: "1" }, { kind: "put", key: "b", value: "2" }],
    failure: [],
  },
};

const deletePrefix: CoordinationRequest = { kind: "delete", key: "a/", end: "a0" };

/** Little histories, each legal or not. */
const HISTORIES: readonly { name: string; legal: boolean; history: ModelOperation[] }[] = [
  {
    name: "a read after a txn sees its write, version and revision",
    legal: true,
    history: [
      putA(0, 0, "x", 1),
      op(0, 2, 3, casA, casSucceeded),
      op(1, 4, 5, { kind: "get", key: "a" }, got(2, record("a", "y", 2, 1, 2))),
    ],
  },
  {
    name: "a stale read after a txn",
    legal: false,
    history: [
      putA(0, 0, "x", 1),
      op(0, 2, 3, casA, casSucceeded),
      op(1, 4, 5, { kind: "get", key: "a" }, got(1, record("a", "x", 1, 1, 1))),
    ],
  },
  {
    name: "a read concurrent with a txn may see the state before it",
    legal: true,
    history: [
      putA(0, 0, "x", 1),
      op(0, 2, 6, casA, casSucceeded),
      op(1, 3, 5, { kind: "get", key: "a" }, got(1, record("a", "x", 1, 1, 1))),
    ],
  },
  {
    name: "a txn whose comparison was ignored",
    legal: false,
    history: [
      putA(0, 0, "x", 1),
      putA(0, 2, "x2", 2, 2),
      op(0, 4, 5, casA, { ...casSucceeded, responses: [{ kind: "put", version: 3 }], revision: 3 }),
    ],
  },
  {
    name: "a txn that failed its comparison ran its failure branch, at the same revision",
    legal: true,
    history: [
      putA(0, 0, "x", 1),
      putA(0, 2, "x2", 2, 2),
      op(0, 4, 5, casA, {
        err: "OK",
        value: "",
        succeeded: false,
        responses: [{ kind: "range", records: [record("a", "x2", 2, 1, 2)], more: false }],
        revision: 2,
      }),
    ],
  },
  {
    name: "a txn that only read moved the revision on",
    legal: false,
    history: [
      putA(0, 0, "x", 1),
      putA(0, 2, "x2", 2, 2),
      op(0, 4, 5, casA, {
        err: "OK",
        value: "",
        succeeded: false,
        responses: [{ kind: "range", records: [record("a", "x2", 2, 1, 2)], more: false }],
        revision: 3,
      }),
    ],
  },
  {
    name: "a txn's two puts share one revision",
    legal: true,
    history: [
      op(0, 0, 1, twoPuts, {
        err: "OK",
        value: "",
        succeeded: true,
        responses: [{ kind: "put", version: 1 }, { kind: "put", version: 1 }],
        revision: 1,
      }),
      op(0, 2, 3, { kind: "get", key: "b" }, got(1, record("b", "2", 1, 1, 1))),
    ],
  },
  {
    name: "a txn's two puts took a revision each",
    legal: false,
    history: [
      op(0, 0, 1, twoPuts, {
        err: "OK",
        value: "",
        succeeded: true,
        responses: [{ kind: "put", version: 1 }, { kind: "put", version: 1 }],
        revision: 2,
      }),
    ],
  },
  {
    name: "a prefix delete counts every key it deleted",
    legal: true,
    history: [
      put(0, "a/0", "x", 1),
      put(2, "a/1", "y", 2),
      op(0, 4, 5, deletePrefix, { err: "OK", value: "", deleted: 2, revision: 3 }),
    ],
  },
  {
    name: "a prefix delete lost a count",
    legal: false,
    history: [
      put(0, "a/0", "x", 1),
      put(2, "a/1", "y", 2),
      op(0, 4, 5, deletePrefix, { err: "OK", value: "", deleted: 1, revision: 3 }),
    ],
  },
  {
    name: "a delete of nothing leaves the revision",
    legal: true,
    history: [
      putA(0, 0, "x", 1),
      op(0, 2, 3, { kind: "delete", key: "b" }, { err: "OK", value: "", deleted: 0, revision: 1 }),
    ],
  },
  {
    name: "a delete of nothing moved the revision on",
    legal: false,
    history: [
      putA(0, 0, "x", 1),
      op(0, 2, 3, { kind: "delete", key: "b" }, { err: "OK", value: "", deleted: 0, revision: 2 }),
    ],
  },
  {
    name: "a revision skipped",
    legal: false,
    history: [
      putA(0, 0, "x", 1),
      put(2, "b", "y", 3),
    ],
  },
  {
    name: "a revision reused by concurrent puts",
    legal: false,
    history: [
      putA(0, 0, "x", 1),
      { ...put(0, "b", "y", 1), clientId: 1, returnMs: 2 },
    ],
  },
  {
    name: "a key deleted and put again starts at version 1 with a new create revision",
    legal: true,
    history: [
      putA(0, 0, "x", 1),
      op(0, 2, 3, { kind: "delete", key: "a" }, { err: "OK", value: "", deleted: 1, revision: 2 }),
      putA(0, 4, "z", 3),
      op(0, 6, 7, { kind: "get", key: "a" }, got(3, record("a", "z", 1, 3, 3))),
    ],
  },
  {
    name: "versioned puts: create, refused twice, then the right version",
    legal: true,
    history: [
      op(0, 0, 1, { kind: "put", key: "a", value: "x", version: 0 }, {
        err: "OK",
        value: "",
        version: 1,
        revision: 1,
      }),
      op(0, 2, 3, { kind: "put", key: "a", value: "y", version: 0 }, {
        err: "ErrVersion",
        value: "",
        revision: 1,
      }),
      op(0, 4, 5, { kind: "put", key: "b", value: "y", version: 1 }, {
        err: "ErrNoKey",
        value: "",
        revision: 1,
      }),
      op(0, 6, 7, { kind: "put", key: "a", value: "y", version: 1 }, {
        err: "OK",
        value: "",
        version: 2,
        revision: 2,
      }),
    ],
  },
  {
    name: "a versioned put of the wrong version that wrote",
    legal: false,
    history: [
      putA(0, 0, "x", 1),
      op(0, 2, 3, { kind: "put", key: "a", value: "y", version: 0 }, {
        err: "OK",
        value: "",
        version: 2,
        revision: 2,
      }),
    ],
  },
  {
    name: "a write that never returned may have happened",
    legal: true,
    history: [
      op(0, 0, Infinity, { kind: "put", key: "a", value: "x" }),
      op(1, 5, 6, { kind: "get", key: "a" }, got(1, record("a", "x", 1, 1, 1))),
    ],
  },
  {
    name: "a write that never returned may not have happened",
    legal: true,
    history: [
      op(0, 0, Infinity, { kind: "put", key: "a", value: "x" }),
      op(1, 5, 6, { kind: "get", key: "a" }, got(0)),
    ],
  },
  {
    name: "a write that never returned cannot have moved the revision without its key",
    legal: false,
    history: [
      op(0, 0, Infinity, { kind: "put", key: "a", value: "x" }),
      op(1, 5, 6, { kind: "get", key: "a" }, got(1)),
    ],
  },
  {
    name: "a comparison sees a missing key's value as empty",
    legal: true,
    history: [
      op(0, 0, 1, {
        kind: "txn",
        txn: {
          compare: [{ key: "a", target: "value", op: "=", value: "" }],
          success: [{ kind: "put", key: "a", value: "x" }, { kind: "range", key: "a" }],
          failure: [],
        },
      }, {
        err: "OK",
        value: "",
        succeeded: true,
        responses: [
          { kind: "put", version: 1 },
          { kind: "range", records: [record("a", "x", 1, 1, 1)], more: false },
        ],
        revision: 1,
      }),
    ],
  },
];

for (const { name, legal, history } of HISTORIES) {
  Deno.test(`coordination model: ${legal ? "legal" : "illegal"}: ${name}`, () => {
    const result = checkCoordinationHistory(history, 5_000);
    assert.equal(result.verdict, legal ? "ok" : "illegal");
  });
}

Deno.test("coordination model: equal states have equal fingerprints, whatever the order", () => {
  const reversed: CoordinationRequest = {
    kind: "txn",
    txn: {
      compare: [],
      success: [...(twoPuts.kind === "txn" ? twoPuts.txn.success : [])].reverse(),
      failure: [],
    },
  };
  const one = applyRequest(EMPTY_STATE, twoPuts).state;
  const other = applyRequest(EMPTY_STATE, reversed).state;
  assert.equal(COORDINATION_MODEL.fingerprint(one), COORDINATION_MODEL.fingerprint(other));
  const later: CoordinationState = applyRequest(one, { kind: "put", key: "a", value: "1" }).state;
  assert.notEqual(COORDINATION_MODEL.fingerprint(one), COORDINATION_MODEL.fingerprint(later));
  assert.equal(describeState(one), 'revision 1: a="1" (v1, c1, m1), b="2" (v1, c1, m1)');
});

Deno.test("coordination model: only operations that may write change the state", () => {
  const pure = (operation: ModelOperation) => COORDINATION_MODEL.isPure(operation);
  assert.equal(pure(op(0, 0, 1, { kind: "get", key: "a" }, got(0))), true);
  assert.equal(pure(op(0, 0, Infinity, { kind: "put", key: "a", value: "x" })), false);
  const refused: KvReply = { err: "ErrVersion", value: "", revision: 4 };
  assert.equal(pure(op(0, 0, 1, { kind: "put", key: "a", value: "x", version: 3 }, refused)), true);
  assert.equal(pure(op(0, 0, Infinity, { kind: "delete", key: "a" })), false);
  const none: KvReply = { err: "OK", value: "", deleted: 0, revision: 4 };
  assert.equal(pure(op(0, 0, 1, { kind: "delete", key: "a" }, none)), true);
  assert.equal(pure(op(0, 0, Infinity, casA)), false);
  assert.equal(pure(op(0, 0, 1, casA, casSucceeded)), false);
  const reads: CoordinationRequest = {
    kind: "txn",
    txn: { compare: [], success: [{ kind: "range", key: "a" }], failure: [] },
  };
  assert.equal(pure(op(0, 0, Infinity, reads)), true);
});
