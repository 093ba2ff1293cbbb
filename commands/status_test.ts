import assert from "node:assert/strict";
import type { NodeStatus, StatusRow } from "../peer/status.ts";
import { nodeStatus } from "../peer/testing/node_status.ts";
import { EXIT_DEGRADED, EXIT_ERROR, EXIT_OK, EXIT_UNAVAILABLE } from "../cli/exit_codes.ts";
import { statusExitCode } from "./status.ts";

function row(status: NodeStatus | null): StatusRow {
  return { address: "127.0.0.1:1", status, error: status === null ? "connection refused" : null };
}

Deno.test("statusExitCode: 0 whole, 4 with a node down but a leader, 3 with no leader", () => {
  const leader = row(nodeStatus(0, "leader", 2));
  const follower = row(nodeStatus(1, "follower", 2));
  assert.equal(statusExitCode([leader, follower]), EXIT_OK);
  assert.equal(statusExitCode([leader, follower, row(null)]), EXIT_DEGRADED);
  assert.equal(statusExitCode([follower, row(nodeStatus(2, "candidate", 3))]), EXIT_UNAVAILABLE);
  assert.equal(statusExitCode([row(null), row(null)]), EXIT_UNAVAILABLE);
});

Deno.test("statusExitCode: 1 when a node refused the connection, as a wrong secret does", () => {
  const leader = row(nodeStatus(0, "leader", 2));
  const refused: StatusRow = {
    address: "127.0.0.1:2",
    status: null,
    error: "Cannot reach 127.0.0.1:2: authentication failed: wrong cluster secret",
    refused: true,
  };
  assert.equal(statusExitCode([leader, refused]), EXIT_ERROR);
  assert.equal(statusExitCode([refused, row(null)]), EXIT_ERROR);
});
