/**
 * Round trips per second on loopback. Each iteration makes {@linkcode CALLS_PER_ITERATION} calls, so
 * round trips per second = CALLS_PER_ITERATION / (average iteration time in seconds). Server and
 * client are set up before the timer starts and closed after it stops.
 *
 * Run with `deno bench -A rpc/`.
 *
 * @module
 */
import { type Address, connect, type RpcHandlers, serve } from "./mod.ts";

/** Calls timed per iteration; large enough that setup noise and timer resolution do not matter. */
const CALLS_PER_ITERATION = 2048;

/** Calls kept in flight at once on one connection in the pipelined benchmarks. */
const PIPELINE_DEPTH = 64;

const handlers: RpcHandlers = { "Echo.Say": (args) => args };

/** A small request, about the size of a key/value Put. */
const smallArgs = { key: "user:1042", value: "x".repeat(32), clientId: 7, sequence: 1 };

/** A request the size of a Raft AppendEntries carrying a batch of commands. */
const batchArgs = {
  term: 4,
  entries: Array.from({ length: 64 }, (_, index) => ({ term: 4, command: `put k${index} v` })),
};

/** Runs `calls` calls keeping `depth` in flight; each of `depth` lanes calls one after another. */
async function runCalls(address: Address, args: unknown, depth: number, b: Deno.BenchContext) {
  const server = await serve(address, handlers);
  const client = connect(server.address);
  await client.call("Echo.Say", args);
  const callsPerLane = CALLS_PER_ITERATION / depth;
  const lane = async () => {
    for (let call = 0; call < callsPerLane; call++) await client.call("Echo.Say", args);
  };
  b.start();
  await Promise.all(Array.from({ length: depth }, lane));
  b.end();
  client.close();
  await server.close();
}

const tcp: Address = { kind: "tcp", hostname: "127.0.0.1", port: 0 };
const unixPath = `${Deno.makeTempDirSync({ prefix: "dsys-rpc-bench-" })}/bench.sock`;
const unix: Address = { kind: "unix", path: unixPath };
const options = { n: 20, warmup: 3 };

Deno.bench({
  name: `tcp sequential, ${CALLS_PER_ITERATION} small calls`,
  group: "small",
  baseline: true,
  ...options,
  fn: async (b) => await runCalls(tcp, smallArgs, 1, b),
});

Deno.bench({
  name: `tcp ${PIPELINE_DEPTH} in flight, ${CALLS_PER_ITERATION} small calls`,
  group: "small",
  ...options,
  fn: async (b) => await runCalls(tcp, smallArgs, PIPELINE_DEPTH, b),
});

Deno.bench({
  name: `unix sequential, ${CALLS_PER_ITERATION} small calls`,
  group: "small",
  ...options,
  fn: async (b) => await runCalls(unix, smallArgs, 1, b),
});

Deno.bench({
  name: `unix ${PIPELINE_DEPTH} in flight, ${CALLS_PER_ITERATION} small calls`,
  group: "small",
  ...options,
  fn: async (b) => await runCalls(unix, smallArgs, PIPELINE_DEPTH, b),
});

Deno.bench({
  name: `tcp ${PIPELINE_DEPTH} in flight, ${CALLS_PER_ITERATION} calls of 64 log entries`,
  group: "batch",
  ...options,
  fn: async (b) => await runCalls(tcp, batchArgs, PIPELINE_DEPTH, b),
});
