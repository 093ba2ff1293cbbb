/**
 * The sequential specification of one key of the key/value service, in its plainest form: Get
 * reads the value ("" if never written), Put replaces it, Append concatenates. The search runs a
 * fingerprinted version of the same rules; this one explains results and checks them in tests.
 *
 * @module
 */
import type { Operation } from "./history.ts";

/** The result of running one operation on a key's value. */
export interface ModelStep {
  /** Whether the operation may happen on this value (a Get must read exactly this value). */
  readonly legal: boolean;
  /** The value afterwards. */
  readonly value: string;
}

/** Runs `operation` on `value`, the current value of its key. */
export function stepModel(value: string, operation: Operation): ModelStep {
  switch (operation.kind) {
    case "get":
      return { legal: operation.output === value, value };
    case "put":
      return { legal: true, value: operation.value };
    case "append":
      return { legal: true, value: value + operation.value };
  }
}

/**
 * Runs the operations named by `order` (indices into `history`, all on one key) one after another
 * from the empty value. Returns the value after each, and the position of the first one that
 * is not legal (or -1).
 */
export function replay(
  history: readonly Operation[],
  order: readonly number[],
): { readonly values: string[]; readonly firstIllegal: number } {
  const values: string[] = [];
  let value = "";
  for (let position = 0; position < order.length; position++) {
    const step = stepModel(value, history[order[position]]);
    if (!step.legal) return { values, firstIllegal: position };
    value = step.value;
    values.push(value);
  }
  return { values, firstIllegal: -1 };
}
