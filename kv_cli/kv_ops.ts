/**
 * The one-shot `dsys kv` subcommands in etcdctl's shapes: `get` (a key, a prefix, at a past
 * revision), `put` (the value from standard input when not given; on a lease; versioned),
 * `del`, `range` and `txn`. Each runs its operations within `--timeout` and ends with exit code
 * 0 (done), 1 (refused, or a usage error: one line naming what is at fault) or 2 (no answer in
 * time: a write may or may not have happened).
 *
 * @module
 */
import type { TransportSecurity } from "../security/transport_security.ts";
import { Command, Option } from "@commander-js/extra-typings";
import { CONSISTENCIES, type Consistency } from "../kv/command.ts";
import { ERR_NO_KEY, ERR_VERSION, type KvReply, OK } from "../kv/protocol.ts";
import { prefixEnd } from "../kv/store.ts";
import { rangePages } from "../recipes/connection.ts";
import type { Operation as ClerkOperation } from "../kv/clerk.ts";
import { DeadlineClerk, describeOperation, EXIT_UNKNOWN_OUTCOME } from "./kv_clerk.ts";
import { keyJson, type Print, printKeys, printTxn, type WriteOut } from "./kv_output.ts";
import { parseTxn } from "./kv_txn.ts";
import { examples, integerOption } from "../commands/arguments.ts";
import { diagnose } from "../cli/discovery.ts";

/** What every `dsys kv` subcommand takes from `dsys kv`'s own options. */
export interface KvCli {
  /** The endpoints as given (`--endpoints` or `DSYS_ENDPOINTS`). */
  endpoints(): string[];
  /** The addresses to use, the leader's added (see cli/discovery.ts); throws when none will do. */
  servers(): Promise<string[]>;
  /** How long one operation may take. */
  timeoutMs(): number;
  /** `--write-out`. */
  format(): WriteOut;
  /** `--ca` and `--secret-file`, loaded; undefined for plain TCP. */
  security(): Promise<TransportSecurity | undefined>;
}

/** The most characters `put` reads from standard input, and `txn` reads in all (16 MiB). */
export const MAX_STDIN_CHARS = 16 * 1024 * 1024;
/** How long the diagnosis of an operation that timed out may ask the endpoints. */
const DIAGNOSIS_WAIT_MS = 500;

/** An operation got no answer in time: exit 2, as its outcome is unknown. */
export class OutcomeUnknownError extends Error {
  /** Creates the error with the clerk's sentence. */
  constructor(message: string) {
    super(message);
    this.name = "OutcomeUnknownError";
  }
}

/** A clerk of the command line: sends within the deadline, prints, and says how it ended. */
export interface OneShot {
  readonly clerk: DeadlineClerk;
  readonly format: WriteOut;
  readonly print: Print;
}

/** Sends `operation` and returns the reply; throws when no answer came in time. */
export async function sendOrThrow(shot: OneShot, operation: ClerkOperation): Promise<KvReply> {
  const outcome = await shot.clerk.send(operation);
  if (!outcome.ok) {
    throw outcome.unknown ? new OutcomeUnknownError(outcome.error) : new Error(outcome.error);
  }
  return outcome.value;
}

/** Throws a sentence naming the operation unless the service said OK. */
function requireOk(reply: KvReply, operation: ClerkOperation): KvReply {
  if (reply.err !== OK) {
    throw new Error(`The service refused the ${describeOperation(operation)}: ${reply.err}`);
  }
  return reply;
}

/**
 * Runs `body` with a clerk of `cli`'s servers and sets the exit code: 2 when an operation got
 * no answer in time; other errors propagate (exit 1 with their sentence).
 */
export async function runOneShot(cli: KvCli, body: (shot: OneShot) => Promise<void>) {
  const clerk = new DeadlineClerk(await cli.servers(), cli.timeoutMs(), await cli.security());
  try {
    await body({ clerk, format: cli.format(), print: (line) => console.log(line) });
  } catch (error) {
    if (!(error instanceof OutcomeUnknownError)) throw error;
    console.error(`dsys: ${error.message}${await diagnosis(cli)}`);
    Deno.exitCode = EXIT_UNKNOWN_OUTCOME;
  } finally {
    clerk.close();
  }
}

/** "; no leader yet: …", what the endpoints say after an operation timed out, or "". */
export async function diagnosis(cli: KvCli): Promise<string> {
  const waitMs = Math.min(DIAGNOSIS_WAIT_MS, cli.timeoutMs());
  const why = await diagnose(cli.endpoints(), waitMs, await cli.security());
  return why === "" ? "" : `; ${why}`;
}

/** Options of {@linkcode runGet} and {@linkcode runRange}. */
export interface ReadOptions {
  readonly end?: string;
  readonly revision?: number;
  readonly limit?: number;
  readonly consistency?: Consistency;
}

