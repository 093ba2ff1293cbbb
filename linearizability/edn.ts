/**
 * A small, strict reader for the part of EDN (Clojure's data notation) that Jepsen histories
 * use: maps, vectors and lists, keywords, strings, whole numbers, `nil`, `true` and `false`,
 * with commas as whitespace and `;` comments. Anything else (symbols, tags, floats, sets,
 * characters) is an error that names its column, so that a history is never half-understood.
 *
 * @module
 */

/** A keyword, `:type` or `:jepsen/op`, without its colon. */
export class Keyword {
  /** The name after the colon. */
  readonly name: string;

  /** Creates the keyword `:name`. */
  constructor(name: string) {
    this.name = name;
  }
}

/** A map; each key is kept in its printed form (`:type`, `"k"`, `3`), its value as read. */
export type EdnMap = Map<string, EdnValue>;

/** A value this reader can read. Whole numbers beyond 2^53 are refused, not rounded. */
export type EdnValue = null | boolean | number | string | Keyword | EdnValue[] | EdnMap;

/** Thrown on text that is not in the subset; `column` counts from 1. */
export class EdnError extends Error {
  /** Where in the text the reader gave up. */
  readonly column: number;

  /** Creates the error; the message says what was expected at `column`. */
  constructor(message: string, column: number) {
    super(`${message} at column ${column}`);
    this.name = "EdnError";
    this.column = column;
  }
}

/** How deep collections may nest: histories need 3 or 4 levels. */
const MAX_DEPTH = 32;
const DELIMITERS = new Set(["{", "}", "[", "]", "(", ")", '"', ";", ","]);
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r" };

/** Reads exactly one value from `text`; only whitespace and comments may follow it. */
export function parseEdn(text: string): EdnValue {
  const reader = new Reader(text);
  const value = reader.value(0);
  reader.skipSpace();
  if (!reader.atEnd()) throw reader.error("expected the end after one value");
  return value;
}

/** The printed form of a map key: how {@linkcode EdnMap} keys are spelled. */
export function keyOf(value: EdnValue): string {
  if (value instanceof Keyword) return `:${value.name}`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return `${value}`;
  throw new Error("Only keywords, strings and whole numbers can be map keys");
}

class Reader {
  readonly #text: string;
  #position = 0;

  constructor(text: string) {
    this.#text = text;
  }

  atEnd(): boolean {
    return this.#position >= this.#text.length;
  }

  error(message: string): EdnError {
    return new EdnError(message, this.#position + 1);
  }

  skipSpace(): void {
    const text = this.#text;
    while (this.#position < text.length) {
      const char = text[this.#position];
      if (char === ";") {
        const end = text.indexOf("\n", this.#position);
        this.#position = end === -1 ? text.length : end;
      } else if (char === "," || /\s/.test(char)) {
        this.#position++;
      } else {
        return;
      }
    }
  }

  value(depth: number): EdnValue {
    this.skipSpace();
    if (this.atEnd()) throw this.error("expected a value, found the end");
    const char = this.#text[this.#position];
    if (char === "{" || char === "[" || char === "(") {
      if (depth === MAX_DEPTH) throw this.error(`collections nest deeper than ${MAX_DEPTH}`);
      this.#position++;
      const closer = char === "{" ? "}" : char === "[" ? "]" : ")";
      const items = this.#items(closer, depth + 1);
      return char === "{" ? this.#map(items) : items;
    }
    if (char === '"') return this.#string();
    if (char === ":") {
      this.#position++;
      const name = this.#token();
      if (name === "") throw this.error("expected a keyword's name after ':'");
      return new Keyword(name);
    }
    const start = this.#position;
    const token = this.#token();
    if (token === "nil") return null;
    if (token === "true") return true;
    if (token === "false") return false;
    if (/^[+-]?\d+N?$/.test(token)) {
      const number = Number(token.replace(/N$/, ""));
      if (!Number.isSafeInteger(number)) {
        this.#position = start;
        throw this.error(`${token} is too large a whole number`);
      }
      return number;
    }
    this.#position = start;
    if (token === "") throw this.error(`unexpected ${JSON.stringify(char)}`);
    throw this.error(`${JSON.stringify(token)} is not nil, true, false, a number or a keyword`);
  }

  #items(closer: string, depth: number): EdnValue[] {
    const items: EdnValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) throw this.error(`expected ${JSON.stringify(closer)}, found the end`);
      if (this.#text[this.#position] === closer) {
        this.#position++;
        return items;
      }
      items.push(this.value(depth));
    }
  }

  #map(items: readonly EdnValue[]): EdnMap {
    if (items.length % 2 !== 0) throw this.error("a map has a key without a value");
    const map: EdnMap = new Map();
    for (let index = 0; index < items.length; index += 2) {
      let key: string;
      try {
        key = keyOf(items[index]);
      } catch (error) {
        throw this.error((error as Error).message);
      }
      if (map.has(key)) throw this.error(`the map has the key ${key} twice`);
      map.set(key, items[index + 1]);
    }
    return map;
  }

  #string(): string {
    const text = this.#text;
    let result = "";
    this.#position++;
    while (this.#position < text.length) {
      const char = text[this.#position++];
      if (char === '"') return result;
      if (char !== "\\") {
        result += char;
        continue;
      }
      const escaped = ESCAPES[text[this.#position]];
      if (escaped === undefined) throw this.error("unknown escape in a string");
      result += escaped;
      this.#position++;
    }
    throw this.error("the string is not closed");
  }

  /** The run of characters up to whitespace or a delimiter. */
  #token(): string {
    const text = this.#text;
    const start = this.#position;
    while (
      this.#position < text.length && !DELIMITERS.has(text[this.#position]) &&
      !/\s/.test(text[this.#position])
    ) {
      this.#position++;
    }
    return text.slice(start, this.#position);
  }
}
