import assert from "node:assert/strict";
import { encode } from "../rpc/codec.ts";
import { type RpcClient, RpcError, type RpcHandlers } from "../rpc/types.ts";
import { Simulation } from "./simulation.ts";
import {
  DEAD_SERVER_POLL_MS,
  LONG_FAILURE_DELAY_MS,
  REORDER_MAX_EXTRA_DELAY_MS,
  REORDER_MIN_DELAY_MS,
  SHORT_FAILURE_DELAY_MS,
  SimNetwork,
  type SimNetworkOptions,
  UNRELIABLE_MAX_DELAY_MS,
} from "./network.ts";

/** A simulation and network with one enabled end `client` connected to server `server`. */
function setUp(handlers: RpcHandlers, seed = 1, options: SimNetworkOptions = {}) {
  const simulation = new Simulation(seed);
  const network = new SimNetwork(simulation, options);
  network.addServer("server", handlers);
  const client = network.makeEnd("client");
  network.connect("client", "server");
  network.enable("client", true);
  return { simulation, network, client };
}

/** Calls and reports how the call ended and how long it took in virtual time. */
async function timedCall(simulation: Simulation, client: RpcClient, method: string, args: unknown) {
  const startMs = simulation.now();
  try {
    const value = await client.call(method, args);
    return { ok: true as const, value, elapsedMs: simulation.now() - startMs };
  } catch (error) {
    assert.ok(error instanceof RpcError, `Expected an RpcError, got ${error}`);
    return { ok: false as const, error, elapsedMs: simulation.now() - startMs };
  }
}

Deno.test("a reliable network delivers copies of arguments and replies without delay", async () => {
  const received: unknown[] = [];
  const reply = { list: [1, 2, 3], text: "pong" };
  const { simulation, client } = setUp({
    "Echo.Ping": (args) => {
      received.push(args);
      (args as { nested: number[] }).nested.push(99);
      return reply;
    },
  });
  const args = { nested: [1], name: "ping" };
  const result = await simulation.run(() => timedCall(simulation, client, "Echo.Ping", args));
  assert.deepEqual(result, { ok: true, value: reply, elapsedMs: 0 });
  assert.notEqual(result.value, reply);
  assert.deepEqual(args, { nested: [1], name: "ping" });
  assert.deepEqual(received, [{ nested: [1, 99], name: "ping" }]);
});

Deno.test("async handlers may wait on virtual time before replying", async () => {
  const { simulation, client } = setUp({
    "Slow.Answer": async (args) => {
      await simulation.sleep(35);
      return (args as number) * 2;
    },
  });
  const result = await simulation.run(() => timedCall(simulation, client, "Slow.Answer", 21));
  assert.deepEqual(result, { ok: true, value: 42, elapsedMs: 35 });
});

Deno.test("counts and bytes are those of the encoded arguments and replies", async () => {
  const { simulation, network, client } = setUp({
    "Store.Put": (args) => ({ stored: (args as { key: string }).key, ok: true }),
  });
  network.addServer("other", { "Store.Put": () => null });
  const other = network.makeEnd("to-other");
  network.connect("to-other", "other");
  network.enable("to-other", true);
  const disabled = network.makeEnd("disabled");
  network.connect("disabled", "server");
  let expectedBytes = 0;
  await simulation.run(async () => {
    for (let index = 0; index < 5; index++) {
      const args = { key: `key-${index}`, value: "x".repeat(index * 10) };
      const value = await client.call("Store.Put", args);
      expectedBytes += encode(args).length + encode(value).length;
    }
    const reply = await other.call("Store.Put", "v");
    expectedBytes += encode("v").length + encode(reply).length;
    await disabled.call("Store.Put", [1, 2, 3]).catch(() => null);
    expectedBytes += encode([1, 2, 3]).length;
  });
  assert.equal(network.getCount("server"), 5);
  assert.equal(network.getCount("other"), 1);
  assert.equal(network.getTotalCount(), 7);
  assert.equal(network.getTotalBytes(), expectedBytes);
  assert.throws(() => network.getCount("nobody"), /no such server/);
});

async function failureDelays(longDelays: boolean, why: "disabled" | "unconnected" | "missing") {
  const simulation = new Simulation(3);
  const network = new SimNetwork(simulation);
  network.setLongDelays(longDelays);
  let handled = 0;
  network.addServer("server", { "Any.Call": () => handled++ });
  const client = network.makeEnd("client");
  if (why !== "unconnected") network.connect("client", why === "missing" ? "ghost" : "server");
  network.enable("client", why !== "disabled");
  const delaysMs: number[] = [];
  await simulation.run(async () => {
    for (let round = 0; round < 300; round++) {
      const result = await timedCall(simulation, client, "Any.Call", round);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.error.kind, "unreachable");
      delaysMs.push(result.elapsedMs);
    }
  });
  assert.equal(handled, 0);
  assert.equal(network.getCount("server"), 0);
  return delaysMs;
}

