/**
 * The message of a thrown value, for the one-line error reports every command and server gives.
 *
 * @module
 */

/**
 * The message of an unknown thrown value: an Error's message, anything else as a string.
 *
 * @example
 * ```ts
 * errorText(new Error("Cannot open data/node-1")); // "Cannot open data/node-1"
 * errorText("timeout"); // "timeout"
 * ```
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
