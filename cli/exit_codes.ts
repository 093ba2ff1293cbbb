/**
 * The exit codes of every client command (`dsys kv`, `status`, `propose`, `member`, `leader`),
 * one table for their help and the README, so that scripts can tell a refusal from a cluster
 * that cannot be reached and from a write whose outcome is unknown.
 *
 * @module
 */

/** Done. */
export const EXIT_OK = 0;
/**
 * A usage error, or the service refused the operation (a definite no), or the connection: a
 * wrong or missing cluster secret or certificate, which no retry can fix.
 */
export const EXIT_ERROR = 1;
/** No answer within --timeout: a write may or may not have taken effect; a read gave nothing. */
export const EXIT_TIMED_OUT = 2;
/**
 * Nothing was sent: no endpoint could be used (connection refused, no socket, not a kv-server),
 * or, for `status`, no node leads.
 */
export const EXIT_UNAVAILABLE = 3;
/** `status` only: a leader exists but some node did not answer. */
export const EXIT_DEGRADED = 4;

/** The exit codes as `--help` lists them, one line each. */
export const EXIT_CODE_LINES: readonly string[] = [
  `${EXIT_OK}  done`,
  `${EXIT_ERROR}  usage error, or the service refused the operation or the connection (secret, TLS)`,
  `${EXIT_TIMED_OUT}  timed out: a write may or may not have taken effect; a read gave no value`,
  `${EXIT_UNAVAILABLE}  unavailable: connection refused, not a kv-server, or (status) no leader`,
  `${EXIT_DEGRADED}  (status) a node did not answer, but one leads`,
];

/** The "Exit codes:" block that `addHelpText("after", …)` shows, before the examples. */
export function exitCodesHelp(): string {
  return ["", "Exit codes:", ...EXIT_CODE_LINES.map((line) => `  ${line}`)].join("\n");
}
