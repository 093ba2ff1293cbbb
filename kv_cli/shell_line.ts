/**
 * One line of `dsys kv shell`, read into an operation: what the JSON-lines shell and the
 * terminal shell share.
 *
 * @module
 */
import { CONSISTENCIES, type Consistency } from "../kv/command.ts";
import type { KvOperation } from "./kv_clerk.ts";

/** Longest line the shell reads; longer lines are answered with an error. */
export const MAX_SHELL_LINE_CHARS = 1024 * 1024;

/**
 * Reads one shell line: the operation, null for a blank or `#` comment line, or an error. The
 * value is the rest of the line after the key and one blank, spaces included. A get may name its
 * consistency after the key; else it has `consistency`.
 */
export function parseShellLine(
  line: string,
  consistency: Consistency = "linearizable",
): KvOperation | null {
  // Only leading blanks go: a value may end in spaces, and "put k " puts the empty string.
  const text = line.replace(/^\s+/, "");
  if (text.trim() === "" || text.startsWith("#")) return null;
  const match = /^(\S+)\s+(\S+)(?:\s(.*))?$/.exec(text);
  const kind = match?.[1];
  if (match === null || (kind !== "get" && kind !== "put" && kind !== "append")) {
    throw new Error(`Cannot read ${JSON.stringify(text)}: expected get K, put K V or append K V`);
  }
  const value = match[3] ?? "";
  if (kind === "get") {
    const level = value.trim() === "" ? consistency : value.trim();
    if (!CONSISTENCIES.includes(level as Consistency)) {
      throw new Error(
        `Cannot read ${JSON.stringify(text)}: get takes a key and at most a consistency (${
          CONSISTENCIES.join(", ")
        })`,
      );
    }
    return { kind, key: match[2], value: "", consistency: level as Consistency };
  }
  if (match[3] === undefined) {
    throw new Error(`Cannot read ${JSON.stringify(text)}: ${kind} needs a key and a value`);
  }
  return { kind, key: match[2], value };
}
