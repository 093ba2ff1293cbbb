import assert from "node:assert/strict";
import { MAX_PEERS, parsePeers } from "./peer_process.ts";

Deno.test("parsePeers returns the list when --id is one of its entries", () => {
  assert.deepEqual(parsePeers("127.0.0.1:7100, 127.0.0.1:7101,unix:/tmp/p2", 2), [
    "127.0.0.1:7100",
    "127.0.0.1:7101",
    "unix:/tmp/p2",
  ]);
});

Deno.test("parsePeers refuses an id outside the list, bad or repeated addresses, and too many peers", () => {
  assert.throws(
    () => parsePeers("127.0.0.1:1,127.0.0.1:2", 2),
    /--id 2 is not a peer: --endpoints lists 2 \(ids 0 to 1\)/,
  );
  assert.throws(() => parsePeers("127.0.0.1:1,localhost", 0), /Bad address "localhost"/);
  assert.throws(() => parsePeers("127.0.0.1:1,:1", 0), /lists :1 twice/);
  const many = Array.from({ length: MAX_PEERS + 1 }, (_, id) => `127.0.0.1:${7000 + id}`);
  assert.throws(() => parsePeers(many.join(","), 0), /at most 64 are allowed/);
});
