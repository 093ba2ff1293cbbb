/**
 * Invariant checks that stay on in production, in the TigerStyle spirit: a broken invariant
 * stops the program at the place it broke, not three steps later.
 *
 * @module
 */

/** The error thrown when an invariant does not hold. */
export class AssertionError extends Error {
  /** Creates the error with a plain-sentence message. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/**
 * Throws an {@linkcode AssertionError} with `message` unless `condition` holds.
 *
 * @example
 * ```ts
 * assert(commitIndex >= previous, `Commit index went back from ${previous} to ${commitIndex}`);
 * ```
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
