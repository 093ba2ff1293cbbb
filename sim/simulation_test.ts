import assert from "node:assert/strict";
import process from "node:process";
import { Simulation } from "./simulation.ts";
import { SimNetwork } from "./network.ts";
import type { RpcClient } from "../rpc/types.ts";

Deno.test("timers fire in due order, ties in the order they were set", async () => {
  const simulation = new Simulation(1);
  const delaysMs = [30, 10, 20, 10, 0, 30, 10, 0, 25];
  const fired: { index: number; atMs: number }[] = [];
  delaysMs.forEach((delayMs, index) => {
    simulation.setTimeout(() => fired.push({ index, atMs: simulation.now() }), delayMs);
  });
  await simulation.run(() => simulation.sleep(100));
  // A stable sort by delay is the spec: equal delays keep the order they were set in.
  const expected = delaysMs
    .map((delayMs, index) => ({ index, atMs: delayMs }))
    .sort((a, b) => a.atMs - b.atMs);
  assert.deepEqual(fired, expected);
  assert.equal(simulation.now(), 100);
});

Deno.test("a timer set by a timer at the same instant fires after the ones already due", async () => {
  const simulation = new Simulation(1);
  const order: string[] = [];
  simulation.setTimeout(() => {
    order.push("first");
    simulation.setTimeout(() => order.push("nested"), 0);
  }, 5);
  simulation.setTimeout(() => order.push("second"), 5);
  await simulation.run(() => simulation.sleep(10));
  assert.deepEqual(order, ["first", "second", "nested"]);
});

Deno.test("clearTimeout cancels a pending timer and ignores fired or foreign handles", async () => {
  const simulation = new Simulation(1);
  const other = new Simulation(2);
  const fired: string[] = [];
  const cancelledLater = simulation.setTimeout(() => fired.push("cancelled by a timer"), 20);
  const cancelledNow = simulation.setTimeout(() => fired.push("cancelled at once"), 10);
  const early = simulation.setTimeout(() => {
    fired.push("early");
    simulation.clearTimeout(cancelledLater);
  }, 5);
  const foreign = other.setTimeout(() => fired.push("other simulation"), 1);
  simulation.clearTimeout(cancelledNow);
  simulation.clearTimeout(foreign);
  simulation.clearTimeout("not a handle");
  assert.equal(simulation.pendingTimerCount, 2);
  await simulation.run(async () => {
    await simulation.sleep(30);
    simulation.clearTimeout(early);
  });
  assert.deepEqual(fired, ["early"]);
  assert.equal(other.pendingTimerCount, 1);
});

Deno.test("many cancelled timers are dropped without disturbing the live ones", async () => {
  const simulation = new Simulation(1);
  const fired: number[] = [];
  for (let round = 0; round < 5000; round++) {
    const handle = simulation.setTimeout(() => fired.push(-1), 1 + round);
    simulation.clearTimeout(handle);
    if (round % 1000 === 0) simulation.setTimeout(() => fired.push(round), 1 + round);
  }
  assert.equal(simulation.pendingTimerCount, 5);
  await simulation.run(() => simulation.sleep(10_000));
  assert.deepEqual(fired, [0, 1000, 2000, 3000, 4000]);
});

Deno.test("continuations of an event run before virtual time advances", async () => {
  const simulation = new Simulation(1);
  const log: string[] = [];
  async function deepChain(depth: number): Promise<number> {
    if (depth === 0) return 0;
    await Promise.resolve();
    return 1 + await deepChain(depth - 1);
  }
  simulation.setTimeout(async () => {
    const depth = await deepChain(5000);
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    log.push(`chain of ${depth} done at ${simulation.now()}`);
  }, 10);
  simulation.setTimeout(() => log.push(`next timer at ${simulation.now()}`), 11);
  simulation.setTimeout(() => log.push(`same instant at ${simulation.now()}`), 10);
  await simulation.run(() => simulation.sleep(20));
  assert.deepEqual(log, ["chain of 5000 done at 10", "same instant at 10", "next timer at 11"]);
});

