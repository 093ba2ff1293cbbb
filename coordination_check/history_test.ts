import assert from "node:assert/strict";
import { Simulation } from "../sim/simulation.ts";
import { type RpcClient, RpcError } from "../rpc/types.ts";
import { SeededRandom } from "../util/random.ts";
import { Clerk } from "../kv/clerk.ts";
import { type KvCommand, READ_KINDS } from "../kv/command.ts";
import { KV_OPERATION_METHOD, type KvReply } from "../kv/protocol.ts";
import { KvStateMachine } from "../kv/state_machine.ts";
import {
  answerOf,
  answerText,
  applyRequest,
  type CoordinationState,
  EMPTY_STATE,
} from "./model.ts";
import { commandOf, CoordinationHistory } from "./history.ts";
import { Workload } from "./workload.ts";

/**
 * One server in process over a real state machine, answering after 1 ms of virtual time.
 * `staleGets` answers gets from a machine that never applies anything; `loseReplyOf` applies
 * the write of that sequence number and then loses its reply as if the connection closed.
 */
function server(
  simulation: Simulation,
  options: { staleGets?: boolean; loseReplyOf?: number } = {},
): RpcClient {
  const machine = new KvStateMachine();
  const empty = new KvStateMachine();
  return {
    call: <Result>(method: string, args: unknown): Promise<Result> => {
      assert.equal(method, KV_OPERATION_METHOD);
      const command = args as KvCommand;
      const reads = READ_KINDS.includes(command.kind);
      const reply = reads
        ? (options.staleGets === true ? empty : machine).read(command)
        : machine.apply(machine.appliedIndex + 1, command);
      if (!reads && command.sequence === options.loseReplyOf) {
        return Promise.reject(new RpcError("closed", "the connection closed"));
      }
      return simulation.sleep(1).then(() => reply as Result);
    },
    close: () => {},
  };
}

Deno.test("the model answers as the state machine does, request after request", () => {
  const machine = new KvStateMachine();
  const random = new SeededRandom(7);
  const workload = new Workload((bound) => random.int(bound), 0);
  let state: CoordinationState = EMPTY_STATE;
  const kinds = new Set<string>();
  for (let i = 1; i <= 2_000; i++) {
    const request = workload.next();
    const outcome = applyRequest(state, request);
    const command: KvCommand = { ...commandOf(request), clientId: 1, sequence: i };
    const reply: KvReply = READ_KINDS.includes(command.kind)
      ? machine.read(command)
      : machine.apply(machine.appliedIndex + 1, command);
    assert.equal(answerText(answerOf(request, reply)), answerText(outcome.answer), `request ${i}`);
    workload.learn(request, reply);
    state = outcome.state;
    kinds.add(`${request.kind}:${outcome.answer.err}`);
  }
  assert.ok(state.revision > 100, `only ${state.revision} revisions`);
  assert.deepEqual([...kinds].sort(), [
    "delete:OK",
    "get:ErrNoKey",
    "get:OK",
    "put:ErrNoKey",
    "put:ErrVersion",
    "put:OK",
    "txn:OK",
  ]);
});

Deno.test("a history recorded through clerks checks out, and a stale get is named", async () => {
  for (const staleGets of [false, true]) {
    const simulation = new Simulation(1);
    const history = new CoordinationHistory(simulation);
    const clerk = new Clerk([server(simulation, { staleGets })], simulation, new SeededRandom(2));
    await simulation.run(async () => {
      await history.run(clerk, 0, { kind: "put", key: "a", value: "x" });
      // A return and a call at one instant are concurrent: leave a gap.
      await simulation.sleep(1);
      await history.run(clerk, 0, { kind: "get", key: "a" });
    });
    assert.equal(history.length, 2);
    if (!staleGets) {
      assert.equal(history.check(5_000).operations, 2);
      continue;
    }
    assert.throws(() => history.check(5_000), (error: Error) => {
      assert.match(error.message, /1 of 2 operations linearize, leaving revision 1: a="x"/);
      assert.match(error.message, /client 0: get\("a"\) \[2\.0, 3\.0\]/);
      assert.match(error.message, /answered .*"err":"ErrNoKey".*"revision":0/);
      assert.match(error.message, /the model answers .*"value":"x".*"revision":1/);
      return true;
    });
  }
});

Deno.test("a write whose reply was lost has unknown outcome, and may have happened", async () => {
  const simulation = new Simulation(1);
  const history = new CoordinationHistory(simulation);
  const service = server(simulation, { loseReplyOf: 1 });
  const writer = new Clerk([service], simulation, new SeededRandom(2));
  const reader = new Clerk([service], simulation, new SeededRandom(3));
  await simulation.run(async () => {
    await assert.rejects(history.run(writer, 0, { kind: "put", key: "a", value: "x" }));
    await history.run(reader, 1, { kind: "get", key: "a" });
  });
  const [write, read] = history.history();
  assert.equal(write.returnMs, Infinity);
  assert.deepEqual(write.payload, { request: { kind: "put", key: "a", value: "x" }, answer: null });
  assert.equal(read.returnMs, 1);
  assert.equal(history.check(5_000).operations, 2);
});
