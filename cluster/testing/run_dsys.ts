/**
 * Runs `dsys` as a process to its end with bytes on its standard input, for tests of the
 * command line as users run it.
 *
 * @module
 */
import { selfCommand } from "../../util/self_command.ts";

/** How one `dsys` run ended, and how long it took. */
export interface DsysRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** Options of {@linkcode runDsys}. */
export interface RunDsysOptions {
  /** The working folder. */
  readonly cwd: string;
  /** Bytes or text for its standard input; none (null) when absent. */
  readonly stdin?: Uint8Array | string;
  /** Variables added to its environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs `dsys <args…>` to its end and returns its exit code, output and duration. */
export async function runDsys(args: readonly string[], options: RunDsysOptions): Promise<DsysRun> {
  const [program, ...programArgs] = selfCommand(args);
  const startedMs = performance.now();
  const child = new Deno.Command(program, {
    args: programArgs,
    cwd: options.cwd,
    env: options.env === undefined ? undefined : { ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const input = typeof options.stdin === "string"
      ? new TextEncoder().encode(options.stdin)
      : options.stdin;
    const writer = child.stdin.getWriter();
    try {
      await writer.write(input);
      await writer.close();
    } catch (error) {
      // A child that refuses its input exits before reading all of it.
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    }
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    elapsedMs: performance.now() - startedMs,
  };
}
