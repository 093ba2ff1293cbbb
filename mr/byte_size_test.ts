import assert from "node:assert/strict";
import { formatByteSize, parseByteSize } from "./byte_size.ts";

Deno.test("parseByteSize reads bytes, decimal and binary units, in any case", () => {
  assert.equal(parseByteSize("4096"), 4096);
  assert.equal(parseByteSize("64MiB"), 64 * 1024 * 1024);
  assert.equal(parseByteSize("64mib"), 64 * 1024 * 1024);
  assert.equal(parseByteSize("200MB"), 200_000_000);
  assert.equal(parseByteSize("1.5 GiB"), 1.5 * 1024 ** 3);
  assert.equal(parseByteSize("10kB"), 10_000);
  assert.equal(parseByteSize("3KiB"), 3072);
  assert.equal(parseByteSize("7b"), 7);
});

Deno.test("parseByteSize refuses what is not a size, naming it", () => {
  for (const text of ["", "MiB", "-1MiB", "12 parsecs", "1e3", "0x10"]) {
    assert.throws(() => parseByteSize(text), new RegExp(`"${text}" is not a size`));
  }
  assert.throws(() => parseByteSize("99999999999GiB"), /too large a size/);
});

Deno.test("formatByteSize picks the largest binary unit", () => {
  assert.equal(formatByteSize(512), "512 B");
  assert.equal(formatByteSize(64 * 1024 * 1024), "64 MiB");
  assert.equal(formatByteSize(1536), "1.5 KiB");
});

Deno.test("parseByteSize takes the short decimal units k, M and G too", () => {
  assert.equal(parseByteSize("4k"), 4_000);
  assert.equal(parseByteSize("2M"), 2_000_000);
  assert.equal(parseByteSize("1G"), 1_000_000_000);
});
