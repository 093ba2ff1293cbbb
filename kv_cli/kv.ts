/**
 * `dsys kv`: a client of a real key/value cluster. One operation per run (`get`, `put`,
 * `append`), a `shell` that reads operations from standard input and prints one JSON line per
 * result, and the nodes' `status` (as `dsys status` prints it).
 *
 * Exit codes of one operation: 0 done, 2 outcome unknown (no answer in time: a put or append may
 * or may not have happened), 1 anything else (usage, bad addresses).
 *
 * The shell's JSON lines carry `callMs` and `returnMs` as `performance.timeOrigin +
 * performance.now()`: milliseconds since the Unix epoch with sub-millisecond precision, on a
 * clock that does not jump inside one process. Lines from shells on one machine can therefore be
 * merged into one history for the linearizability checker; an operation with `unknown: true`
 * must be given an infinite return time there (its `returnMs` is when the shell gave up).
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { securityFromOptions, withClientSecurityOptions } from "../security/security_options.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { errorText } from "../util/error_text.ts";
import type { Consistency } from "../kv/command.ts";
import { DEFAULT_STATUS_TIMEOUT_MS } from "../peer/status.ts";
import { examples, secondsFlag } from "../commands/arguments.ts";
import { addEndpointOptions, endpointsOf } from "../cli/endpoints.ts";
import { discoverKvEndpoints, DISCOVERY_WAIT_MS } from "../cli/discovery.ts";
import { EXIT_ERROR, exitCodesHelp } from "../cli/exit_codes.ts";
import { runTerminalShell } from "./kv_terminal.ts";
import { MAX_SHELL_LINE_CHARS, parseShellLine } from "./shell_line.ts";

export { MAX_SHELL_LINE_CHARS, parseShellLine };
import { runStatus } from "../commands/status.ts";
import {
  DeadlineClerk,
  DEFAULT_OPERATION_TIMEOUT_MS,
  EXIT_UNKNOWN_OUTCOME,
  type KvOperation,
  type KvOperationKind,
  type OperationOutcome,
} from "./kv_clerk.ts";
import { addKeyCommands, consistencyOption, diagnosis, type KvCli } from "./kv_ops.ts";
import { WRITE_OUTS } from "./kv_output.ts";
import { addWatchCommands } from "./kv_watch.ts";
import { addLockCommands } from "./kv_lock.ts";

/** The `kv` subcommand and its own subcommands. */
export function kvCommand() {
  const kv = withClientSecurityOptions(new Command("kv"))
    // Options of dsys kv come before its subcommand, so that lock passes COMMAND's on untouched.
    .enablePositionalOptions()
    .description(
      "Run key/value and coordination operations against a cluster, in etcdctl's shapes. Any one kv-server's address is enough: the client asks it who leads.",
    )
    .addOption(
      secondsFlag(
        "--timeout <seconds>",
        `give up an operation after this long (exit ${EXIT_UNKNOWN_OUTCOME})`,
        DEFAULT_OPERATION_TIMEOUT_MS,
      ),
    )
    .addOption(
      new Option(
        "-w, --write-out <format>",
        "simple: values and keys a line each; json: one JSON object per result or watch event",
      ).choices(WRITE_OUTS).default("simple" as const),
    )
    .addHelpText(
      "after",
      exitCodesHelp() + "\n" +
        examples(
          "export DSYS_ENDPOINTS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
          "dsys kv put city Lyon",
          'dsys kv --timeout 2 append city " 69"',
          "dsys kv --endpoints 127.0.0.1:7002 get city",
          "dsys kv -w json watch config/ --prefix",
          "dsys kv lock deploy ./deploy.sh",
        ),
    );
  addEndpointOptions(kv, "any of the cluster's kv-server addresses");
  const endpoints = () => endpointsOf(kv);
  let security: Promise<TransportSecurity | undefined> | undefined;
  const cli: KvCli = {
    endpoints,
    servers: async () =>
      discoverKvEndpoints(
        endpoints(),
        Math.min(DISCOVERY_WAIT_MS, kv.opts().timeout),
        await cli.security(),
      ),
    timeoutMs: () => kv.opts().timeout,
    format: () => kv.opts().writeOut,
    // The files are read once, however many times a command asks.
    security: () => security ??= securityFromOptions(kv.opts(), "client"),
  };
  addKeyCommands(kv, cli);
  addWatchCommands(kv, cli);
  addLockCommands(kv, cli);
  kv.command("append").description("Append to a key's value.")
    .argument("<key>").argument("<value>")
    .addHelpText("after", examples('dsys kv append city " 69"'))
    .action(async (key, value) => {
      const code = await runKvOperation(cli, { kind: "append", key, value });
      if (code !== 0) Deno.exitCode = code;
    });
  addShellCommand(kv, cli);
  kv.command("status")
    .description(
      `Show every server's role, term, leader and indexes; a server silent for --timeout (default here: ${
        DEFAULT_STATUS_TIMEOUT_MS / 1000
      } s) is unreachable. Exits as dsys status does.`,
    )
    .addOption(new Option("--json", "the same as dsys kv -w json status").hideHelp())
    .addHelpText("after", examples("dsys kv --timeout 2 -w json status"))
    .action(async (options) => {
      // A status call is quick: unless --timeout is given, wait no longer than dsys status does.
      const given = kv.getOptionValueSource("timeout") !== "default";
      const timeoutMs = given ? kv.opts().timeout : DEFAULT_STATUS_TIMEOUT_MS;
      const json = options.json === true || kv.opts().writeOut === "json";
      await runStatus(endpoints(), json ? "json" : "table", timeoutMs, await cli.security());
    });
  return kv;
}

