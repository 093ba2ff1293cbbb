import assert from "node:assert/strict";
import { serve } from "../rpc/tcp_server.ts";
import { formatAddress } from "../rpc/address.ts";
import { KV_OPERATION_METHOD, type KvReply, OK } from "../kv/protocol.ts";
import { STATUS_METHOD } from "../peer/status.ts";
import { ChildGroup } from "../util/child_process.ts";
import type { KvCommand } from "../kv/command.ts";
import {
  BAD_LINES_REPORTED_MAX,
  parseShellLine,
  readLines,
  runKvShell,
  wallClockMs,
} from "./kv.ts";
import { DeadlineClerk } from "./kv_clerk.ts";
import { EXIT_UNAVAILABLE } from "../cli/exit_codes.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect<Item>(items: AsyncIterable<Item>): Promise<Item[]> {
  const collected: Item[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

/** A one-server "cluster" that applies every operation to a map at once. */
async function serveMap() {
  const values = new Map<string, string>();
  return await serve("127.0.0.1:0", {
    [KV_OPERATION_METHOD]: (args): KvReply => {
      const command = args as KvCommand;
      const old = values.get(command.key) ?? "";
      if (command.kind === "put") values.set(command.key, command.value);
      if (command.kind === "append") values.set(command.key, old + command.value);
      return { err: OK, value: command.kind === "get" ? old : "" };
    },
  });
}

Deno.test("parseShellLine reads operations, keeps spaces in values and skips blanks and comments", () => {
  const get = { kind: "get", key: "k", value: "" };
  assert.deepEqual(parseShellLine("get k"), { ...get, consistency: "linearizable" });
  assert.deepEqual(parseShellLine("get k lease"), { ...get, consistency: "lease" });
  assert.deepEqual(parseShellLine("get k", "serializable"), {
    ...get,
    consistency: "serializable",
  });
  assert.deepEqual(parseShellLine("get k linearizable", "serializable"), {
    ...get,
    consistency: "linearizable",
  });
  assert.deepEqual(parseShellLine("put k v"), { kind: "put", key: "k", value: "v" });
  assert.deepEqual(parseShellLine("append k  two  words"), {
    kind: "append",
    key: "k",
    value: " two  words",
  });
  assert.deepEqual(parseShellLine("put k "), { kind: "put", key: "k", value: "" });
  assert.equal(parseShellLine("   "), null);
  assert.equal(parseShellLine("# a comment"), null);
});

Deno.test("parseShellLine names what is wrong with a line", () => {
  assert.throws(() => parseShellLine("delete k"), /expected get K, put K V or append K V/);
  assert.throws(() => parseShellLine("get"), /expected get K/);
  assert.throws(
    () => parseShellLine("get k extra"),
    /get takes a key and at most a consistency \(linearizable, lease, serializable\)/,
  );
  assert.throws(() => parseShellLine("put k"), /put needs a key and a value/);
});

Deno.test("readLines splits on newlines across chunks, drops CR, and bounds a line's length", async () => {
  const lines = await collect(readLines(streamOf("get a\r\nput b ", "x\n", "0123456789\nlast"), 8));
  assert.deepEqual(lines, ["get a", "put b x", null, "last"]);
  const long = await collect(readLines(streamOf("0123456789", "0123456789", "\nok\n"), 8));
  assert.deepEqual(long, [null, "ok"]);
});

Deno.test("runKvShell prints one JSON result per operation, with call and return times", async () => {
  const server = await serveMap();
  const lines: string[] = [];
  const beforeMs = wallClockMs();
  try {
    await runKvShell(
      [formatAddress(server.address)],
      5_000,
      streamOf("put k hello there\nappend k !\n\nbogus\nget k\n"),
      (line) => lines.push(line),
    );
  } finally {
    await server.close();
  }
  const results = lines.map((line) => JSON.parse(line));
  assert.equal(results.length, 4);
  assert.deepEqual(
    results.map((result) => [result.op, result.key, result.value, result.output, result.ok]),
    [
      ["put", "k", "hello there", "", true],
      ["append", "k", "!", "", true],
      [undefined, undefined, undefined, undefined, false],
      ["get", "k", "", "hello there!", true],
    ],
  );
  assert.match(results[2].error, /Cannot read "bogus"/);
  const timed = [results[0], results[1], results[3]];
  for (const result of timed) {
    assert.equal(result.unknown, false);
    assert.ok(result.callMs >= beforeMs && result.returnMs >= result.callMs);
    assert.equal(result.clientId, results[0].clientId, "one clerk for the whole shell");
  }
  assert.ok(results[1].callMs >= results[0].returnMs, "operations run one after another");
});

Deno.test("DeadlineClerk reports an unanswered operation as unknown and moves to a new client id", async () => {
  const releases: (() => void)[] = [];
  const silent = await serve("127.0.0.1:0", {
    [KV_OPERATION_METHOD]: () => new Promise<void>((resolve) => releases.push(resolve)),
  });
  const clerk = new DeadlineClerk([formatAddress(silent.address)], 300);
  try {
    const firstId = clerk.clientId;
    const outcome = await clerk.run({ kind: "put", key: "k", value: "v" });
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && outcome.unknown);
    assert.match(!outcome.ok ? outcome.error : "", /may or may not have taken effect/);
    assert.notEqual(clerk.clientId, firstId);
  } finally {
    clerk.close();
    for (const release of releases) release();
    await silent.close();
  }
});