Deno.test("next-tick callbacks of an event run before virtual time advances", async () => {
  const simulation = new Simulation(1);
  const log: string[] = [];
  const relay = (remaining: number) => {
    if (remaining === 0) log.push(`relay done at ${simulation.now()}`);
    else process.nextTick(() => Promise.resolve().then(() => relay(remaining - 1)));
  };
  simulation.setTimeout(() => relay(1000), 10);
  simulation.setTimeout(() => log.push(`next timer at ${simulation.now()}`), 11);
  await simulation.run(() => simulation.sleep(20));
  assert.deepEqual(log, ["relay done at 10", "next timer at 11"]);
});

Deno.test("run resolves with the main function's value and discards later timers", async () => {
  const simulation = new Simulation(1);
  let lateTimerFired = false;
  simulation.setTimeout(() => {
    lateTimerFired = true;
  }, 1000);
  const value = await simulation.run(async () => {
    await simulation.sleep(250);
    return "finished";
  });
  assert.equal(value, "finished");
  assert.equal(simulation.now(), 250);
  assert.equal(simulation.pendingTimerCount, 0);
  simulation.setTimeout(() => {
    lateTimerFired = true;
  }, 0);
  assert.equal(simulation.pendingTimerCount, 0);
  assert.equal(lateTimerFired, false);
});

Deno.test("run rejects with the main function's error", async () => {
  const simulation = new Simulation(1);
  await assert.rejects(
    simulation.run(async () => {
      await simulation.sleep(5);
      throw new Error("Test found two leaders in term 3");
    }),
    { message: "Test found two leaders in term 3" },
  );
  assert.equal(simulation.now(), 5);
});

Deno.test("run rejects when a timer callback throws", async () => {
  const simulation = new Simulation(1);
  simulation.setTimeout(() => {
    throw new Error("Applier saw index 4 after index 6");
  }, 7);
  await assert.rejects(simulation.run(() => simulation.sleep(100)), {
    message: "Applier saw index 4 after index 6",
  });
});

Deno.test("fail makes the run reject even though the main function succeeds", async () => {
  const simulation = new Simulation(1);
  simulation.setTimeout(() => simulation.fail(new Error("Checker found a stale read")), 3);
  simulation.setTimeout(() => simulation.fail(new Error("A later failure")), 4);
  await assert.rejects(simulation.run(() => simulation.sleep(10)), {
    message: "Checker found a stale read",
  });
  assert.equal(simulation.now(), 3);
});

Deno.test("run reports a deadlock when nothing is pending and main has not finished", async () => {
  const simulation = new Simulation(1);
  await assert.rejects(
    simulation.run(async () => {
      await simulation.sleep(40);
      await new Promise(() => {});
    }),
    {
      message: "Simulation deadlocked at 40 ms: no timer is pending and the test has not finished",
    },
  );
});

Deno.test("run rejects when virtual time would pass maxVirtualMs", async () => {
  const simulation = new Simulation(1);
  let ticks = 0;
  const tick = () => {
    ticks += 1;
    simulation.setTimeout(tick, 100);
  };
  simulation.setTimeout(tick, 100);
  await assert.rejects(
    simulation.run(() => new Promise(() => {}), { maxVirtualMs: 1000 }),
    (error: Error) => error.message.includes("limit of 1000 virtual ms"),
  );
  assert.equal(ticks, 10);
  assert.equal(simulation.now(), 1000);
});

Deno.test("run rejects after maxEvents timer events", async () => {
  const simulation = new Simulation(1);
  let ticks = 0;
  const tick = () => {
    ticks += 1;
    simulation.setTimeout(tick, 1);
  };
  simulation.setTimeout(tick, 1);
  await assert.rejects(
    simulation.run(() => new Promise(() => {}), { maxEvents: 50 }),
    (error: Error) => error.message.includes("limit of 50 events"),
  );
  assert.equal(ticks, 50);
  assert.equal(simulation.eventCount, 50);
});