function addShellCommand(kv: Command, cli: KvCli): void {
  kv.command("shell")
    .description(
      'Read "get K [LEVEL]", "put K V", "append K V" lines from stdin. On a terminal: a prompt, history and line editing, and plain answers. Otherwise: one JSON result per line (callMs/returnMs: ms since the epoch, performance.timeOrigin + performance.now()). LEVEL overrides --consistency for one get. Exits 1 when a line was not an operation.',
    )
    .addOption(consistencyOption())
    .addHelpText(
      "after",
      examples("printf 'put k v\\nget k\\nget k serializable\\n' | dsys kv shell"),
    )
    .action(async (options) => {
      const servers = await cli.servers();
      const security = await cli.security();
      const rejected = Deno.stdin.isTerminal()
        ? await runTerminalShell(servers, cli.timeoutMs(), options.consistency, security)
        : await runKvShell(
          servers,
          cli.timeoutMs(),
          Deno.stdin.readable,
          (line) => console.log(line),
          options.consistency,
          security,
        );
      if (rejected > 0) Deno.exitCode = EXIT_ERROR;
    });
}

/**
 * `dsys kv get|put|append`: runs one operation, prints a get's value, reports failure on
 * standard error; returns the exit code (0, or {@linkcode EXIT_UNKNOWN_OUTCOME}).
 */
export async function runKvOperation(cli: KvCli, operation: KvOperation): Promise<number> {
  const clerk = new DeadlineClerk(await cli.servers(), cli.timeoutMs(), await cli.security());
  try {
    const outcome = await clerk.run(operation);
    if (outcome.ok) {
      if (operation.kind === "get") console.log(outcome.output);
      return 0;
    }
    // A refused handshake is a definite no (exit 1); anything else timed out (exit 2).
    if (!outcome.unknown) {
      console.error(`dsys: ${outcome.error}`);
      return EXIT_ERROR;
    }
    console.error(`dsys: ${outcome.error}${await diagnosis(cli)}`);
    return EXIT_UNKNOWN_OUTCOME;
  } finally {
    clerk.close();
  }
}

/**
 * The time shells stamp operations with, so that lines of several shells, and one-shot commands
 * timed by their caller, merge into one history; see the module documentation.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The JSON line `dsys kv shell` prints for one operation. */