/**
 * `get KEY`: the key's value (an empty line when missing), or its record in JSON (nothing when
 * missing). With `--rev`, as it stood then.
 */
export async function runGet(shot: OneShot, key: string, options: ReadOptions): Promise<void> {
  const operation: ClerkOperation = options.revision === undefined
    ? { kind: "get", key, value: "", ...levelOf(options.consistency) }
    : { kind: "range", key, value: "", revision: options.revision };
  const reply = await sendOrThrow(shot, operation);
  if (reply.err !== ERR_NO_KEY) requireOk(reply, operation);
  const record = (reply.records ?? []).find((found) => found.key === key);
  if (shot.format === "json") {
    if (record !== undefined) shot.print(JSON.stringify(keyJson(record, reply.revision ?? 0)));
  } else {
    shot.print(record?.value ?? "");
  }
}

/** `range FROM [TO]` and `get --prefix`: every key of the range, a page at a time. */
export async function runRange(shot: OneShot, key: string, options: ReadOptions): Promise<void> {
  const send = async (operation: ClerkOperation) =>
    requireOk(await sendOrThrow(shot, operation), operation);
  const pages = rangePages(send, { key, end: options.end ?? "" }, options);
  for await (const page of pages) printKeys(shot.print, shot.format, page.records, page.revision);
}

/**
 * `put KEY VALUE`: on a lease if given; versioned (the 2025 lab's Put) if `version` is. The
 * servers answer a retried operation with the reply its first application got, so a refusal
 * is definite even after retries (the 2025 lab's ErrMaybe, for servers without that table,
 * does not arise).
 */
export async function runPut(
  shot: OneShot,
  key: string,
  value: string,
  options: { lease?: number; version?: number; sequential?: boolean },
): Promise<void> {
  const operation: ClerkOperation = {
    kind: "put",
    key,
    value,
    ...(options.lease === undefined ? {} : { lease: options.lease }),
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.sequential ? { sequential: true } : {}),
  };
  const reply = await sendOrThrow(shot, operation);
  if (options.version !== undefined && (reply.err === ERR_VERSION || reply.err === ERR_NO_KEY)) {
    throw new Error(versionRefusal(key, options.version, reply.err));
  }
  requireOk(reply, operation);
  // A sequential put names the key it created.
  const created = options.sequential ? reply.records?.[0]?.key ?? key : key;
  if (shot.format === "json") {
    shot.print(
      JSON.stringify({
        type: "put",
        key: created,
        revision: reply.revision,
        version: reply.version,
      }),
    );
  } else if (options.sequential) {
    shot.print(created);
  }
}

function versionRefusal(key: string, version: number, err: string): string {
  const why = err === ERR_VERSION
    ? `its version is not ${version}`
    : err === ERR_NO_KEY
    ? "it does not exist"
    : err;
  return `Put of key ${JSON.stringify(key)} at version ${version} was refused: ${why} (${err})`;
}

/** `del KEY [END]`: prints how many keys went. */
export async function runDelete(shot: OneShot, key: string, end?: string): Promise<void> {
  const operation: ClerkOperation = {
    kind: "delete",
    key,
    value: "",
    ...(end === undefined ? {} : { end }),
  };
  const reply = requireOk(await sendOrThrow(shot, operation), operation);
  const deleted = reply.deleted ?? 0;
  if (shot.format === "json") {
    shot.print(
      JSON.stringify({
        type: "delete",
        key,
        ...(end === undefined ? {} : { end }),
        deleted,
        revision: reply.revision,
      }),
    );
  } else {
    shot.print(String(deleted));
  }
}

/** `txn`: the transaction `text` describes (see kv_txn.ts); prints SUCCESS or FAILURE and more. */
export async function runTxn(shot: OneShot, text: string): Promise<void> {
  const txn = parseTxn(text);
  const operation: ClerkOperation = { kind: "txn", key: "", value: "", txn };
  const reply = requireOk(await sendOrThrow(shot, operation), operation);
  printTxn(shot.print, shot.format, reply);
}

/** The consistency field of a get: absent for linearizable. */
function levelOf(consistency: Consistency | undefined): { consistency?: Consistency } {
  return consistency === undefined || consistency === "linearizable" ? {} : { consistency };
}

/**
 * All of standard input as text, at most `maxChars` characters, without one final line end (so
 * that `echo v | dsys kv put k` puts "v").
 */
export async function readStdin(
  input: ReadableStream<Uint8Array>,
  maxChars = MAX_STDIN_CHARS,
): Promise<string> {
  let text = "";
  for await (const chunk of input.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (text.length > maxChars) {
      throw new Error(
        `Standard input is longer than ${maxChars} characters, the most a value read from it may have`,
      );
    }
  }
  return text.replace(/\r?\n$/, "");
}

