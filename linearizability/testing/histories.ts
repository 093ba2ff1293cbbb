/**
 * History-building helpers shared by the linearizability tests, so the checker and the
 * visualizer are exercised with histories written the same way.
 *
 * @module
 */

import type { Operation, OperationKind } from "../history.ts";

/**
 * Shorthand for one operation: `[client, kind, key, value-or-output, callMs, returnMs]`.
 * `text` is the output of a get and the value of a put or append.
 */
export function op(
  clientId: number,
  kind: OperationKind,
  key: string,
  text: string,
  callMs: number,
  returnMs: number,
): Operation {
  const isGet = kind === "get";
  return {
    clientId,
    kind,
    key,
    value: isGet ? "" : text,
    output: isGet ? text : "",
    callMs,
    returnMs,
  };
}
