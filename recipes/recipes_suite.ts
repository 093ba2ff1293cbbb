/**
 * Tests of the recipes on the lab's harness (part "recipes" of `dsys test kv`), each while
 * servers crash and restart and the leader is cut off in a minority: the lock has one holder at
 * a time and fencing tokens that grow; a holder that pauses past its lease is fenced off; an
 * election has one leader at a time and observers see its leaders in order; increments of a
 * counter are each applied once; a barrier holds its waiters until it is released; and a reader
 * of a ready-file configuration sees it whole.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Clerk } from "../kv/clerk.ts";
import type { KeyRange } from "../kv/store.ts";
import type { Watcher } from "../kv/watcher.ts";
import { type KvConfig, runKvTest } from "../labs/kv_harness.ts";
import { chaos } from "../labs/coordination_suite.ts";
import type { LabTest, TestContext } from "../labs/suite.ts";
import type { KvConnection } from "./connection.ts";
import { Session } from "./session.ts";
import { Mutex } from "./mutex.ts";
import { fence, type Turn } from "./turns.ts";
import { Election, type Leader } from "./election.ts";
import { increment, readCounter } from "./counter.ts";
import { Barrier, publishConfig, readConfig } from "./barrier.ts";

/** Time to live of the tests' sessions: well past a failover (an election and a new leader's TTL). */
const TTL_MS = 3_000;
/** How long the contenders of a test run (the faults run as long). */
const RUN_MS = 6_000;
/** Contenders for the lock and candidates of the election. */
const CONTENDERS = 4;
/** The lock's name. */
const LOCK = "locks/job";
/** The key the lock guards. */
const RESOURCE = "resource";
/** The servers and faults every test runs with. */
const SERVERS = { servers: 5, unreliable: false, maxraftstate: 2_000, historyRevisions: 100_000 };

/** Makes the lock a test takes: the real one, or a planted bug. */
export type MutexFactory = (connection: KvConnection, session: Session, name: string) => Mutex;

/** A connection of the harness: clerks and watchers of every server, the clerks remembered. */
class HarnessConnection implements KvConnection {
  readonly clock: Clock;
  readonly clerks: Clerk[] = [];
  readonly #cfg: KvConfig;

  constructor(cfg: KvConfig) {
    this.#cfg = cfg;
    this.clock = cfg.simulation;
  }

  makeClerk(): Clerk {
    const clerk = this.#cfg.makeClient(this.#cfg.all());
    this.clerks.push(clerk);
    return clerk;
  }

  makeWatcher(range: KeyRange, fromRevision: number): Watcher {
    return this.#cfg.makeWatcher(range, fromRevision);
  }

  /** Cuts every clerk of this connection off (a paused process), or reconnects them. */
  reach(reachable: boolean): void {
    for (const clerk of this.clerks) {
      this.#cfg.connectClient(clerk, reachable ? this.#cfg.all() : []);
    }
  }
}

/** Who holds something now, checked as turns change hands in virtual time. */
class Exclusive {
  #holder: { who: number; token: number } | null = null;
  #lastToken = 0;
  turns = 0;

  constructor(readonly cfg: KvConfig, readonly what: string) {}

  take(who: number, token: number): void {
    if (this.#holder !== null) {
      this.cfg.fatal(
        `${this.what}: ${who} got token ${token} while ${this.#holder.who} held token ${this.#holder.token}`,
      );
    }
    if (token <= this.#lastToken) {
      this.cfg.fatal(`${this.what}: token ${token} came after token ${this.#lastToken}`);
    }
    this.#holder = { who, token };
    this.#lastToken = token;
    this.turns++;
  }

  give(who: number): void {
    if (this.#holder?.who !== who) {
      this.cfg.fatal(`${this.what}: ${who} gave up what it did not hold`);
    }
    this.#holder = null;
  }
}

/** Runs `body` on a recipes configuration while {@linkcode chaos} runs for `RUN_MS`. */
function recipesTest(
  name: string,
  label: string,
  body: (cfg: KvConfig, untilMs: number) => Promise<void>,
): LabTest {
  return {
    name,
    part: "recipes",
    run: (context: TestContext) =>
      runKvTest(context, SERVERS, async (cfg) => {
        cfg.begin(`Test: ${label} (recipes)`);
        const untilMs = cfg.simulation.now() + RUN_MS;
        await Promise.all([chaos(cfg, untilMs), body(cfg, untilMs)]);
        cfg.connectAll();
        cfg.end();
      }),
  };
}

/**
 * The lock under faults, with the lock `makeMutex` makes: contenders take it in turn, each with
 * one session for all its turns; one holder at a time, tokens growing, every holder's fenced
 * write accepted.
 */
