import assert from "node:assert/strict";
import { parseSize, sizeOrNeverOption } from "./arguments.ts";

Deno.test("parseSize reads bytes with or without a unit, decimal and binary", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["1000000", 1_000_000],
    ["512B", 512],
    ["4k", 4_000],
    ["4KB", 4_000],
    ["4KiB", 4_096],
    ["8MiB", 8 * 1024 * 1024],
    ["8mib", 8 * 1024 * 1024],
    ["1.5MB", 1_500_000],
    [" 2 GiB ", 2 * 1024 ** 3],
    ["1G", 1_000_000_000],
  ];
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
});

Deno.test("parseSize refuses what is not a size, naming it", () => {
  for (const text of ["", "MiB", "-5", "8 parsecs", "1e3", "0x10", "8MiBs"]) {
    assert.throws(
      () => parseSize(text),
      new RegExp(`"${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}" is not a size`),
      text,
    );
  }
  assert.throws(() => parseSize("99999999999GiB"), /too large a size/);
});

Deno.test("sizeOrNeverOption takes -1 for never, as --maxraftstate does", () => {
  assert.equal(sizeOrNeverOption("-1"), -1);
  assert.equal(sizeOrNeverOption("8MiB"), 8 * 1024 * 1024);
});
