/**
 * The text `dsys kv txn` reads from standard input, in the order etcdctl's interactive txn asks
 * for it: comparisons, the operations if they all hold, the operations otherwise; a blank line
 * ends each part (so a text that starts with one has no comparisons). Lines starting with `#`
 * are skipped.
 *
 * ```text
 * version("config/ready") = 0
 * mod("leader") < 12
 *
 * put config/ready "version 7"
 * del config/old --prefix
 *
 * get config/ready
 * ```
 *
 * A comparison is `TARGET("KEY") OP VALUE`: TARGET is value, version, create or mod; OP is =,
 * !=, < or >; VALUE is a whole number for all but value (quoted or not), a string for value.
 * An operation is `put KEY VALUE`, `get KEY [END]` or `del KEY [END]`; get and del take
 * `--prefix` instead of an end. A key or value with blanks or quotes is written as a JSON string.
 *
 * @module
 */
import type { Compare, CompareOp, CompareTarget, Txn, TxnOp } from "../kv/command.ts";
import { MAX_TXN_OPS } from "../kv/command.ts";
import { prefixEnd } from "../kv/store.ts";

const COMPARE_PATTERN =
  /^(value|version|create|mod)\(\s*("(?:[^"\\]|\\.)*"|[^)\s]+)\s*\)\s*(!=|=|<|>)\s*(.*)$/;

/** Reads a transaction's text; throws naming the line at fault. */
export function parseTxn(text: string): Txn {
  const parts: string[][] = [[], [], []];
  let part = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("#")) continue;
    // A blank line ends a part, as in etcdctl's interactive txn; blank lines after the last go.
    if (line === "") {
      part++;
      continue;
    }
    if (part > 2) {
      throw new Error(
        `Cannot read transaction line ${
          JSON.stringify(line)
        }: compares, success and failure are done`,
      );
    }
    if (parts[part].length === MAX_TXN_OPS) {
      throw new Error(`Cannot read the transaction: a part has over ${MAX_TXN_OPS} lines`);
    }
    parts[part].push(line);
  }
  return {
    compare: parts[0].map(parseCompare),
    success: parts[1].map(parseTxnOp),
    failure: parts[2].map(parseTxnOp),
  };
}

/** Reads one comparison line; throws naming it. */
export function parseCompare(line: string): Compare {
  const match = COMPARE_PATTERN.exec(line);
  if (match === null) {
    throw new Error(
      `Cannot read comparison ${
        JSON.stringify(line)
      }: expected TARGET("KEY") OP VALUE, TARGET one of value, version, create, mod`,
    );
  }
  const target = match[1] as CompareTarget;
  const key = unquote(match[2], line);
  const op = match[3] as CompareOp;
  const text = unquote(match[4].trim(), line);
  if (target === "value") return { key, target, op, value: text };
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new Error(
      `Cannot read comparison ${JSON.stringify(line)}: a ${target} is a whole number, not ${
        JSON.stringify(text)
      }`,
    );
  }
  return { key, target, op, value };
}

/** Reads one operation line; throws naming it. */
export function parseTxnOp(line: string): TxnOp {
  const words = splitWords(line);
  const [verb, key, ...rest] = words;
  const prefix = rest.includes("--prefix");
  const operands = rest.filter((word) => word !== "--prefix");
  if (verb === "put" && key !== undefined && operands.length === 1 && !prefix) {
    return { kind: "put", key, value: operands[0] };
  }
  if ((verb === "get" || verb === "del") && key !== undefined && operands.length <= 1) {
    if (prefix && operands.length > 0) {
      throw new Error(`Cannot read operation ${JSON.stringify(line)}: --prefix and an end`);
    }
    const end = prefix ? prefixEnd(key) : operands[0];
    const kind = verb === "get" ? "range" : "delete";
    return end === undefined ? { kind, key } : { kind, key, end };
  }
  throw new Error(
    `Cannot read operation ${
      JSON.stringify(line)
    }: expected put KEY VALUE, get KEY [END|--prefix] or del KEY [END|--prefix]`,
  );
}

/** The words of `line`: runs of non-blanks, or JSON strings. */
function splitWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /"(?:[^"\\]|\\.)*"|\S+/g;
  for (const match of line.matchAll(pattern)) words.push(unquote(match[0], line));
  return words;
}

function unquote(word: string, line: string): string {
  if (!word.startsWith('"')) return word;
  try {
    return JSON.parse(word) as string;
  } catch {
    throw new Error(`Cannot read ${JSON.stringify(line)}: ${word} is not a JSON string`);
  }
}
