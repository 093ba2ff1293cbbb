/**
 * What the whole command line shares: the version, one error prefix (`dsys:`) for commander's
 * own errors as for the commands', global options shown on every subcommand's help, and the
 * exit code a failed command ends with.
 *
 * @module
 */
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { errorText } from "../util/error_text.ts";
import { CliError } from "./cli_error.ts";
import { EXIT_ERROR } from "./exit_codes.ts";

/** The version `dsys --version` prints; the README shows it too. */
export const VERSION = "0.14.0";
/** The one prefix of every error line. */
export const ERROR_PREFIX = "dsys: ";
/** Most nested levels of subcommands (dsys kv lease grant is 3). */
const COMMAND_DEPTH_MAX = 8;

/**
 * Gives `program` its `--version`, and every command below it the `dsys:` error prefix and
 * help that shows the options of the commands above it (`dsys kv get --help` lists
 * `--endpoints`).
 */
export function configureProgram(program: CommandUnknownOpts): void {
  program.version(VERSION, "-V, --version", "print the version");
  // The program's own options (only --version) come before a subcommand: kv put has --version.
  program.enablePositionalOptions();
  configureTree(program, 0);
}

function configureTree(command: CommandUnknownOpts, depth: number): void {
  if (depth > COMMAND_DEPTH_MAX) throw new Error(`Commands nest deeper than ${COMMAND_DEPTH_MAX}`);
  command.configureOutput({
    outputError: (text, write) =>
      write(`${ERROR_PREFIX}${placeHint(command, text.replace(/^error: /, ""))}`),
  });
  command.configureHelp({ showGlobalOptions: true });
  for (const sub of command.commands) configureTree(sub, depth + 1);
}

/**
 * Commander's "unknown option" error, when the option belongs to a command above `command`
 * (`dsys kv get k --endpoints …`), also says where it goes: a command's options come before its
 * subcommand, so that `dsys kv lock NAME COMMAND` hands COMMAND's options on untouched.
 */
function placeHint(command: CommandUnknownOpts, text: string): string {
  const flag = /^unknown option '([^'=]+)/.exec(text)?.[1];
  if (flag === undefined) return text;
  // From `command` up to the program: the command that failed first.
  const chain: CommandUnknownOpts[] = [command];
  for (let above = command.parent; above !== null; above = above.parent) {
    if (chain.length > COMMAND_DEPTH_MAX) return text;
    chain.push(above);
  }
  const owner = chain.findIndex((candidate, index) =>
    index > 0 && candidate.options.some((option) => option.long === flag || option.short === flag)
  );
  if (owner === -1) return text;
  const path = (commands: CommandUnknownOpts[]) =>
    commands.map((each) => each.name()).reverse().join(" ");
  const ownerPath = path(chain.slice(owner));
  const below = path(chain.slice(0, owner));
  return `${text.trimEnd()}: it is an option of ${ownerPath}, so it goes before ${below} ` +
    `(${ownerPath} ${flag} … ${below} …)\n`;
}

/** The line a failed command prints on standard error, and its exit code. */
export function failure(error: unknown): { line: string; exitCode: number } {
  return {
    line: `${ERROR_PREFIX}${errorText(error)}`,
    exitCode: error instanceof CliError ? error.exitCode : EXIT_ERROR,
  };
}