Deno.test("calls through a disabled end fail after a delay below 100 ms", async () => {
  for (const why of ["disabled", "unconnected", "missing"] as const) {
    const delaysMs = await failureDelays(false, why);
    assert.ok(delaysMs.every((delayMs) => delayMs >= 0 && delayMs < SHORT_FAILURE_DELAY_MS));
    assert.ok(Math.max(...delaysMs) >= SHORT_FAILURE_DELAY_MS * 0.9, `${why}: spread too narrow`);
    assert.ok(Math.min(...delaysMs) < SHORT_FAILURE_DELAY_MS * 0.1, `${why}: spread too narrow`);
  }
});

Deno.test("with long delays on, unreachable calls fail after a delay below 7 s", async () => {
  const delaysMs = await failureDelays(true, "disabled");
  assert.ok(delaysMs.every((delayMs) => delayMs >= 0 && delayMs < LONG_FAILURE_DELAY_MS));
  assert.ok(Math.max(...delaysMs) >= LONG_FAILURE_DELAY_MS * 0.9);
  assert.ok(Math.min(...delaysMs) < LONG_FAILURE_DELAY_MS * 0.1);
});

Deno.test("an unreliable network delays requests and drops about 10 % each way", async () => {
  const callCount = 4000;
  const dispatchDelaysMs: number[] = [];
  let sentAtMs = 0;
  const { simulation, network, client } = setUp({
    "Count.Hit": () => {
      dispatchDelaysMs.push(simulation.now() - sentAtMs);
      return "hit";
    },
  }, 11);
  network.setReliable(false);
  let successes = 0;
  await simulation.run(async () => {
    for (let round = 0; round < callCount; round++) {
      sentAtMs = simulation.now();
      const result = await timedCall(simulation, client, "Count.Hit", round);
      if (result.ok) successes += 1;
      else assert.equal(result.error.kind, "unreachable");
    }
  });
  const dispatched = dispatchDelaysMs.length;
  assert.equal(network.getCount("server"), dispatched);
  assert.ok(dispatchDelaysMs.every((delayMs) => delayMs >= 0 && delayMs < UNRELIABLE_MAX_DELAY_MS));
  assert.equal(new Set(dispatchDelaysMs).size, UNRELIABLE_MAX_DELAY_MS);
  // Binomial bounds, well over four standard deviations wide, for a 10 % drop rate.
  const requestDropRate = 1 - dispatched / callCount;
  const replyDropRate = 1 - successes / dispatched;
  assert.ok(requestDropRate > 0.08 && requestDropRate < 0.12, `request drops: ${requestDropRate}`);
  assert.ok(replyDropRate > 0.08 && replyDropRate < 0.12, `reply drops: ${replyDropRate}`);
});

Deno.test("long reordering delays about two thirds of replies by 200 to 2200 ms", async () => {
  const callCount = 3000;
  const { simulation, network, client } = setUp({ "Echo.Back": (args) => args }, 5);
  network.setLongReordering(true);
  const delaysMs: number[] = [];
  await simulation.run(async () => {
    for (let round = 0; round < callCount; round++) {
      const result = await timedCall(simulation, client, "Echo.Back", round);
      assert.deepEqual(result.ok && result.value, round);
      delaysMs.push(result.elapsedMs);
    }
  });
  const delayed = delaysMs.filter((delayMs) => delayMs > 0);
  const maxDelayMs = REORDER_MIN_DELAY_MS + REORDER_MAX_EXTRA_DELAY_MS;
  assert.ok(delayed.every((delayMs) => delayMs >= REORDER_MIN_DELAY_MS && delayMs <= maxDelayMs));
  const delayedRate = delayed.length / callCount;
  assert.ok(delayedRate > 0.62 && delayedRate < 0.71, `delayed replies: ${delayedRate}`);
  // The extra delay is uniform below a uniform bound, so short extra delays are the most common.
  const shortExtra = delayed.filter((delayMs) => delayMs < REORDER_MIN_DELAY_MS + 500).length;
  assert.ok(shortExtra > delayed.length / 2, `${shortExtra} of ${delayed.length} short`);
});

Deno.test("long reordering lets a later call overtake an earlier one", async () => {
  const { simulation, network, client } = setUp({ "Echo.Back": (args) => args }, 9);
  network.setLongReordering(true);
  const arrivals = await simulation.run(async () => {
    const order: number[] = [];
    const calls = [];
    for (let index = 0; index < 20; index++) {
      calls.push(client.call("Echo.Back", index).then((value) => order.push(value as number)));
    }
    await Promise.all(calls);
    return order;
  });
  const sorted = [...arrivals].sort((a, b) => a - b);
  assert.deepEqual(sorted, Array.from({ length: 20 }, (_, index) => index));
  assert.notDeepEqual(arrivals, sorted);
});

