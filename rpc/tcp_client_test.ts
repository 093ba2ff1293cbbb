import assert from "node:assert/strict";
import { CodecError } from "./codec.ts";
import { formatAddress } from "./address.ts";
import { connect } from "./tcp_client.ts";
import { serve } from "./tcp_server.ts";
import { RpcError, type RpcErrorKind, type RpcHandlers, type UnreachableReason } from "./types.ts";
import { Arrivals, Gate, recordingLog, unusedPort } from "./testing/rpc_fixtures.ts";

const echoHandlers: RpcHandlers = {
  "Echo.Say": (args) => args,
  "Math.Add": (args) => {
    const [left, right] = args as [number, number];
    return left + right;
  },
};

/** Asserts that `promise` rejects with an RpcError of `kind` whose message matches `pattern`. */
async function assertRpcError(
  promise: Promise<unknown>,
  kind: RpcErrorKind,
  pattern: RegExp,
  reason: UnreachableReason | null = null,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof RpcError, `expected an RpcError, got ${error}`);
    assert.equal(error.kind, kind, error.message);
    assert.match(error.message, pattern);
    assert.equal(error.reason, reason, error.message);
    return true;
  });
}

Deno.test("a call round-trips over TCP", async () => {
  const server = await serve("127.0.0.1:0", echoHandlers);
  assert.equal(server.address.kind, "tcp");
  assert.notEqual(server.address.kind === "tcp" && server.address.port, 0);
  const client = connect(formatAddress(server.address));
  const value = { text: "hello", bytes: new Uint8Array([1, 2, 3]), list: [1, "two", null] };
  assert.deepEqual(await client.call("Echo.Say", value), value);
  assert.equal(await client.call<number>("Math.Add", [2, 3]), 5);
  client.close();
  await server.close();
});

Deno.test("a call round-trips over a Unix socket, and close removes the socket file", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-rpc-" });
  const path = `${folder}/server.sock`;
  const server = await serve(`unix:${path}`, echoHandlers);
  assert.deepEqual(server.address, { kind: "unix", path });
  const client = connect(server.address);
  assert.equal(await client.call("Echo.Say", "over unix"), "over unix");
  client.close();
  await server.close();
  await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
  await Deno.remove(folder);
});

Deno.test("concurrent calls share one connection and replies come back out of order", async () => {
  const callCount = 50;
  const arrivals = new Arrivals(callCount);
  const gates = Array.from({ length: callCount }, () => new Gate());
  const server = await serve("127.0.0.1:0", {
    "Hold": async (args) => {
      const index = args as number;
      arrivals.arrive();
      await gates[index].opened;
      return index * 10;
    },
    // One connection only: a second one would be refused and fail its calls.
  }, { maxConnections: 1 });
  const client = connect(server.address);
  const calls = gates.map((_, index) => client.call<number>("Hold", index));
  await arrivals.all;
  const completionOrder: number[] = [];
  // Release the last call first; each reply must reach its own caller.
  for (let index = callCount - 1; index >= 0; index--) {
    gates[index].open();
    assert.equal(await calls[index], index * 10);
    completionOrder.push(index);
  }
  assert.deepEqual(completionOrder, gates.map((_, index) => callCount - 1 - index));
  client.close();
  await server.close();
});

Deno.test("calls with different handler delays each get their own result", async () => {
  const server = await serve("127.0.0.1:0", {
    "Delay": async (args) => {
      const delayMs = args as number;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return `waited ${delayMs}`;
    },
  });
  const client = connect(server.address);
  const delays = Array.from({ length: 40 }, (_, index) => (index * 7) % 20);
  const results = await Promise.all(delays.map((delayMs) => client.call("Delay", delayMs)));
  assert.deepEqual(results, delays.map((delayMs) => `waited ${delayMs}`));
  client.close();
  await server.close();
});

Deno.test("an unknown method comes back as a remote error", async () => {
  const server = await serve("127.0.0.1:0", echoHandlers);
  const client = connect(server.address);
  await assertRpcError(client.call("Echo.Shout", 1), "remote", /No method named "Echo.Shout"/);
  // Names on Object.prototype are not handlers.
  await assertRpcError(client.call("toString", 1), "remote", /No method named "toString"/);
  assert.equal(await client.call("Echo.Say", "still served"), "still served");
  client.close();
  await server.close();
});

Deno.test("a handler that throws or rejects comes back as a remote error", async () => {
  const server = await serve("127.0.0.1:0", {
    "Throws": () => {
      throw new Error("Cannot find task 7");
    },
    "Rejects": () => Promise.reject(new Error("Disk is full")),
    "ThrowsText": () => {
      throw "plain text";
    },
  });
  const client = connect(server.address);
  await assertRpcError(client.call("Throws", null), "remote", /Throws .*Cannot find task 7/);
  await assertRpcError(client.call("Rejects", null), "remote", /Rejects .*Disk is full/);
  await assertRpcError(client.call("ThrowsText", null), "remote", /plain text/);
  client.close();
  await server.close();
});

Deno.test("a call without a reply in time times out, and its late reply is ignored", async () => {
  const gate = new Gate();
  const arrivals = new Arrivals(1);
  const server = await serve("127.0.0.1:0", {
    "Slow": async () => {
      arrivals.arrive();
      await gate.opened;
      return "late";
    },
    ...echoHandlers,
  });
  const client = connect(server.address, { defaultTimeoutMs: 5_000 });
  await assertRpcError(
    client.call("Slow", null, { timeoutMs: 30 }),
    "timeout",
    /Slow on 127\.0\.0\.1:\d+ got no reply within 30 ms/,
  );
  await arrivals.all;
  gate.open();
  // The late reply arrives on the same connection; later calls still get their own replies.
  assert.equal(await client.call("Echo.Say", "next"), "next");
  client.close();
  await server.close();
});