/** The `--consistency` option of gets. */
export function consistencyOption() {
  return new Option(
    "--consistency <level>",
    "how fresh a get must be: linearizable (every write acknowledged before it; the leader confirms it still leads, no log write), lease (the same, trusting the leader's clock within the allowed drift: no round of messages), serializable (the answering server's state as it stands: fast, may be stale)",
  ).choices(CONSISTENCIES).default("linearizable" as const);
}

const revisionOption = () =>
  new Option("--rev <revision>", "read the keys as they stood at this revision")
    .argParser(integerOption(1));
const limitOption = () =>
  new Option("--limit <keys>", "print at most this many keys").argParser(integerOption(1));

/** Adds get, put, del, range and txn to `kv`. */
export function addKeyCommands(kv: Command, cli: KvCli): void {
  addReadCommands(kv, cli);
  addWriteCommands(kv, cli);
}

function addReadCommands(kv: Command, cli: KvCli): void {
  kv.command("get").description(
    "Print a key's value (an empty line if missing); with --prefix, every key that starts with KEY and its value, a line each.",
  )
    .argument("<key>")
    .option("--prefix", "every key that starts with KEY")
    .addOption(revisionOption())
    .addOption(limitOption())
    .addOption(consistencyOption())
    .addHelpText(
      "after",
      examples(
        "dsys kv get city",
        "dsys kv get city --consistency serializable",
        "dsys kv --write-out json get config/ --prefix --rev 12",
      ),
    )
    .action((key, options) =>
      runOneShot(cli, (shot) => {
        const read = {
          revision: options.rev,
          limit: options.limit,
          consistency: options.consistency,
        };
        if (options.prefix) return runRange(shot, key, { ...read, end: prefixEnd(key) });
        if (options.limit !== undefined) throw new Error("--limit is for get --prefix and range");
        return runGet(shot, key, read);
      })
    );
  kv.command("range").description(
    "Print the keys in [FROM, TO) (every key from FROM without TO) and their values, a line each.",
  )
    .argument("<from>").argument("[to]")
    .addOption(limitOption())
    .addOption(revisionOption())
    .addHelpText(
      "after",
      examples(
        "dsys kv range a m --limit 10",
        "dsys kv range '' --rev 5",
      ),
    )
    .action((from, to, options) =>
      runOneShot(
        cli,
        (shot) =>
          runRange(shot, from, { end: to ?? "", revision: options.rev, limit: options.limit }),
      )
    );
}

function addWriteCommands(kv: Command, cli: KvCli): void {
  kv.command("put").description("Set a key; the value is read from standard input when not given.")
    .argument("<key>").argument("[value]")
    .addOption(
      new Option("--lease <id>", "attach the key to this lease").argParser(integerOption(1)),
    )
    .addOption(
      new Option(
        "--version <n>",
        "write only if the key's version is N (0: only if it does not exist)",
      )
        .argParser(integerOption(0)),
    )
    .option(
      "--sequential",
      "create KEY followed by a unique increasing number, as a ZooKeeper sequential node; print it",
    )
    .addHelpText(
      "after",
      examples(
        "dsys kv put city Lyon",
        "date | dsys kv put started",
        "dsys kv put config/ready 1 --version 0",
        "dsys kv put owner me --lease 7",
        "dsys kv put queue/job- task --sequential",
      ),
    )
    .action(async (key, value, options) => {
      const text = value ?? await readStdin(Deno.stdin.readable);
      await runOneShot(cli, (shot) => runPut(shot, key, text, options));
    });
  kv.command("del").description(
    "Delete a key, the keys in [KEY, END), or with --prefix every key that starts with KEY; print how many went.",
  )
    .argument("<key>").argument("[end]")
    .option("--prefix", "every key that starts with KEY")
    .addHelpText(
      "after",
      examples(
        "dsys kv del city",
        "dsys kv del config/ --prefix",
      ),
    )
    .action((key, end, options) => {
      if (options.prefix && end !== undefined) {
        throw new Error("del takes an END or --prefix, not both");
      }
      return runOneShot(cli, (shot) => runDelete(shot, key, options.prefix ? prefixEnd(key) : end));
    });
  kv.command("txn").description(
    'Run a transaction read from standard input: comparisons, a blank line, the operations if all hold, a blank line, the operations otherwise. A comparison: value("K") = "V", version("K") = 0, create("K") > 5, mod("K") != 3. An operation: put K V, get K [END|--prefix], del K [END|--prefix]; quote keys or values with blanks as JSON strings. Prints SUCCESS or FAILURE, then each response.',
  )
    .addHelpText(
      "after",
      examples(
        "printf 'version(\"lock\") = 0\\n\\nput lock me\\n\\nget lock\\n' | dsys kv txn",
      ),
    )
    .action(async () => {
      const text = await readStdin(Deno.stdin.readable);
      await runOneShot(cli, (shot) => runTxn(shot, text));
    });
}