Deno.test("run reports a livelock when timers keep firing at one instant", async () => {
  const simulation = new Simulation(1);
  const spin = () => simulation.setTimeout(spin, 0);
  simulation.setTimeout(spin, 3);
  await assert.rejects(
    simulation.run(() => simulation.sleep(10), { maxEventsAtOneInstant: 500 }),
    { message: "Simulation livelocked at 3 ms: 500 timers fired without virtual time advancing" },
  );
});

Deno.test("a simulation runs once, and only one runs at a time", async () => {
  const first = new Simulation(1);
  const second = new Simulation(2);
  await first.run(async () => {
    await first.sleep(1);
    await assert.rejects(second.run(() => second.sleep(1)), /simulation 1 is still running/);
  });
  await assert.rejects(first.run(() => first.sleep(1)), /Cannot run simulation 1 again/);
  await second.run(() => second.sleep(1));
});

Deno.test("setTimeout refuses a delay that is not a finite number", () => {
  const simulation = new Simulation(1);
  assert.throws(() => simulation.setTimeout(() => {}, Number.NaN), /NaN ms from now/);
});

/** A busy workload: unreliable network, random timers and random partitions. */
async function busyWorkloadTrace(seed: number): Promise<{ hash: string; callCount: number }> {
  const simulation = new Simulation(seed);
  const network = new SimNetwork(simulation);
  const serverCount = 4;
  network.setReliable(false);
  network.setLongReordering(true);
  for (let server = 0; server < serverCount; server++) {
    network.addServer(`server-${server}`, {
      "Work.Do": async (args) => {
        await simulation.sleep(simulation.random.int(30));
        return { echoed: args, by: server };
      },
    });
  }
  const ends: { name: string; client: RpcClient }[] = [];
  for (let client = 0; client < serverCount; client++) {
    for (let server = 0; server < serverCount; server++) {
      const endName = `client-${client}-to-${server}`;
      ends.push({ name: endName, client: network.makeEnd(endName) });
      network.connect(endName, `server-${server}`);
      network.enable(endName, true);
    }
  }
  await simulation.run(async () => {
    const workers = ends.map(async (end, worker) => {
      for (let round = 0; round < 30; round++) {
        await end.client.call("Work.Do", { worker, round }).catch(() => null);
        await simulation.sleep(simulation.random.int(50));
      }
    });
    for (let change = 0; change < 40; change++) {
      await simulation.sleep(simulation.random.int(200));
      const end = ends[simulation.random.int(ends.length)];
      network.enable(end.name, simulation.random.int(2) === 0);
    }
    await Promise.all(workers);
  });
  return { hash: simulation.traceHash(), callCount: network.getTotalCount() };
}

Deno.test("the same seed gives the same trace hash, another seed another hash", async () => {
  const first = await busyWorkloadTrace(7);
  const again = await busyWorkloadTrace(7);
  const other = await busyWorkloadTrace(8);
  assert.equal(first.callCount, 16 * 30);
  assert.match(first.hash, /^[0-9a-f]{16}$/);
  assert.equal(again.hash, first.hash);
  assert.notEqual(other.hash, first.hash);
});

Deno.test("trace folds the label and the virtual time", async () => {
  const hashes: string[] = [];
  for (const [label, atMs] of [["a", 1], ["a", 2], ["b", 1], ["a", 1]] as const) {
    const simulation = new Simulation(1);
    await simulation.run(async () => {
      await simulation.sleep(atMs);
      simulation.trace(label);
    });
    hashes.push(simulation.traceHash());
  }
  assert.equal(new Set(hashes.slice(0, 3)).size, 3);
  assert.equal(hashes[3], hashes[0]);
});