Deno.test("dsys kv --timeout bounds the status calls of kv status, whose default is dsys status's", async () => {
  const releases: (() => void)[] = [];
  const silent = await serve("127.0.0.1:0", {
    [STATUS_METHOD]: () => new Promise<void>((resolve) => releases.push(resolve)),
  });
  const group = new ChildGroup();
  try {
    const address = formatAddress(silent.address);
    const status = async (timeout: string[]) => {
      const args = ["kv", "--servers", address, ...timeout, "status", "--json"];
      const exit = await group.spawn(args, { cwd: "." }).exited;
      assert.equal(exit.code, EXIT_UNAVAILABLE, `no node leads: ${exit.output}`);
      const [row] = JSON.parse(exit.output);
      assert.equal(row.address, address);
      return row.error;
    };
    const [bounded, unbounded] = await Promise.all([status(["--timeout", "0.2"]), status([])]);
    assert.match(bounded, /got no reply within 200 ms/);
    assert.match(unbounded, /got no reply within 1000 ms/, "dsys status's default otherwise");
  } finally {
    await group.killAll();
    for (const release of releases) release();
    await silent.close();
  }
});

Deno.test("runKvShell reports at most ten bad lines, then one summary, and counts them all", async () => {
  const server = await serveMap();
  const lines: string[] = [];
  try {
    const garbage = Array.from({ length: 800 }, (_, line) => `\u0001garbage ${line}`).join("\n");
    const rejected = await runKvShell(
      [formatAddress(server.address)],
      2_000,
      streamOf(`${garbage}\nput k v\nget k\n`),
      (line) => lines.push(line),
    );
    assert.equal(rejected, 800);
    const results = lines.map((line) => JSON.parse(line));
    assert.equal(results.length, BAD_LINES_REPORTED_MAX + 3, "ten errors, two results, a summary");
    assert.ok(
      results.slice(0, BAD_LINES_REPORTED_MAX).every((result) => /Cannot read/.test(result.error)),
    );
    assert.deepEqual(results.slice(BAD_LINES_REPORTED_MAX, -1).map((result) => result.ok), [
      true,
      true,
    ]);
    assert.match(
      results.at(-1).error,
      /^800 lines were not operations; the first 10 are reported above$/,
    );
  } finally {
    await server.close();
  }
});
