/**
 * `dsys kv` clients as processes, for fault tests of real clusters: one-shot commands timed on
 * the shells' clock, and `dsys kv shell` processes driven one operation at a time. Both kinds of
 * result become operations of one history for the linearizability checker.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { selfCommand } from "../util/self_command.ts";
import type { Operation, OperationKind } from "../linearizability/mod.ts";
import { UNKNOWN_RETURN_MS } from "../linearizability/mod.ts";
import { MAX_SHELL_LINE_CHARS, readLines, type ShellResult, wallClockMs } from "../kv_cli/kv.ts";

/** Most result lines one shell keeps waiting to be read; a bound on a runaway process. */
const MAX_PENDING_SHELL_LINES = 1_000;
/** Longest result line read: the key, the value and the output each up to an input line. */
const MAX_RESULT_LINE_CHARS = 4 * MAX_SHELL_LINE_CHARS;

/** How a one-shot command ended. */
export interface CommandResult {
  /** Its exit code. */
  readonly code: number;
  /** Everything it printed on standard output. */
  readonly stdout: string;
  /** Everything it printed on standard error. */
  readonly stderr: string;
  /**
   * When the command was started and when it had exited, on the shells' clock (ms since the
   * epoch): an interval that contains the operation, as a history needs.
   */
  readonly callMs: number;
  readonly returnMs: number;
}

/** The `dsys kv --servers <servers> --timeout <seconds>` command line, before its operation. */
function kvArgs(servers: readonly string[], timeoutSeconds: number): string[] {
  return ["kv", "--servers", servers.join(","), "--timeout", `${timeoutSeconds}`];
}

/**
 * Runs `dsys kv --servers <servers> --timeout <seconds> <args…>` in `cwd` to its end and returns
 * its exit code and output.
 */
export async function runKvCommand(
  servers: readonly string[],
  timeoutSeconds: number,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>> = {},
): Promise<CommandResult> {
  const [program, ...programArgs] = selfCommand([...kvArgs(servers, timeoutSeconds), ...args]);
  const callMs = wallClockMs();
  const output = await new Deno.Command(program, { args: programArgs, cwd, env, stdin: "null" })
    .output();
  const returnMs = wallClockMs();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    callMs,
    returnMs,
  };
}

/**
 * A `dsys kv shell` process: {@linkcode KvShell.run} writes one operation line and resolves with
 * its JSON result line. One operation at a time, as the shell's clerk requires.
 */
export class KvShell {
  readonly #process: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: LineReader;
  readonly #stderr: Promise<string>;
  #busy = false;
  #closed: Promise<void> | null = null;

  /** Starts a shell of `servers` in `cwd` whose operations give up after `timeoutSeconds`. */
  constructor(
    servers: readonly string[],
    timeoutSeconds: number,
    cwd: string,
    env: Readonly<Record<string, string>> = {},
  ) {
    const [program, ...programArgs] = selfCommand([...kvArgs(servers, timeoutSeconds), "shell"]);
    this.#process = new Deno.Command(program, {
      args: programArgs,
      cwd,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#process.stdin.getWriter();
    this.#lines = new LineReader(this.#process.stdout);
    this.#stderr = new Response(this.#process.stderr).text();
  }

  /**
   * Runs one operation (`get K`, `put K V`, `append K V`) and returns its result; for a get,
   * `value` may name its consistency.
   */
  async run(kind: OperationKind, key: string, value = ""): Promise<ShellResult> {
    assert(!this.#busy && this.#closed === null, "The shell is busy or closed");
    assert(!/[\s]/.test(key) && !value.includes("\n"), `Bad shell operand ${key} ${value}`);
    this.#busy = true;
    try {
      const line = kind === "get" ? `get ${key} ${value}\n` : `${kind} ${key} ${value}\n`;
      await this.#writer.write(new TextEncoder().encode(line));
      const next = await this.#lines.next();
      if (next === null) {
        const status = await this.#process.status;
        throw new Error(`The kv shell exited with code ${status.code}: ${await this.#stderr}`);
      }
      return readShellResult(next);
    } finally {
      this.#busy = false;
    }
  }

  /** Ends the shell (closes its input, then kills it if needed) and waits until it is gone. */
  close(): Promise<void> {
    this.#closed ??= this.#shutDown();
    return this.#closed;
  }

  async #shutDown(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // The shell is already gone: its input is closed.
    }
    try {
      this.#process.kill("SIGKILL");
    } catch {
      // It exited after its input closed.
    }
    await this.#lines.finished;
    await this.#process.status;
    await this.#stderr;
  }
}

/** Reads a stream's lines from the start, so the stream is drained even if nobody asks. */
class LineReader {
  readonly finished: Promise<void>;
  readonly #lines: string[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.finished = this.#read(stream);
  }

  /** The next line, or null once the stream ended. */
  async next(): Promise<string | null> {
    // Bounded: each pass either returns or waits for the reader to add a line or end.
    while (this.#lines.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#lines.shift() ?? null;
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const line of readLines(stream, MAX_RESULT_LINE_CHARS)) {
      assert(line !== null, `The kv shell printed a line over ${MAX_RESULT_LINE_CHARS} characters`);
      this.#lines.push(line);
      assert(this.#lines.length <= MAX_PENDING_SHELL_LINES, "The kv shell printed too many lines");
      this.#wake?.();
    }
    this.#ended = true;
    this.#wake?.();
  }
}

function readShellResult(line: string): ShellResult {
  const result = JSON.parse(line) as ShellResult;
  if (typeof result.op !== "string" || typeof result.ok !== "boolean") {
    throw new Error(`The kv shell answered ${line}`);
  }
  return result;
}

/** The shell result as an operation of a history: unknown outcome gets an infinite return. */
export function toOperation(result: ShellResult): Operation {
  return {
    clientId: result.clientId,
    kind: result.op,
    key: result.key,
    value: result.value,
    output: result.ok ? result.output : "",
    callMs: result.callMs,
    returnMs: result.ok ? result.returnMs : UNKNOWN_RETURN_MS,
  };
}
