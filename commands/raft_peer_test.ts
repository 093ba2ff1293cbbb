import assert from "node:assert/strict";
import { MAX_COMMAND_BYTES, proposeProblem } from "./raft_peer.ts";

Deno.test("proposeProblem accepts string and byte commands within the bound", () => {
  assert.equal(proposeProblem({ command: "set x 1" }), null);
  assert.equal(proposeProblem({ command: new Uint8Array([1, 2, 3]) }), null);
});

Deno.test("proposeProblem names what is wrong with a proposal", () => {
  assert.equal(proposeProblem("x"), "its argument is not a map");
  assert.equal(proposeProblem({ command: 7 }), "its command is neither a string nor bytes");
  assert.match(
    proposeProblem({ command: "x".repeat(MAX_COMMAND_BYTES + 1) }) ?? "",
    /at most 1048576 are allowed/,
  );
});
