/**
 * An error that ends a command with its own exit code: the program prints its message after
 * `dsys: ` and exits with {@linkcode CliError.exitCode} instead of 1.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** A one-line failure with the exit code scripts should see (see cli/exit_codes.ts). */
export class CliError extends Error {
  /** The code the program exits with. */
  readonly exitCode: number;

  /** Creates the error; `exitCode` must be a failure code (1 to 125). */
  constructor(message: string, exitCode: number) {
    super(message);
    assert(
      Number.isInteger(exitCode) && exitCode >= 1 && exitCode <= 125,
      `Exit code ${exitCode} is not between 1 and 125`,
    );
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