Deno.test("a call to a port nobody listens on is unreachable", async () => {
  const port = unusedPort();
  const client = connect(`127.0.0.1:${port}`);
  await assertRpcError(
    client.call("Echo.Say", 1),
    "unreachable",
    new RegExp(`^Cannot reach 127\\.0\\.0\\.1:${port}: connection refused$`),
    "refused",
  );
  client.close();
});

Deno.test("a call to a missing Unix socket is unreachable", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-rpc-" });
  const client = connect(`unix:${folder}/nobody.sock`);
  await assertRpcError(
    client.call("Echo.Say", 1),
    "unreachable",
    /Cannot reach unix:.*nobody.*: no socket at that path$/,
    "no socket",
  );
  client.close();
  await Deno.remove(folder);
});

Deno.test("the client reconnects after the server restarts, never resending a call", async () => {
  const port = unusedPort();
  const address = `127.0.0.1:${port}`;
  const held = new Arrivals(1);
  const first = await serve(address, {
    "Hold": () => {
      held.arrive();
      return new Promise(() => {});
    },
  });
  const client = connect(address, { reconnectBackoffMs: { initial: 20, max: 200 } });
  const inFlight = client.call("Hold", null);
  await held.all;
  await first.close();
  await assertRpcError(inFlight, "unreachable", /connection closed before the reply/);
  // Nothing listens now: connecting again is refused.
  await assertRpcError(client.call("Hold", null), "unreachable", /connection refused/, "refused");

  let holdCalls = 0;
  const second = await serve(address, {
    "Hold": () => ++holdCalls,
    ...echoHandlers,
  });
  // Made during the backoff after the refusal: it waits for the backoff, then connects.
  assert.equal(await client.call("Echo.Say", "back"), "back");
  assert.equal(await client.call("Hold", null), 1);
  assert.equal(holdCalls, 1);
  client.close();
  await second.close();
});

Deno.test("a reply over the client's frame limit fails the call cleanly", async () => {
  const server = await serve("127.0.0.1:0", {
    "Big": () => "x".repeat(10_000),
    ...echoHandlers,
  });
  const { lines, log } = recordingLog();
  const client = connect(server.address, {
    maxFrameBytes: 1024,
    reconnectBackoffMs: { initial: 1, max: 10 },
    log,
  });
  await assertRpcError(
    client.call("Big", null),
    "unreachable",
    /over the limit of 1024 bytes/,
    "broken",
  );
  assert.equal(lines.length, 1);
  assert.match(lines[0], /RPC client for 127\.0\.0\.1:\d+: .*over the limit of 1024 bytes/);
  // The next call opens a fresh connection.
  assert.equal(await client.call("Echo.Say", "small"), "small");
  client.close();
  await server.close();
});

Deno.test("a result over the server's frame limit comes back as a remote error", async () => {
  const server = await serve("127.0.0.1:0", { "Big": () => "x".repeat(10_000) }, {
    maxFrameBytes: 1024,
  });
  const client = connect(server.address);
  await assertRpcError(client.call("Big", null), "remote", /Cannot send the result of Big/);
  client.close();
  await server.close();
});

Deno.test("arguments over the client's frame limit are refused before sending", async () => {
  const server = await serve("127.0.0.1:0", echoHandlers);
  const client = connect(server.address, { maxFrameBytes: 100 });
  await assert.rejects(client.call("Echo.Say", "y".repeat(200)), (error: unknown) => {
    assert.ok(error instanceof CodecError);
    assert.match(error.message, /Cannot call Echo\.Say on .*limit is 100 bytes/);
    return true;
  });
  assert.equal(await client.call("Echo.Say", "fits"), "fits");
  client.close();
  await server.close();
});

Deno.test("closing the client fails its calls in flight with kind closed", async () => {
  const callCount = 3;
  const arrivals = new Arrivals(callCount);
  const gate = new Gate();
  const server = await serve("127.0.0.1:0", {
    "Hold": async () => {
      arrivals.arrive();
      await gate.opened;
      return "too late";
    },
  });
  const client = connect(server.address);
  const calls = Array.from({ length: callCount }, () => client.call("Hold", null));
  await arrivals.all;
  client.close();
  for (const call of calls) await assertRpcError(call, "closed", /Hold .*the client closed/);
  await assertRpcError(client.call("Hold", null), "closed", /the client is closed/);
  gate.open();
  await server.close();
});

Deno.test("closing the client while it connects fails the waiting call with kind closed", async () => {
  const server = await serve("127.0.0.1:0", echoHandlers);
  const client = connect(server.address);
  const call = client.call("Echo.Say", 1);
  client.close();
  await assertRpcError(call, "closed", /the client closed/);
  await server.close();
});

Deno.test("a client with too many calls in flight fails an assertion", async () => {
  const gate = new Gate();
  const server = await serve("127.0.0.1:0", { "Hold": () => gate.opened });
  const client = connect(server.address, { maxInFlightCalls: 2 });
  const calls = [client.call("Hold", null), client.call("Hold", null)];
  assert.throws(() => client.call("Hold", null), /2 calls are already in flight/);
  gate.open();
  await Promise.all(calls);
  client.close();
  await server.close();
});
