import assert from "node:assert/strict";
import { parseServers } from "./arguments.ts";

Deno.test("parseServers splits the list and refuses bad addresses", () => {
  assert.deepEqual(parseServers("127.0.0.1:1, :2,unix:/tmp/s"), [
    "127.0.0.1:1",
    ":2",
    "unix:/tmp/s",
  ]);
  assert.throws(() => parseServers(","), /lists no address/);
  assert.throws(() => parseServers("127.0.0.1:1,nohost"), /Bad address "nohost"/);
});