export function lockTest(makeMutex: MutexFactory): LabTest {
  return recipesTest(
    "the lock has one holder at a time, and its fencing tokens grow, across crashes and partitions",
    "lock under crashes and partitions",
    async (cfg, untilMs) => {
      const held = new Exclusive(cfg, "lock");
      let lastWrite = "";
      await Promise.all(Array.from({ length: CONTENDERS }, async (_, me) => {
        const connection = new HarnessConnection(cfg);
        const clerk = connection.makeClerk();
        const session = await Session.start(connection, clerk, TTL_MS);
        const mutex = makeMutex(connection, session, LOCK);
        // Bounded by untilMs: every pass takes the lock once.
        while (cfg.simulation.now() < untilMs) {
          const hold = await mutex.lock();
          held.take(me, hold.revision);
          const write = `${me}:${hold.revision}`;
          if (!(await fencedPut(clerk, hold, write))) {
            cfg.fatal(`${me}'s fenced write with token ${hold.revision} was refused`);
          }
          lastWrite = write;
          await cfg.sleep(cfg.randomInt(50));
          held.give(me);
          await mutex.unlock();
          await cfg.sleep(cfg.randomInt(20));
        }
        mutex.close();
        await session.close(clerk);
      }));
      const resource = await cfg.makeClient(cfg.all()).get(RESOURCE);
      if (resource !== lastWrite) cfg.fatal(`the resource holds ${resource}, not ${lastWrite}`);
      if (held.turns < CONTENDERS) cfg.fatal(`the lock changed hands only ${held.turns} times`);
      cfg.log(`  ${held.turns} turns of the lock`);
    },
  );
}

/** Puts `value` at the resource if `hold` still holds the lock; whether it was written. */
async function fencedPut(clerk: Clerk, hold: Turn, value: string): Promise<boolean> {
  const reply = await clerk.txn({
    compare: [fence(hold)],
    success: [{ kind: "put", key: RESOURCE, value }],
    failure: [],
  });
  return reply.succeeded === true;
}

const staleHolderFenced = recipesTest(
  "a holder paused past its lease loses the lock, and its fenced write is refused",
  "stale holder fenced",
  async (cfg) => {
    const paused = new HarnessConnection(cfg);
    const pausedClerk = paused.makeClerk();
    const pausedSession = await Session.start(paused, pausedClerk, TTL_MS);
    const stale = await new Mutex(paused, pausedSession, LOCK).lock();
    if (!(await fencedPut(pausedClerk, stale, "stale"))) cfg.fatal("the first holder was fenced");
    const next = new HarnessConnection(cfg);
    const nextClerk = next.makeClerk();
    const nextSession = await Session.start(next, nextClerk, TTL_MS);
    const waiting = new Mutex(next, nextSession, LOCK).lock();
    // The first holder stops (a pause, a partition): its keep-alives stop with it.
    paused.reach(false);
    const hold = await waiting;
    if (hold.revision <= stale.revision) {
      cfg.fatal(`the next holder's token ${hold.revision} is not above ${stale.revision}`);
    }
    if (!(await fencedPut(nextClerk, hold, "next"))) cfg.fatal("the next holder was fenced");
    // The first holder wakes up believing it holds the lock, and writes.
    paused.reach(true);
    if (await fencedPut(pausedClerk, stale, "stale again")) {
      cfg.fatal(`the stale holder's write with token ${stale.revision} was accepted`);
    }
    const resource = await nextClerk.get(RESOURCE);
    if (resource !== "next") cfg.fatal(`the resource holds ${resource}, not the holder's write`);
    const lost = await pausedSession.ended;
    cfg.log(`  tokens ${stale.revision} then ${hold.revision}; ${lost.message}`);
    await nextSession.close(nextClerk);
  },
);

const electionTest = recipesTest(
  "an election has one leader at a time; an observer sees leaders in order",
  "election under crashes and partitions",
  async (cfg, untilMs) => {
    const leading = new Exclusive(cfg, "election");
    const proposed = new Map<string, number>();
    const observed: Leader[] = [];
    let candidatesDone = false;
    const observer = new Election(new HarnessConnection(cfg), "elect/job");
    const observing = observer.observe((leader) => observed.push(leader), () => candidatesDone);
    await Promise.all(Array.from({ length: CONTENDERS - 1 }, async (_, me) => {
      const connection = new HarnessConnection(cfg);
      const clerk = connection.makeClerk();
      const session = await Session.start(connection, clerk, TTL_MS);
      const election = new Election(connection, "elect/job");
      // Bounded by untilMs: every pass wins one term.
      for (let round = 0; cfg.simulation.now() < untilMs; round++) {
        const proposal = `${me}-${round}`;
        const turn = await election.campaign(session, proposal);
        leading.take(me, turn.revision);
        proposed.set(proposal, turn.revision);
        await cfg.sleep(cfg.randomInt(100));
        proposed.set(`${proposal}+`, turn.revision);
        await election.proclaim(`${proposal}+`);
        await cfg.sleep(cfg.randomInt(100));
        leading.give(me);
        await election.resign();
      }
      election.close();
      await session.close(clerk);
    }));
    candidatesDone = true;
    await observing;
    observer.close();
    let last = 0;
    for (const leader of observed) {
      if (proposed.get(leader.value) !== leader.revision) {
        cfg.fatal(`the observer saw ${leader.value} at ${leader.revision}, never proposed there`);
      }
      if (leader.revision < last) {
        cfg.fatal(`the observer saw term ${leader.revision} after ${last}`);
      }
      last = leader.revision;
    }
    if (observed.length < 2) cfg.fatal(`the observer saw ${observed.length} leaders`);
    cfg.log(`  ${leading.turns} terms, ${observed.length} leaders observed`);
  },
);

