/**
 * What the subcommands share: parsers for command-line values, each failing with a one-line error
 * that names the option and the value at fault, and the example block of their help.
 *
 * @module
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { InvalidArgumentError } from "commander";
import { parseAddress } from "../rpc/address.ts";

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

/** Multipliers of the size units {@linkcode parseSize} takes (B, k/KB, KiB, M/MB, MiB, G/GB, GiB). */
const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1_000,
  kb: 1_000,
  kib: 1024,
  m: 1_000_000,
  mb: 1_000_000,
  mib: 1024 ** 2,
  g: 1_000_000_000,
  gb: 1_000_000_000,
  gib: 1024 ** 3,
};

/**
 * Parses a size such as `8MiB`, `1.5GB`, `500k` or a plain number of bytes into whole bytes;
 * throws a one-line error naming the text. Units are case-blind; KB is 1000 bytes, KiB 1024.
 */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  const unit = SIZE_UNITS[match?.[2].toLowerCase() ?? ""];
  if (match === null || unit === undefined) {
    throw new InvalidArgumentError(
      `"${text}" is not a size: expected a number of bytes, optionally with a unit (B, KB, KiB, MB, MiB, GB, GiB).`,
    );
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) {
    throw new InvalidArgumentError(`"${text}" is too large a size.`);
  }
  return bytes;
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
