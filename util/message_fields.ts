/**
 * Checks of the fields of a decoded message, for the parsers that stand between the RPC layer
 * and the code that trusts a message's shape. Each throws a sentence naming the message (`what`)
 * and the field at fault.
 *
 * @example
 * ```ts
 * import { objectOf, wholeNumberField } from "./message_fields.ts";
 *
 * const fields = objectOf({ taskId: 3 }, "task report");
 * wholeNumberField(fields, "taskId", "task report"); // 3
 * ```
 *
 * @module
 */

/** `value` as a record of fields; throws unless it is a plain object. */
export function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`Bad ${what}: expected an object`);
  }
  return value as Record<string, unknown>;
}

/** Field `name` as a safe whole number ≥ 0. */
export function wholeNumberField(
  fields: Record<string, unknown>,
  name: string,
  what: string,
): number {
  const value = fields[name];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`Bad ${what}: ${name} must be a whole number ≥ 0`);
  }
  return value;
}

/** Field `name` as a string of 1 to `maxChars` characters. */
export function textField(
  fields: Record<string, unknown>,
  name: string,
  what: string,
  maxChars = Number.MAX_SAFE_INTEGER,
): string {
  const value = fields[name];
  if (typeof value !== "string" || value.length === 0 || value.length > maxChars) {
    const most = maxChars === Number.MAX_SAFE_INTEGER ? "" : ` of at most ${maxChars} characters`;
    throw new Error(`Bad ${what}: ${name} must be a non-empty string${most}`);
  }
  return value;
}