/** Increments per client of the counter test. */
const INCREMENTS = 25;

const counterTest = recipesTest(
  "increments of a counter by compare-and-swap each take effect once",
  "counter under crashes and partitions",
  async (cfg) => {
    const values = new Set<number>();
    await Promise.all(Array.from({ length: CONTENDERS }, async () => {
      const clerk = cfg.makeClient(cfg.all());
      for (let i = 0; i < INCREMENTS; i++) {
        const value = await increment(clerk, "counter");
        if (values.has(value)) cfg.fatal(`two increments returned ${value}`);
        values.add(value);
      }
    }));
    const total = CONTENDERS * INCREMENTS;
    const final = await readCounter(cfg.makeClient(cfg.all()), "counter");
    if (final !== total || values.size !== total || Math.max(...values) !== total) {
      cfg.fatal(`${total} increments left the counter at ${final}`);
    }
  },
);

const barrierTest = recipesTest(
  "waiters at a barrier go on only once it is released",
  "barrier under crashes and partitions",
  async (cfg) => {
    const holder = new Barrier(new HarnessConnection(cfg), "barrier");
    await holder.hold();
    let releasedMs = Infinity;
    const waiters = Array.from({ length: CONTENDERS }, async (_, me) => {
      const barrier = new Barrier(new HarnessConnection(cfg), "barrier");
      await barrier.wait();
      if (cfg.simulation.now() < releasedMs) cfg.fatal(`waiter ${me} passed the barrier held`);
      barrier.close();
    });
    await cfg.sleep(RUN_MS / 2);
    releasedMs = cfg.simulation.now();
    await holder.release();
    await Promise.all(waiters);
    // Down, it lets a newcomer through at once.
    await new Barrier(new HarnessConnection(cfg), "barrier").wait();
    holder.close();
  },
);

/** Keys of each configuration the ready-file test publishes. */
const CONFIG_KEYS = 4;

const readyConfigTest = recipesTest(
  "a reader of a ready-file configuration sees it whole, never older than before",
  "ready-file configuration under crashes and partitions",
  async (cfg, untilMs) => {
    const writer = cfg.makeClient(cfg.all());
    let published = 0;
    let reads = 0;
    const readers = Array.from({ length: CONTENDERS - 1 }, async (_, me) => {
      const connection = new HarnessConnection(cfg);
      const clerk = connection.makeClerk();
      let seen = 0;
      // Bounded by untilMs.
      while (cfg.simulation.now() < untilMs) {
        const config = await readConfig(connection, clerk, "config/");
        const version = Number(config.ready);
        const values = [...config.entries.values()];
        if (config.entries.size !== CONFIG_KEYS || values.some((v) => v !== config.ready)) {
          cfg.fatal(`reader ${me} saw version ${config.ready} as ${JSON.stringify(values)}`);
        }
        if (version < seen) cfg.fatal(`reader ${me} saw version ${version} after ${seen}`);
        seen = version;
        reads++;
        await cfg.sleep(cfg.randomInt(100));
      }
    });
    // Bounded by untilMs.
    while (cfg.simulation.now() < untilMs) {
      published++;
      const entries = new Map(
        Array.from({ length: CONFIG_KEYS }, (_, i) => [`k${i}`, `${published}`] as const),
      );
      await publishConfig(writer, "config/", entries, `${published}`);
    }
    await Promise.all(readers);
    if (published < 2 || reads < CONTENDERS) cfg.fatal(`${published} versions, ${reads} reads`);
    cfg.log(`  ${published} versions published, ${reads} reads`);
  },
);

/** The recipes' tests. */
export const recipesTests: readonly LabTest[] = [
  lockTest((connection, session, name) => new Mutex(connection, session, name)),
  staleHolderFenced,
  electionTest,
  counterTest,
  barrierTest,
  readyConfigTest,
];
