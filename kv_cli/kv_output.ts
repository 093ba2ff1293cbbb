/**
 * What `dsys kv` prints, in etcdctl's two main shapes: `simple`, lines a person or a shell loop
 * reads (a key's value alone for a one-key get, as `dsys kv get` always printed; key and value
 * lines for several keys; `PUT`/`DELETE`, key and value for a watch event), and `json`, one JSON
 * object per line for each result or watch event, with its `type`, `key`, `value` and `revision`.
 *
 * @module
 */
import type { KeyRecord } from "../kv/store.ts";
import type { WatchEvent } from "../kv/watch_protocol.ts";
import type { KvReply, TxnResponse } from "../kv/protocol.ts";

/** The `--write-out` formats. */
export const WRITE_OUTS = ["simple", "json"] as const;
/** One `--write-out` format. */
export type WriteOut = typeof WRITE_OUTS[number];

/** Where lines go: standard output by default, a list in tests. */
export type Print = (line: string) => void;

/** A key as JSON: its value, version, revisions and lease, and the revision it was read at. */
export function keyJson(record: KeyRecord, revision: number): Record<string, unknown> {
  return {
    type: "key",
    key: record.key,
    value: record.value,
    version: record.version,
    createRevision: record.createRevision,
    modRevision: record.modRevision,
    lease: record.lease,
    revision,
  };
}

/** Prints keys read at `revision`: key and value lines, or one JSON object each. */
export function printKeys(
  print: Print,
  format: WriteOut,
  records: readonly KeyRecord[],
  revision: number,
): void {
  for (const record of records) {
    if (format === "json") {
      print(JSON.stringify(keyJson(record, revision)));
    } else {
      print(record.key);
      print(record.value);
    }
  }
}

/** Prints one watch event: `PUT`/`DELETE`, key and value lines, or one JSON object. */
export function printEvent(print: Print, format: WriteOut, event: WatchEvent): void {
  if (format === "json") {
    const record = event.record;
    print(JSON.stringify({
      type: event.type,
      key: event.key,
      value: event.value,
      revision: event.revision,
      ...(record === undefined ? {} : {
        version: record.version,
        createRevision: record.createRevision,
        modRevision: record.modRevision,
        lease: record.lease,
      }),
      ...(event.previousValue === undefined ? {} : { previousValue: event.previousValue }),
    }));
    return;
  }
  print(event.type.toUpperCase());
  print(event.key);
  if (event.type === "put") print(event.value);
}

/** Prints a transaction's outcome: SUCCESS or FAILURE and each response, or one JSON object. */
export function printTxn(print: Print, format: WriteOut, reply: KvReply): void {
  const revision = reply.revision ?? 0;
  const responses = reply.responses ?? [];
  if (format === "json") {
    print(JSON.stringify({
      type: "txn",
      succeeded: reply.succeeded === true,
      revision,
      responses: responses.map((response) => txnResponseJson(response, revision)),
    }));
    return;
  }
  print(reply.succeeded ? "SUCCESS" : "FAILURE");
  for (const response of responses) {
    print("");
    if (response.kind === "put") print(response.version === undefined ? "LEASE NOT FOUND" : "OK");
    else if (response.kind === "delete") print(String(response.deleted ?? 0));
    else printKeys(print, "simple", response.records ?? [], revision);
  }
}

function txnResponseJson(response: TxnResponse, revision: number): Record<string, unknown> {
  switch (response.kind) {
    case "put":
      return { type: "put", ok: response.version !== undefined, version: response.version };
    case "delete":
      return { type: "delete", deleted: response.deleted ?? 0 };
    case "range":
      return {
        type: "range",
        keys: (response.records ?? []).map((record) => keyJson(record, revision)),
        more: response.more === true,
      };
  }
}
