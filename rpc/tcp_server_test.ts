import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { encodeFrame, FRAME_HEADER_BYTES } from "./codec.ts";
import { type Address, formatAddress } from "./address.ts";
import { connect } from "./tcp_client.ts";
import { type RpcServer, serve } from "./tcp_server.ts";
import { RpcError, type RpcHandlers } from "./types.ts";
import {
  Arrivals,
  Gate,
  readUntilClosed,
  recordingLog,
  writeIgnoringHangUp,
} from "./testing/rpc_fixtures.ts";

const echoHandlers: RpcHandlers = { "Echo.Say": (args) => args };

function rawConnect(address: Address): Promise<Deno.Conn> {
  assert.equal(address.kind, "tcp");
  return Deno.connect({ hostname: address.hostname, port: address.port });
}

/**
 * Sends `bytes` on a raw socket and checks that the server hangs up on that socket, logs one line
 * matching `pattern`, and still serves a client that was connected all along.
 */
async function assertRefusedBytes(
  bytes: Uint8Array,
  pattern: RegExp,
  options: { endStream?: boolean } = {},
): Promise<void> {
  const { lines, log } = recordingLog();
  const server = await serve("127.0.0.1:0", echoHandlers, { log });
  const bystander = connect(server.address);
  assert.equal(await bystander.call("Echo.Say", "before"), "before");
  const raw = await rawConnect(server.address);
  await writeIgnoringHangUp(raw, bytes);
  if (options.endStream) await raw.closeWrite();
  await readUntilClosed(raw);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(
    lines[0],
    /^RPC server on 127\.0\.0\.1:\d+: closing the connection from 127\.0\.0\.1:\d+: /,
  );
  assert.match(lines[0], pattern);
  assert.equal(await bystander.call("Echo.Say", "after"), "after");
  bystander.close();
  await server.close();
}

Deno.test("an oversized frame closes that connection with a log line", async () => {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, 0x7fff_ffff);
  await assertRefusedBytes(header, /Frame of 2147483647 bytes is over the limit of 67108864 bytes/);
});