/** A server whose handler finishes after `handlerMs`; `cut` happens at `cutAtMs`. */
async function cutDuringHandler(handlerMs: number, cutAtMs: number, cut: (n: SimNetwork) => void) {
  const { simulation, network, client } = setUp({
    "Slow.Write": async () => {
      await simulation.sleep(handlerMs);
      return "written";
    },
  });
  simulation.setTimeout(() => cut(network), cutAtMs);
  const result = await simulation.run(() => timedCall(simulation, client, "Slow.Write", {}));
  assert.equal(result.ok, false, "a cut-off server gave a positive reply");
  assert.equal(!result.ok && result.error.kind, "unreachable");
  return result.elapsedMs;
}

Deno.test("a deleted server gives no positive reply, even from a running handler", async () => {
  const remove = (network: SimNetwork) => network.deleteServer("server");
  // The handler outlives the deletion: the call fails at labrpc's next 100 ms poll.
  assert.equal(await cutDuringHandler(1000, 250, remove), 3 * DEAD_SERVER_POLL_MS);
  assert.equal(await cutDuringHandler(1000, 0, remove), DEAD_SERVER_POLL_MS);
  // The handler finishes before the next poll: the call fails when it finishes.
  assert.equal(await cutDuringHandler(60, 50, remove), 60);
});

Deno.test("a replaced server or a disabled end gives no positive reply", async () => {
  const replace = (network: SimNetwork) => network.addServer("server", { "Slow.Write": () => 1 });
  assert.equal(await cutDuringHandler(30, 10, replace), 30);
  assert.equal(await cutDuringHandler(500, 120, replace), 2 * DEAD_SERVER_POLL_MS);
  const disable = (network: SimNetwork) => network.enable("client", false);
  assert.equal(await cutDuringHandler(30, 10, disable), 30);
  assert.equal(await cutDuringHandler(500, 120, disable), 2 * DEAD_SERVER_POLL_MS);
});

Deno.test("an end re-enabled before the next poll still gets its reply", async () => {
  const { simulation, network, client } = setUp({
    "Slow.Write": async () => {
      await simulation.sleep(300);
      return "written";
    },
  });
  simulation.setTimeout(() => network.enable("client", false), 20);
  simulation.setTimeout(() => network.enable("client", true), 60);
  const result = await simulation.run(() => timedCall(simulation, client, "Slow.Write", {}));
  assert.deepEqual(result, { ok: true, value: "written", elapsedMs: 300 });
});

Deno.test("a throwing handler or an unknown method gives a remote error", async () => {
  const { simulation, client } = setUp({
    "Bad.Sync": () => {
      throw new Error("Cannot append entry 7: log ends at 5");
    },
    "Bad.Async": async () => {
      await simulation.sleep(5);
      throw new Error("Snapshot index 3 is behind the log start 9");
    },
  });
  const results = await simulation.run(async () => [
    await timedCall(simulation, client, "Bad.Sync", null),
    await timedCall(simulation, client, "Bad.Async", null),
    await timedCall(simulation, client, "Bad.Missing", null),
    await timedCall(simulation, client, "toString", null),
  ]);
  const failures = results.map((result) => {
    assert.ok(!result.ok);
    assert.equal(result.error.kind, "remote");
    return result.error.message;
  });
  assert.match(failures[0], /Bad\.Sync .*Cannot append entry 7: log ends at 5/);
  assert.match(failures[1], /Bad\.Async .*Snapshot index 3 is behind the log start 9/);
  assert.match(failures[2], /server "server" has no method Bad\.Missing/);
  assert.match(failures[3], /server "server" has no method toString/);
});

Deno.test("a call with timeoutMs rejects with kind timeout on virtual time", async () => {
  const { simulation, client } = setUp({
    "Slow.Write": async () => {
      await simulation.sleep(500);
      return "late";
    },
    "Fast.Write": () => "early",
  });
  const results = await simulation.run(async () => {
    const startMs = simulation.now();
    const late = await client.call("Slow.Write", null, { timeoutMs: 120 }).catch((error) => error);
    const lateMs = simulation.now() - startMs;
    const early = await client.call("Fast.Write", null, { timeoutMs: 120 });
    return { late, lateMs, early, pendingTimers: simulation.pendingTimerCount };
  });
  assert.ok(results.late instanceof RpcError);
  assert.equal(results.late.kind, "timeout");
  assert.equal(results.lateMs, 120);
  assert.equal(results.early, "early");
  // The slow handler's sleep is the only timer left: the fast call's timeout was cleared.
  assert.equal(results.pendingTimers, 1);
});

