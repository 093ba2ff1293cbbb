import assert from "node:assert/strict";
import { Simulation } from "../sim/simulation.ts";
import { type RpcClient, RpcError } from "../rpc/types.ts";
import { SeededRandom } from "../util/random.ts";
import { Clerk } from "./clerk.ts";
import {
  ERR_TIMEOUT,
  ERR_WRONG_LEADER,
  KV_OPERATION_METHOD,
  type KvReply,
  OK,
} from "./protocol.ts";
import type { KvCommand } from "./command.ts";

interface Call {
  readonly server: number;
  readonly command: KvCommand;
  readonly atMs: number;
}

/** Servers that answer by a script: `answer(server, command)` decides each reply. */
function fakeServers(
  simulation: Simulation,
  count: number,
  answer: (server: number, command: KvCommand) => KvReply | "unreachable" | "closed",
) {
  const calls: Call[] = [];
  const servers: RpcClient[] = Array.from({ length: count }, (_, server) => ({
    call: <Result>(method: string, args: unknown): Promise<Result> => {
      assert.equal(method, KV_OPERATION_METHOD);
      const command = args as KvCommand;
      calls.push({ server, command, atMs: simulation.now() });
      const reply = answer(server, command);
      if (reply === "unreachable" || reply === "closed") {
        return Promise.reject(new RpcError(reply, `server ${server} is ${reply}`));
      }
      return simulation.sleep(1).then(() => reply as Result);
    },
    close: () => {},
  }));
  return { calls, servers };
}

Deno.test("the clerk finds the leader, remembers it, and numbers each operation once", async () => {
  const simulation = new Simulation(1);
  const values = new Map<string, string>();
  const { calls, servers } = fakeServers(simulation, 3, (server, command) => {
    if (server !== 2) return server === 0 ? "unreachable" : { err: ERR_WRONG_LEADER, value: "" };
    if (command.kind === "get") return { err: OK, value: values.get(command.key) ?? "" };
    values.set(command.key, (values.get(command.key) ?? "") + command.value);
    return { err: OK, value: "" };
  });
  const clerk = new Clerk(servers, simulation, new SeededRandom(5));
  const got = await simulation.run(async () => {
    await clerk.append("k", "a");
    await clerk.append("k", "b");
    return await clerk.get("k");
  });
  assert.equal(got, "ab");
  assert.deepEqual(calls.map((call) => call.server), [0, 1, 2, 2, 2]);
  assert.deepEqual(calls.map((call) => call.command.sequence), [1, 1, 1, 2, 3]);
  assert.ok(calls.every((call) => call.command.clientId === clerk.clientId));
  assert.ok(Number.isSafeInteger(clerk.clientId) && clerk.clientId >= 0);
});

Deno.test("after a full round without success the clerk pauses before the next", async () => {
  const simulation = new Simulation(1);
  let failures = 5;
  const { calls, servers } = fakeServers(simulation, 2, () => {
    if (failures-- > 0) return { err: ERR_TIMEOUT, value: "" };
    return { err: OK, value: "v" };
  });
  const clerk = new Clerk(servers, simulation, new SeededRandom(5), { retryPauseMs: 50 });
  assert.equal(await simulation.run(() => clerk.get("k")), "v");
  // Each call takes 1 ms; rounds of two calls are 50 ms apart.
  assert.deepEqual(calls.map((call) => call.atMs), [0, 1, 52, 53, 104, 105]);
  assert.deepEqual(calls.map((call) => call.server), [0, 1, 0, 1, 0, 1]);
});

Deno.test("a closed connection or a closed clerk stops the operation", async () => {
  const simulation = new Simulation(1);
  const { servers } = fakeServers(simulation, 2, () => "closed");
  const clerk = new Clerk(servers, simulation, new SeededRandom(5));
  await simulation.run(async () => {
    await assert.rejects(() => clerk.put("k", "v"), /lost its connection during put of key "k"/);
  });
  const quiet = new Simulation(2);
  const { servers: slow } = fakeServers(quiet, 2, () => ({ err: ERR_WRONG_LEADER, value: "" }));
  const closing = new Clerk(slow, quiet, new SeededRandom(5));
  await quiet.run(async () => {
    const pending = closing.get("k");
    await quiet.sleep(100);
    closing.close();
    await assert.rejects(() => pending, /was closed during get of key "k"/);
  });
});

Deno.test("one operation at a time, and a bound on calls when asked for", async () => {
  const simulation = new Simulation(1);
  const { calls, servers } = fakeServers(simulation, 2, () => "unreachable");
  const clerk = new Clerk(servers, simulation, new SeededRandom(5), { maxCallsPerOperation: 4 });
  await simulation.run(async () => {
    const first = clerk.get("k");
    await assert.rejects(() => clerk.get("other"), /an operation is running/);
    await assert.rejects(() => first, /gave up get of key "k" after 4 calls/);
  });
  assert.equal(calls.length, 4);
});
