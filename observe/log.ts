/**
 * Log lines of the servers (raft-peer, kv-server, coordinator, worker): every line carries its
 * time (ISO 8601, UTC, milliseconds), its level and the node that wrote it, as text for people
 * or as one JSON object per line for machines (`--log-format json`).
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** Log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** How severe a line is. */
export type LogLevel = typeof LOG_LEVELS[number];

/** How lines are written: `text` for people, `json` for one object per line. */
export const LOG_FORMATS = ["text", "json"] as const;
/** One of {@linkcode LOG_FORMATS}. */
export type LogFormat = typeof LOG_FORMATS[number];

/** A structured field's value. */
export type LogFieldValue = string | number | boolean | null;
/** Structured fields of one line, beside its message. */
export type LogFields = Readonly<Record<string, LogFieldValue>>;

/** The keys every JSON line has; a field may not take them. */
const RESERVED_KEYS = new Set(["ts", "level", "node", "msg"]);
/** Most fields on one line: a bound on the line's size. */
const FIELDS_MAX = 32;

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** The node that writes, as `kv-server 0` or `coordinator`. */
  readonly node: string;
  /** Default `text`. */
  readonly format?: LogFormat;
  /** Lines below this level are dropped; default `info`. */
  readonly level?: LogLevel;
  /** Where a finished line goes; default standard error. */
  readonly write?: (line: string) => void;
  /** Wall-clock milliseconds since the epoch; default `Date.now`. */
  readonly nowMs?: () => number;
}

/**
 * Writes one line per event, stamped with time, level and node.
 *
 * @example
 * ```ts
 * const logger = new Logger({ node: "kv-server 0", format: "json" });
 * logger.info("role changed", { role: "leader", term: 3, leader: "0" });
 * ```
 */
export class Logger {
  /** The node named on every line. */
  readonly node: string;
  readonly #format: LogFormat;
  readonly #minimum: number;
  readonly #write: (line: string) => void;
  readonly #nowMs: () => number;

  /** A logger for `options.node`. */
  constructor(options: LoggerOptions) {
    this.node = options.node;
    this.#format = options.format ?? "text";
    this.#minimum = LOG_LEVELS.indexOf(options.level ?? "info");
    this.#write = options.write ?? ((line) => console.error(line));
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Writes a `debug` line. */
  debug(msg: string, fields: LogFields = {}): void {
    this.log("debug", msg, fields);
  }

  /** Writes an `info` line. */
  info(msg: string, fields: LogFields = {}): void {
    this.log("info", msg, fields);
  }

  /** Writes a `warn` line. */
  warn(msg: string, fields: LogFields = {}): void {
    this.log("warn", msg, fields);
  }

  /** Writes an `error` line. */
  error(msg: string, fields: LogFields = {}): void {
    this.log("error", msg, fields);
  }

  /** Writes a line at `level`, unless the level is below the logger's. */
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (LOG_LEVELS.indexOf(level) < this.#minimum) return;
    this.#write(this.format(level, msg, fields));
  }

  /** The line {@linkcode Logger.log} would write now, for a caller that writes it itself. */
  format(level: LogLevel, msg: string, fields: LogFields = {}): string {
    return formatLogLine({ ts: this.#nowMs(), level, node: this.node, msg, fields }, this.#format);
  }

  /** A plain line writer at `level`, for modules that take `(line) => void`. */
  at(level: LogLevel): (line: string) => void {
    return (line) => this.log(level, line);
  }
}

/** One line before formatting. */
export interface LogRecord {
  /** Wall-clock milliseconds since the epoch. */
  readonly ts: number;
  readonly level: LogLevel;
  readonly node: string;
  readonly msg: string;
  readonly fields: LogFields;
}

/**
 * `record` as one line: `2026-12-03T23:55:01.123Z INFO  kv-server 0: msg key=value` as text,
 * or `{"ts":"…","level":"info","node":"kv-server 0","msg":"msg","key":"value"}` as JSON.
 */
export function formatLogLine(record: LogRecord, format: LogFormat): string {
  const keys = Object.keys(record.fields);
  assert(keys.length <= FIELDS_MAX, `Log line has ${keys.length} fields; at most ${FIELDS_MAX}`);
  const ts = new Date(record.ts).toISOString();
  if (format === "json") {
    const object: Record<string, LogFieldValue> = {
      ts,
      level: record.level,
      node: record.node,
      msg: record.msg,
    };
    for (const key of keys) {
      assert(!RESERVED_KEYS.has(key), `Log field ${JSON.stringify(key)} is a reserved key`);
      object[key] = record.fields[key];
    }
    return JSON.stringify(object);
  }
  const level = record.level.toUpperCase().padEnd(5);
  const fields = keys.map((key) => ` ${key}=${textValue(record.fields[key])}`).join("");
  return `${ts} ${level} ${record.node}: ${oneLine(record.msg)}${fields}`;
}

/** A field's value in a text line: bare when it has no space, quote or equals sign. */
function textValue(value: LogFieldValue): string {
  if (typeof value !== "string") return String(value);
  return value !== "" && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}

/** `text` with line breaks escaped, so one event stays one line. */
function oneLine(text: string): string {
  return text.includes("\n") || text.includes("\r")
    ? text.replaceAll("\r", "\\r").replaceAll("\n", "\\n")
    : text;
}
