import assert from "node:assert/strict";
import { Simulation } from "../sim/simulation.ts";
import { ERR_MAYBE, type PutOutcome } from "../kv/clerk.ts";
import { type VersionedKv, VersionedLock } from "./versioned_lock.ts";
import { ERR_NO_KEY, ERR_VERSION, type KvError, OK } from "../kv/protocol.ts";

/** What the next versioned Put does instead of answering truly. */
type Twist = "happened, ErrMaybe" | "lost, ErrMaybe";

/** An in-memory versioned store whose calls take 1 ms, with scripted ErrMaybe answers. */
class FakeKv implements VersionedKv {
  readonly keys = new Map<string, { value: string; version: number }>();
  readonly twists: Twist[] = [];
  puts = 0;
  constructor(readonly simulation: Simulation) {}

  async getVersioned(key: string): Promise<{ value: string; version: number; err: KvError }> {
    await this.simulation.sleep(1);
    const record = this.keys.get(key);
    if (record === undefined) return { value: "", version: 0, err: ERR_NO_KEY };
    return { ...record, err: OK };
  }

  async putVersioned(key: string, value: string, version: number): Promise<PutOutcome> {
    await this.simulation.sleep(1);
    this.puts++;
    const twist = this.twists.shift();
    if (twist === "lost, ErrMaybe") return ERR_MAYBE;
    const current = this.keys.get(key)?.version ?? 0;
    if (current === 0 && version > 0) return ERR_NO_KEY;
    if (current !== version) return twist === undefined ? ERR_VERSION : ERR_MAYBE;
    this.keys.set(key, { value, version: version + 1 });
    return twist === undefined ? OK : ERR_MAYBE;
  }
}

function run<T>(body: (simulation: Simulation, kv: FakeKv) => Promise<T>): Promise<T> {
  const simulation = new Simulation(1);
  return simulation.run(() => body(simulation, new FakeKv(simulation)));
}

const lockOf = (kv: FakeKv, holder: string, attemptsMax?: number) =>
  new VersionedLock(kv, "l", { holder, clock: kv.simulation, retryPauseMs: 5, attemptsMax });

Deno.test("a free lock is taken at once; each acquisition's token is larger", async () => {
  await run(async (_, kv) => {
    const lock = lockOf(kv, "a");
    assert.equal(await lock.acquire(), 1);
    assert.equal(lock.held, true);
    assert.deepEqual(kv.keys.get("l"), { value: "a", version: 1 });
    await lock.release();
    assert.equal(lock.held, false);
    assert.deepEqual(kv.keys.get("l"), { value: "", version: 2 });
    assert.equal(await lock.acquire(), 3);
  });
});

Deno.test("a second client waits until the holder releases, then gets a larger token", async () => {
  await run(async (simulation, kv) => {
    const first = lockOf(kv, "a");
    const second = lockOf(kv, "b");
    assert.equal(await first.acquire(), 1);
    let secondAtMs = -1;
    const waiting = second.acquire().then((token) => {
      secondAtMs = simulation.now();
      return token;
    });
    await simulation.sleep(100);
    assert.equal(secondAtMs, -1);
    assert.equal(second.held, false);
    const releasedAtMs = simulation.now();
    await first.release();
    assert.equal(await waiting, 3);
    assert.ok(secondAtMs > releasedAtMs, `acquired at ${secondAtMs}, released at ${releasedAtMs}`);
    await assert.rejects(first.release(), /does not hold it/);
  });
});

Deno.test("an acquiring Put that happened yet came back ErrMaybe holds the lock", async () => {
  await run(async (_, kv) => {
    kv.twists.push("happened, ErrMaybe");
    const lock = lockOf(kv, "a");
    assert.equal(await lock.acquire(), 1);
    assert.equal(kv.puts, 1);
  });
});

Deno.test("an acquiring Put lost with ErrMaybe is tried again", async () => {
  await run(async (_, kv) => {
    kv.twists.push("lost, ErrMaybe");
    const lock = lockOf(kv, "a");
    assert.equal(await lock.acquire(), 1);
    assert.equal(kv.puts, 2);
    assert.deepEqual(kv.keys.get("l"), { value: "a", version: 1 });
  });
});

Deno.test("a releasing Put that happened yet came back ErrMaybe frees the lock once", async () => {
  await run(async (_, kv) => {
    const lock = lockOf(kv, "a");
    await lock.acquire();
    kv.twists.push("happened, ErrMaybe");
    await lock.release();
    assert.equal(kv.puts, 2);
    assert.deepEqual(kv.keys.get("l"), { value: "", version: 2 });
  });
});

Deno.test("a releasing Put lost with ErrMaybe is tried again", async () => {
  await run(async (_, kv) => {
    const lock = lockOf(kv, "a");
    await lock.acquire();
    kv.twists.push("lost, ErrMaybe");
    await lock.release();
    assert.equal(kv.puts, 3);
    assert.deepEqual(kv.keys.get("l"), { value: "", version: 2 });
  });
});

Deno.test("releasing a lock someone else overwrote is refused, naming the value found", async () => {
  await run(async (_, kv) => {
    const lock = lockOf(kv, "a");
    await lock.acquire();
    kv.keys.set("l", { value: "intruder", version: 2 });
    await assert.rejects(lock.release(), /a holds it, yet it holds "intruder"/);
  });
});

Deno.test("an acquire gives up after its attempts bound, naming the lock and the holder", async () => {
  await run(async (_, kv) => {
    assert.equal(await lockOf(kv, "a").acquire(), 1);
    await assert.rejects(lockOf(kv, "b", 3).acquire(), /lock "l" for b: 3 attempts failed/);
    assert.throws(() => lockOf(kv, ""), /empty name/);
  });
});