/** `body` behind a length prefix that matches it. */
function framed(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

Deno.test("random garbage closes that connection with a log line", async () => {
  for (const seed of [1, 2, 3]) {
    const random = new SeededRandom(seed);
    const garbage = Uint8Array.from({ length: 1 + random.int(2000) }, () => random.int(256));
    // Ending the stream makes garbage that reads as an incomplete frame count too.
    await assertRefusedBytes(garbage, /./, { endStream: true });
    // Behind a plausible length prefix, the garbage reaches the MessagePack decoder.
    await assertRefusedBytes(framed(garbage), /Cannot decode|malformed frame/);
  }
});

Deno.test("a stream that ends inside a frame is logged as cut off", async () => {
  const frame = encodeFrame([0, 1, "Echo.Say", "x".repeat(100)]);
  await assertRefusedBytes(frame.subarray(0, 50), /stream ended inside a frame, with 50 bytes/, {
    endStream: true,
  });
});

Deno.test("a well-formed frame of the wrong shape closes that connection", async () => {
  const wrongShapes: [unknown, RegExp][] = [
    [{ hello: "world" }, /expected a request \[0, id, method, args\]/],
    [[1, 5, true, "a reply sent to a server"], /expected a request/],
    [[0, 5, "Echo.Say"], /expected a request/],
    [[0, -1, "Echo.Say", null], /request id is not a whole number/],
    [[0, "five", "Echo.Say", null], /request id is not a whole number/],
    [[0, 5, 42, null], /method of request 5 is not a string/],
  ];
  for (const [value, pattern] of wrongShapes) {
    await assertRefusedBytes(encodeFrame(value), pattern);
  }
});

Deno.test("a valid request on a raw socket gets a reply frame", async () => {
  const server = await serve("127.0.0.1:0", echoHandlers);
  const raw = await rawConnect(server.address);
  await writeIgnoringHangUp(raw, encodeFrame([0, 41, "Echo.Say", "raw"]));
  const expected = encodeFrame([1, 41, true, "raw"]);
  const received = new Uint8Array(expected.length);
  let offset = 0;
  while (offset < expected.length) {
    const byteCount = await raw.read(received.subarray(offset));
    assert.notEqual(byteCount, null);
    offset += byteCount!;
  }
  assert.deepEqual(received, expected);
  raw.close();
  await server.close();
});

Deno.test("connections over the limit are refused with a log line", async () => {
  const { lines, log } = recordingLog();
  const server = await serve("127.0.0.1:0", echoHandlers, { maxConnections: 2, log });
  const admitted = [connect(server.address), connect(server.address)];
  for (const client of admitted) assert.equal(await client.call("Echo.Say", "in"), "in");
  const refused = connect(server.address);
  await assert.rejects(refused.call("Echo.Say", "out"), (error: unknown) => {
    assert.ok(error instanceof RpcError);
    assert.equal(error.kind, "unreachable");
    return true;
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /refusing the connection from .*already serving 2 connections/);
  for (const client of admitted) assert.equal(await client.call("Echo.Say", "still"), "still");
  for (const client of [...admitted, refused]) client.close();
  await server.close();
});

Deno.test("close releases the listener and open connections with handlers in flight", async () => {
  const arrivals = new Arrivals(2);
  const gate = new Gate();
  const server: RpcServer = await serve("127.0.0.1:0", {
    "Hold": async () => {
      arrivals.arrive();
      await gate.opened;
      return "never delivered";
    },
  });
  const clients = [connect(server.address), connect(server.address)];
  const calls = clients.map((client) => client.call("Hold", null));
  await arrivals.all;
  await server.close();
  for (const call of calls) {
    await assert.rejects(
      call,
      (error: unknown) => error instanceof RpcError && error.kind === "unreachable",
    );
  }
  // A handler finishing after close has nowhere to reply, and must not fail.
  gate.open();
  for (const client of clients) client.close();
  assert.equal(server.close(), server.close());
});

/** Leaves a socket file nobody listens on, the way a killed server does. */
async function leaveStaleSocket(path: string): Promise<void> {
  // A clean close removes the file, so only a process that dies without cleanup leaves one.
  const script = `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} });` +
    `console.log("listening"); setInterval(() => {}, 60_000);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  assert.equal(first.value?.trim(), "listening");
  child.kill("SIGKILL");
  await reader.cancel();
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
}

Deno.test("a stale Unix socket file is replaced, a live one is not", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-rpc-" });
  const path = `${folder}/stale.sock`;
  await leaveStaleSocket(path);
  assert.equal((await Deno.lstat(path)).isSocket, true);
  const server = await serve(`unix:${path}`, echoHandlers);
  await assert.rejects(
    serve(`unix:${path}`, echoHandlers),
    /Cannot listen on unix:.*stale\.sock: another server is listening there/,
  );
  const client = connect(server.address);
  assert.equal(await client.call("Echo.Say", "still mine"), "still mine");
  client.close();
  await server.close();
  await Deno.remove(folder, { recursive: true });
});

Deno.test("a Unix address on a file that is not a socket is refused", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-rpc-" });
  const path = `${folder}/notes.txt`;
  await Deno.writeTextFile(path, "keep me");
  await assert.rejects(
    serve(`unix:${path}`, echoHandlers),
    /Cannot listen on unix:.*notes\.txt: the path exists and is not a socket/,
  );
  assert.equal(await Deno.readTextFile(path), "keep me");
  await Deno.remove(folder, { recursive: true });
});

Deno.test("serve names the address at fault: one in use, a socket whose folder is missing", async () => {
  const first = await serve("127.0.0.1:0", {});
  const taken = formatAddress(first.address);
  try {
    await assert.rejects(
      serve(taken, {}),
      new RegExp(`^Error: Cannot listen on ${taken}: the address is already in use$`),
    );
  } finally {
    await first.close();
  }
  const dir = await Deno.makeTempDir({ prefix: "dsys-listen-test-" });
  try {
    await assert.rejects(
      serve(`unix:${dir}/missing/s.sock`, {}),
      new RegExp(
        `Cannot listen on unix:${dir}/missing/s.sock: its folder ${dir}/missing does not exist`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
