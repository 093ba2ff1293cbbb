import assert from "node:assert/strict";
import { type Address, formatAddress, parseAddress, toAddress } from "./address.ts";

Deno.test("parseAddress reads host:port, :port, [ipv6]:port and unix:/path", () => {
  const cases: [string, Address][] = [
    ["127.0.0.1:4000", { kind: "tcp", hostname: "127.0.0.1", port: 4000 }],
    ["localhost:0", { kind: "tcp", hostname: "localhost", port: 0 }],
    ["node-3.example.org:65535", { kind: "tcp", hostname: "node-3.example.org", port: 65535 }],
    [":7001", { kind: "tcp", hostname: "127.0.0.1", port: 7001 }],
    ["[::1]:8080", { kind: "tcp", hostname: "::1", port: 8080 }],
    ["unix:/tmp/dsys/kv-0.sock", { kind: "unix", path: "/tmp/dsys/kv-0.sock" }],
    ["unix:relative.sock", { kind: "unix", path: "relative.sock" }],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseAddress(text), expected, text);
});

Deno.test("parseAddress refuses malformed text with a message naming it", () => {
  const bad = [
    "",
    "4000",
    "localhost",
    "localhost:",
    "localhost:http",
    "localhost:65536",
    "localhost:123456",
    "localhost:-1",
    "::1:80",
    "[not-ipv6]:80",
    "host name:80",
    "unix:",
    "unix:/tmp/with space",
  ];
  for (const text of bad) {
    assert.throws(
      () => parseAddress(text),
      { message: `Bad address ${JSON.stringify(text)}: expected host:port or unix:/path` },
      text,
    );
  }
});

Deno.test("formatAddress is the inverse of parseAddress", () => {
  const texts = ["127.0.0.1:4000", "localhost:0", "[::1]:8080", "unix:/tmp/kv-0.sock"];
  for (const text of texts) assert.equal(formatAddress(parseAddress(text)), text);
  assert.equal(formatAddress(parseAddress(":9")), "127.0.0.1:9");
});

Deno.test("toAddress parses text and passes addresses through", () => {
  const address: Address = { kind: "unix", path: "/tmp/x.sock" };
  assert.equal(toAddress(address), address);
  assert.deepEqual(toAddress(":1"), { kind: "tcp", hostname: "127.0.0.1", port: 1 });
});
