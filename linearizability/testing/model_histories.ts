/**
 * Shorthands for histories of the models of `models.ts`, shared by the checker's and the file
 * readers' tests.
 *
 * @module
 */
import type { Operation } from "../history.ts";
import type { ModelOperation, ModelOperationKind } from "../models.ts";

/**
 * One operation: `client`, `kind`, `key`, call and return times, and the fields that matter for
 * it (value, expected, output, version, reply, maybe).
 */
export function mop(
  clientId: number,
  kind: ModelOperationKind,
  key: string,
  callMs: number,
  returnMs: number,
  fields: Partial<ModelOperation> = {},
): ModelOperation {
  return {
    clientId,
    kind,
    key,
    value: null,
    expected: null,
    output: null,
    version: 0,
    reply: "OK",
    callMs,
    returnMs,
    maybe: returnMs === Infinity,
    source: `test:${clientId}`,
    ...fields,
  };
}

/** A key/value operation as the models' search takes it. */
export function fromKv(operation: Operation): ModelOperation {
  return mop(
    operation.clientId,
    operation.kind,
    operation.key,
    operation.callMs,
    operation.returnMs,
    {
      value: operation.kind === "get" ? null : operation.value,
      output: operation.kind === "get" ? operation.output : null,
    },
  );
}