Deno.test("closing an end or cleaning up the network rejects calls with kind closed", async () => {
  const { simulation, network, client } = setUp({
    "Slow.Write": async () => {
      await simulation.sleep(100);
      return "written";
    },
  });
  const kinds = await simulation.run(async () => {
    const inFlight = client.call("Slow.Write", null).catch((error: RpcError) => error.kind);
    await simulation.sleep(10);
    client.close();
    const afterClose = await client.call("Slow.Write", null).catch((error) => error.kind);
    const other = network.makeEnd("other");
    network.connect("other", "server");
    network.enable("other", true);
    const cleanedUp = other.call("Slow.Write", null).catch((error: RpcError) => error.kind);
    network.cleanup();
    const afterCleanup = await other.call("Slow.Write", null).catch((error) => error.kind);
    return [await inFlight, afterClose, await cleanedUp, afterCleanup];
  });
  assert.deepEqual(kinds, ["closed", "closed", "closed", "closed"]);
});

Deno.test("ends must exist, and names are unique", () => {
  const network = new SimNetwork(new Simulation(1));
  network.makeEnd("a");
  assert.throws(() => network.makeEnd("a"), /Cannot make end "a": it already exists/);
  assert.throws(() => network.connect("b", "server"), /Cannot connect end "b": no such end/);
  assert.throws(() => network.enable("b", true), /Cannot enable end "b": no such end/);
});

Deno.test("a client that retries a reliable server without waiting fails as a livelock", async () => {
  const options = { maxStepsAtOneInstant: 5000 };
  const { simulation, network, client } = setUp({ "Kv.Get": () => "ErrWrongLeader" }, 1, options);
  await assert.rejects(
    simulation.run(async () => {
      while (await client.call("Kv.Get", "key") === "ErrWrongLeader") {
        // A correct client would wait before trying again.
      }
    }),
    /Network livelocked at 0 ms: 5000 RPC steps ran without virtual time advancing/,
  );
  assert.equal(network.getCount("server"), 5000);
});

Deno.test("one seed replays the same outcomes on an unreliable network", async () => {
  async function outcomes(seed: number): Promise<string> {
    const { simulation, network, client } = setUp({ "Echo.Back": (args) => args }, seed);
    network.setReliable(false);
    network.setLongReordering(true);
    const log = await simulation.run(async () => {
      const calls = Array.from(
        { length: 200 },
        (_, index) =>
          timedCall(simulation, client, "Echo.Back", index).then((result) =>
            `${index}:${result.ok}@${simulation.now()}`
          ),
      );
      return (await Promise.all(calls)).join(",");
    });
    return `${log} ${simulation.traceHash()}`;
  }
  const first = await outcomes(21);
  assert.equal(await outcomes(21), first);
  assert.notEqual(await outcomes(22), first);
});

Deno.test("with latency set, each request and each reply takes a time from its range", async () => {
  const arrivalsMs: number[] = [];
  const { simulation, network, client } = setUp({
    "Echo.Say": (args) => {
      arrivalsMs.push(simulation.now());
      return args;
    },
  });
  network.setLatency(2, 5);
  const result = await simulation.run(async () => {
    const results = [];
    for (let call = 0; call < 50; call++) {
      const startMs = simulation.now();
      const outcome = await timedCall(simulation, client, "Echo.Say", call);
      results.push({ outcome, requestMs: arrivalsMs[call] - startMs });
    }
    return results;
  });
  for (const [call, { outcome, requestMs }] of result.entries()) {
    assert.ok(outcome.ok, `call ${call} failed`);
    assert.equal(outcome.value, call);
    assert.ok(requestMs >= 2 && requestMs <= 5, `request ${call} took ${requestMs} ms`);
    const replyMs = outcome.elapsedMs - requestMs;
    assert.ok(replyMs >= 2 && replyMs <= 5, `reply ${call} took ${replyMs} ms`);
  }
  const distinct = new Set(result.map(({ outcome }) => outcome.elapsedMs));
  assert.ok(distinct.size > 40, `only ${distinct.size} distinct round trips in 50 calls`);
});

Deno.test("latency off by default draws nothing, so labrpc traces are unchanged", async () => {
  async function trace(setLatency: boolean): Promise<string> {
    const { simulation, network, client } = setUp({ "Echo.Say": (args) => args }, 7);
    network.setReliable(false);
    if (setLatency) network.setLatency(0, 0);
    await simulation.run(async () => {
      for (let call = 0; call < 20; call++) {
        await timedCall(simulation, client, "Echo.Say", call);
      }
    });
    return `${simulation.traceHash()} ${simulation.random.int(1_000_000)}`;
  }
  assert.equal(await trace(true), await trace(false));
  assert.throws(() => setUp({}).network.setLatency(3, 1), /Cannot set a latency of 3 to 1 ms/);
});
