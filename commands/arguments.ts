/**
 * What the subcommands share: parsers for command-line values, each failing with a one-line error
 * that names the option and the value at fault, and the example block of their help.
 *
 * @module
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { InvalidArgumentError } from "commander";
import { parseAddress } from "../rpc/address.ts";
import { parseByteSize } from "../mr/mod.ts";
import { errorText } from "../util/error_text.ts";

/** Returns a commander parser for a whole number within [minimum, maximum]. */
export function integerOption(
  minimum: number,
  maximum = Number.MAX_SAFE_INTEGER,
): (text: string) => number {
  return (text: string) => {
    const value = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
      throw new InvalidArgumentError(`"${text}" is not a whole number.`);
    }
    if (value < minimum || value > maximum) {
      throw new InvalidArgumentError(`${value} is outside ${minimum}..${maximum}.`);
    }
    return value;
  };
}

/** Returns a commander parser for a positive number of seconds, given back in milliseconds. */
export function secondsOption(): (text: string) => number {
  return (text: string) => {
    const seconds = Number(text);
    if (text.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
      throw new InvalidArgumentError(`"${text}" is not a positive number of seconds.`);
    }
    return Math.round(seconds * 1000);
  };
}

/**
 * An option taking seconds, given to the program in milliseconds, whose help shows the default
 * in seconds as the user types it.
 */
export function secondsFlag<Flags extends string>(
  flags: Flags,
  description: string,
  defaultMs: number,
) {
  return new Option(flags, description)
    .argParser(secondsOption())
    .default(defaultMs, `${defaultMs / 1000}`);
}

/** Checks an address option (`host:port` or `unix:/path`) and gives it back unchanged. */
export function addressOption(text: string): string {
  parseAddress(text);
  return text;
}

/**
 * Parses a size such as `8MiB`, `1.5GB`, `500k` or a plain number of bytes into whole bytes
 * (mr/byte_size.ts, the one parser of sizes), as commander's option error naming the text.
 */
export function parseSize(text: string): number {
  try {
    return parseByteSize(text);
  } catch (error) {
    throw new InvalidArgumentError(errorText(error));
  }
}

/** A commander parser for a size (see {@linkcode parseSize}) that also takes `-1` for "never". */
export function sizeOrNeverOption(text: string): number {
  return text.trim() === "-1" ? -1 : parseSize(text);
}

/**
 * Adds the options that place a peer in its cluster, shared by `kv-server` and `raft-peer`:
 * `--id`, and `--endpoints` to set up a new cluster or `--join` with `--listen` to join one.
 * `--peers`, its former name, stays as a hidden alias.
 */
export function withPlacementOptions(command: Command) {
  return command
    .requiredOption(
      "--id <id>",
      "this node's id: its index in --endpoints, or a new id to --join",
      integerOption(0),
    )
    .option(
      "--endpoints <addresses>",
      "set up a new cluster of these nodes: every node's host:port or unix:/path, comma-separated, in id order",
    )
    .addOption(new Option("--peers <addresses>", "alias of --endpoints").hideHelp())
    .option(
      "--join",
      "join a running cluster: start with no members, and wait for the leader (see dsys member add)",
    )
    .option(
      "--listen <address>",
      "with --join: the host:port or unix:/path this node listens on",
      addressOption,
    );
}

/** The text `addHelpText("after", …)` shows below a subcommand's help: one command per line. */
export function examples(...lines: readonly string[]): string {
  return ["", "Example:", ...lines.map((line) => `  ${line}`)].join("\n");
}

/** Parses a regular expression given on the command line. */
export function patternOption(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (error) {
    throw new InvalidArgumentError(`"${text}" is not a regular expression: ${String(error)}.`);
  }
}

/** Throws a one-line error naming the first of `paths` that is not a readable file. */
export async function requireFiles(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(`Input file ${path} does not exist`);
      }
      throw new Error(`Cannot read input file ${path}: ${String(error)}`);
    }
    if (!info.isFile) throw new Error(`Input ${path} is not a file`);
  }
}
