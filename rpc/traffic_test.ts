import assert from "node:assert/strict";
import { connect } from "./tcp_client.ts";
import { serve } from "./tcp_server.ts";
import { noTraffic } from "./types.ts";

Deno.test("a server and a client count the calls and bytes they carry", async () => {
  const serverTraffic = noTraffic();
  const clientTraffic = noTraffic();
  const server = await serve("127.0.0.1:0", { "Echo.Say": (args) => args }, {
    traffic: serverTraffic,
  });
  const client = connect(server.address, { traffic: clientTraffic });
  try {
    assert.equal(await client.call("Echo.Say", "x".repeat(1000)), "x".repeat(1000));
    assert.equal(await client.call("Echo.Say", "y"), "y");
  } finally {
    client.close();
    await server.close();
  }
  assert.equal(serverTraffic.callsIn, 2);
  assert.equal(clientTraffic.callsOut, 2);
  assert.equal(serverTraffic.callsOut + clientTraffic.callsIn, 0);
  assert.ok(clientTraffic.bytesOut > 1000, `client wrote ${clientTraffic.bytesOut} bytes`);
  // Every byte one side wrote the other read: both replies arrived before the close.
  assert.equal(serverTraffic.bytesIn, clientTraffic.bytesOut);
  assert.equal(clientTraffic.bytesIn, serverTraffic.bytesOut);
});
