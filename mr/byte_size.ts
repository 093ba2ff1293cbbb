/**
 * Sizes as people type them on the command line: `64MiB`, `200MB`, `1.5GiB`, `500k`, `4096`.
 * Decimal units (k or kB, M or MB, G or GB) count powers of 1000 and binary ones (KiB, MiB, GiB)
 * powers of 1024, as their names say; a bare number is bytes. Every size option of every
 * subcommand reads its value here.
 *
 * @module
 */

const UNIT_BYTES: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/**
 * The number of bytes `text` names, rounded to a whole byte. Throws a sentence naming `text`
 * when it is not a non-negative number followed by an optional unit.
 *
 * @example
 * ```ts
 * parseByteSize("64MiB"); // 67108864
 * parseByteSize("200MB"); // 200000000
 * ```
 */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match?.[2].toLowerCase();
  if (match === null || unit === undefined || !Object.hasOwn(UNIT_BYTES, unit)) {
    throw new Error(
      `"${text}" is not a size: expected a number of bytes, optionally with a unit (B, KB, KiB, MB, MiB, GB, GiB).`,
    );
  }
  const bytes = Math.round(Number(match[1]) * UNIT_BYTES[unit]);
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${text}" is too large a size`);
  return bytes;
}

/** `bytes` in the largest binary unit that keeps it at least 1, for messages: `64 MiB`. */
export function formatByteSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}
