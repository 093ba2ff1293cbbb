/**
 * Real processes of this program for tests, the demo and benchmarks: started with
 * `selfCommand`, tracked in a group so that every one is killed and reaped at the end — Deno's
 * test sanitizers insist, and a stray worker would disturb the next test.
 *
 * @module
 */
import { selfCommand } from "./self_command.ts";

/** How a child's standard output and error are handled. */
export type ChildOutput = "piped" | "inherit" | "null";

/** A started child process of this program. */
export interface Child {
  /** Its process id. */
  readonly pid: number;
  /** The subcommand arguments it runs, for messages. */
  readonly args: readonly string[];
  /** Resolves once it exited, with its exit code and (when piped) the tail of its output. */
  readonly exited: Promise<ChildExit>;
  /** Whether it has exited. */
  readonly hasExited: boolean;
  /** Sends `signal` (default SIGKILL) unless it has exited, and waits until it has. */
  kill(signal?: Deno.Signal): Promise<ChildExit>;
  /** Sends `signal` unless it has exited (SIGSTOP, SIGCONT: it goes on running). */
  signal(signal: Deno.Signal): void;
}

/** How a child ended. */
export interface ChildExit {
  /** Exit code; 128 + n after signal n. */
  readonly code: number;
  /** The last {@linkcode MAX_KEPT_OUTPUT_CHARS} characters of stdout and stderr, when piped. */
  readonly output: string;
}

/** The most output kept per child, for failure messages; older output is dropped. */
export const MAX_KEPT_OUTPUT_CHARS = 8_192;
/** Most children one group may start; a bound for runaway restart loops. */
export const MAX_CHILDREN_PER_GROUP = 10_000;

/** Options for starting a child. */
export interface SpawnOptions {
  /** Working folder of the child. */
  readonly cwd: string;
  /** What to do with its stdout and stderr; default `piped` (kept for failure messages). */
  readonly output?: ChildOutput;
  /** Variables added to the child's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Turns the command line into the one actually run, such as `unshare … <argv>` to start the
   * child in its own mount namespace; default the command line itself.
   */
  readonly wrap?: (argv: readonly string[]) => string[];
}

/** A set of children that can be killed and awaited together. */
export class ChildGroup {
  readonly #children: Child[] = [];

  #closed = false;

  /** Starts `dsys <args…>` in `options.cwd`; throws once {@linkcode ChildGroup.killAll} ran. */
  spawn(args: readonly string[], options: SpawnOptions): Child {
    if (this.#closed) throw new Error(`Cannot start ${args.join(" ")}: its group was shut down`);
    if (this.#children.length >= MAX_CHILDREN_PER_GROUP) {
      throw new Error(
        `Cannot start ${args.join(" ")}: this group already started ${MAX_CHILDREN_PER_GROUP}`,
      );
    }
    const argv = selfCommand(args);
    const [program, ...programArgs] = options.wrap?.(argv) ?? argv;
    const output = options.output ?? "piped";
    const process = new Deno.Command(program, {
      args: programArgs,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: output,
      stderr: output,
    }).spawn();
    let hasExited = false;
    const exited = collect(process, output).then((exit) => {
      hasExited = true;
      return exit;
    });
    const signal = (signal: Deno.Signal) => {
      if (hasExited) return;
      try {
        process.kill(signal);
      } catch {
        // It exited between the check and the signal; `exited` says how.
      }
    };
    const child: Child = {
      pid: process.pid,
      args: [...args],
      exited,
      get hasExited() {
        return hasExited;
      },
      kill: (sent: Deno.Signal = "SIGKILL") => {
        signal(sent);
        return exited;
      },
      signal,
    };
    this.#children.push(child);
    return child;
  }

  /** Kills every child still running, refuses new ones, and waits until all have exited. */
  async killAll(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#children.map((child) => child.kill()));
  }
}

/** Waits for `process` to exit, keeping the tail of its output when piped. */
async function collect(process: Deno.ChildProcess, output: ChildOutput): Promise<ChildExit> {
  if (output !== "piped") {
    const status = await process.status;
    return { code: status.code, output: "" };
  }
  const [stdout, stderr, status] = await Promise.all([
    tail(process.stdout),
    tail(process.stderr),
    process.status,
  ]);
  return { code: status.code, output: (stdout + stderr).slice(-MAX_KEPT_OUTPUT_CHARS) };
}

/** Reads `stream` to its end, keeping only the last {@linkcode MAX_KEPT_OUTPUT_CHARS}. */
async function tail(stream: ReadableStream<Uint8Array>): Promise<string> {
  let kept = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    kept = (kept + text).slice(-MAX_KEPT_OUTPUT_CHARS);
  }
  return kept;
}

/**
 * Waits until a server of `child` accepts connections at `address` (`host:port` or
 * `unix:/path`), polling every 20 ms for at most `timeoutMs`. Throws if the child exits first
 * or time runs out.
 */
export async function waitUntilListening(
  child: Child,
  address: string,
  timeoutMs: number,
): Promise<void> {
  const pollMs = 20;
  const polls = Math.ceil(timeoutMs / pollMs);
  for (let poll = 0; poll < polls; poll++) {
    if (child.hasExited) {
      const exit = await child.exited;
      throw new Error(
        `${child.args[0]} exited with code ${exit.code} before listening: ${exit.output}`,
      );
    }
    if (await accepts(address)) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`${child.args[0]} did not listen on ${address} within ${timeoutMs} ms`);
}

async function accepts(address: string): Promise<boolean> {
  try {
    const connection = address.startsWith("unix:")
      ? await Deno.connect({ transport: "unix", path: address.slice("unix:".length) })
      : await Deno.connect({
        hostname: address.slice(0, address.lastIndexOf(":")) || "127.0.0.1",
        port: Number(address.slice(address.lastIndexOf(":") + 1)),
      });
    connection.close();
    return true;
  } catch {
    return false;
  }
}
