/**
 * Parsers for command-line values, each failing with a one-line error that names the option and
 * the value at fault.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";

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
