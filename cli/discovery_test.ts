import assert from "node:assert/strict";
import { RpcAuthenticationError, RpcError } from "../rpc/types.ts";
import { nodeStatus } from "../peer/testing/node_status.ts";
import { formatAddress } from "../rpc/address.ts";
import { serve } from "../rpc/tcp_server.ts";
import { STATUS_METHOD } from "../peer/status.ts";
import { loadTransportSecurity } from "../security/transport_security.ts";
import { CliError } from "./cli_error.ts";
import { EXIT_ERROR } from "./exit_codes.ts";
import {
  classifyFailure,
  discoverKvEndpoints,
  kvProblem,
  leaderAddress,
  type Probe,
} from "./discovery.ts";

const HERE = "127.0.0.1:7001";

function answered(
  id: number,
  role: string,
  term: number,
  leader: number,
): Extract<Probe, { kind: "answered" }> {
  const status = {
    ...nodeStatus(id, role, term),
    leader,
    addresses: { "0": "127.0.0.1:7000", "1": "127.0.0.1:7001", "2": "127.0.0.1:7002" },
  };
  return { kind: "answered", endpoint: status.address, status };
}

Deno.test("classifyFailure tells refused, not a kv-server and silent endpoints apart", () => {
  const cases: [unknown, Probe["kind"], RegExp][] = [
    [
      new RpcAuthenticationError(`Cannot reach ${HERE}: authentication failed: wrong secret`),
      "unauthenticated",
      /^Cannot reach 127\.0\.0\.1:7001: authentication failed: wrong secret$/,
    ],
    [
      new RpcError("unreachable", `Cannot reach ${HERE}: connection refused`, "refused"),
      "refused",
      /^127\.0\.0\.1:7001: connection refused$/,
    ],
    [
      new RpcError("unreachable", `Cannot reach unix:/x/s: no socket at that path`, "no socket"),
      "refused",
      /no socket at that path$/,
    ],
    [
      new RpcError("remote", `Call Status on ${HERE} failed: no method Status`),
      "foreign",
      /is not a kv-server: it does not serve Status/,
    ],
    [
      new RpcError(
        "unreachable",
        `Cannot reach ${HERE}: the connection closed before the reply (frame too large)`,
        "broken",
      ),
      "foreign",
      /does not speak dsys RPC/,
    ],
    [
      new RpcError("timeout", `Call Status on ${HERE} got no reply within 500 ms`),
      "silent",
      /did not answer/,
    ],
    [
      new RpcError(
        "unreachable",
        `Cannot reach ${HERE}: no connection after 500 ms`,
        "connect timeout",
      ),
      "silent",
      /did not answer/,
    ],
    [
      new RpcError("unreachable", `Cannot reach ${HERE}: the connection closed before the reply`),
      "refused",
      /^127\.0\.0\.1:7001: Cannot reach .*closed before the reply$/,
    ],
    [new Error("the status field term is not a number"), "foreign", /is not a dsys node/],
  ];
  for (const [error, kind, problem] of cases) {
    const found = classifyFailure(HERE, error);
    assert.equal(found.kind, kind, String(error));
    assert.match(kvProblem(found) ?? "", problem);
  }
});

Deno.test("kvProblem refuses a raft-peer and accepts a kv-server in any role", () => {
  const peer = answered(1, "leader", 3, 1);
  const raftPeer: Probe = { ...peer, status: { ...peer.status, kind: "raft-peer" } };
  assert.match(kvProblem(raftPeer) ?? "", /is not a kv-server: it is a raft-peer \(node 1\)/);
  assert.equal(kvProblem(answered(1, "follower", 3, 2)), null);
});

Deno.test("leaderAddress follows the leader named in the highest term, or none", () => {
  assert.equal(leaderAddress([answered(1, "follower", 3, -1)]), null);
  assert.equal(leaderAddress([answered(1, "follower", 3, 2)]), "127.0.0.1:7002");
  assert.equal(
    leaderAddress([answered(1, "follower", 3, 2), answered(0, "follower", 4, 0)]),
    "127.0.0.1:7000",
    "the newer term's leader",
  );
  const unknownAddress = answered(1, "follower", 3, 9);
  assert.equal(leaderAddress([unknownAddress]), null, "a leader whose address is not known");
});

Deno.test("discovery proves the cluster secret, and a missing one fails at once with exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsys-discovery-" });
  const secretFile = `${dir}/secret`;
  await Deno.writeTextFile(secretFile, "0123456789abcdef0123456789abcdef\n");
  const security = await loadTransportSecurity({ secretFile });
  const server = await serve("127.0.0.1:0", {
    [STATUS_METHOD]: () => nodeStatus(0, "leader", 3),
  }, { security, log: () => {} });
  const address = formatAddress(server.address);
  try {
    assert.deepEqual(await discoverKvEndpoints([address], 5_000, security), [address]);
    const refused = await discoverKvEndpoints([address], 5_000).then(
      () => assert.fail("Discovery without the secret was served"),
      (error) => error,
    );
    assert.ok(refused instanceof CliError, String(refused));
    assert.equal(refused.exitCode, EXIT_ERROR);
    assert.match(refused.message, /^Cannot reach 127\.0\.0\.1:\d+: authentication failed: /);
    assert.equal(refused.message.split("\n").length, 1);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