export interface ShellResult {
  /** get, put or append. */
  readonly op: KvOperationKind;
  /** The key. */
  readonly key: string;
  /** The value written ("" for get). */
  readonly value: string;
  /** The value read by a get that succeeded ("" otherwise). */
  readonly output: string;
  /** A get's consistency, when not linearizable: such a get may be stale. */
  readonly consistency?: Consistency;
  /** Whether the operation was applied. */
  readonly ok: boolean;
  /** Whether its outcome is unknown (it timed out: it may or may not take effect). */
  readonly unknown: boolean;
  /** The clerk's client id for this operation. */
  readonly clientId: number;
  /** When the shell sent it, by {@linkcode wallClockMs}. */
  readonly callMs: number;
  /** When the shell got the answer (or gave up), by {@linkcode wallClockMs}. */
  readonly returnMs: number;
  /** Why it failed, when it did. */
  readonly error?: string;
}

/** Bad lines the shell reports one by one; the rest are counted in one summary line. */
export const BAD_LINES_REPORTED_MAX = 10;

/**
 * `dsys kv shell`: one operation per input line, in order, one JSON line per result on
 * `write`. A line that is not an operation gets `{"error": …, "ok": false}` (the first
 * {@linkcode BAD_LINES_REPORTED_MAX}; then one summary line at the end) and the shell goes on.
 * Returns how many lines were not operations.
 */
export async function runKvShell(
  servers: readonly string[],
  timeoutMs: number,
  input: ReadableStream<Uint8Array>,
  write: (line: string) => void,
  consistency: Consistency = "linearizable",
  security?: TransportSecurity,
): Promise<number> {
  const clerk = new DeadlineClerk(servers, timeoutMs, security);
  let rejected = 0;
  const reject = (error: string) => {
    rejected++;
    if (rejected <= BAD_LINES_REPORTED_MAX) {
      write(JSON.stringify({ error, ok: false, unknown: false }));
    }
  };
  try {
    for await (const line of readLines(input, MAX_SHELL_LINE_CHARS)) {
      let operation: KvOperation | null;
      try {
        if (line === null) {
          throw new Error(`Line is longer than ${MAX_SHELL_LINE_CHARS} characters`);
        }
        operation = parseShellLine(line, consistency);
      } catch (error) {
        reject(errorText(error));
        continue;
      }
      if (operation === null) continue;
      const clientId = clerk.clientId;
      const callMs = wallClockMs();
      const outcome = await clerk.run(operation);
      write(JSON.stringify(shellResult(operation, outcome, clientId, callMs, wallClockMs())));
    }
  } finally {
    clerk.close();
  }
  if (rejected > BAD_LINES_REPORTED_MAX) {
    const error =
      `${rejected} lines were not operations; the first ${BAD_LINES_REPORTED_MAX} are reported above`;
    write(JSON.stringify({ error, ok: false, unknown: false }));
  }
  return rejected;
}

/** The JSON line of one operation the shell ran. */
function shellResult(
  operation: KvOperation,
  outcome: OperationOutcome,
  clientId: number,
  callMs: number,
  returnMs: number,
): ShellResult {
  return {
    op: operation.kind,
    key: operation.key,
    value: operation.value,
    output: outcome.ok ? outcome.output : "",
    ...(operation.consistency === undefined || operation.consistency === "linearizable"
      ? {}
      : { consistency: operation.consistency }),
    ok: outcome.ok,
    unknown: !outcome.ok && outcome.unknown,
    clientId,
    callMs,
    returnMs,
    ...(outcome.ok ? {} : { error: outcome.error }),
  };
}

/** Lines of `input` without their ends; a line longer than `maxChars` comes out as null. */
export async function* readLines(
  input: ReadableStream<Uint8Array>,
  maxChars: number,
): AsyncGenerator<string | null> {
  let pending = "";
  let overlong = false;
  for await (const text of input.pipeThrough(new TextDecoderStream())) {
    pending += text;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline).replace(/\r$/, "");
      pending = pending.slice(newline + 1);
      yield overlong || line.length > maxChars ? null : line;
      overlong = false;
      newline = pending.indexOf("\n");
    }
    if (pending.length > maxChars) {
      // Keep memory bounded: the rest of this line is dropped and the line reported as too long.
      overlong = true;
      pending = "";
    }
  }
  if (pending !== "" || overlong) yield overlong ? null : pending;
}
