/**
 * The output shared by `crash` and `nocrash`: four keys per input file whose values depend only
 * on the file, so a job that survives crashes must produce exactly `nocrash`'s output.
 *
 * @module
 */
import type { KeyValue } from "./app.ts";

/** The length of `text` in UTF-8 bytes, as Go's `len` measures strings. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(index + 1))) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** `a` → the file name, `b` → its length, `c` → the length of the contents, `d` → "xyzzy". */
export function crashMap(filename: string, contents: string): KeyValue[] {
  return [
    { key: "a", value: filename },
    { key: "b", value: String(utf8Length(filename)) },
    { key: "c", value: String(utf8Length(contents)) },
    { key: "d", value: "xyzzy" },
  ];
}

/** The values sorted and joined by spaces. */
export function crashReduce(values: string[]): string {
  return [...values].sort().join(" ");
}
