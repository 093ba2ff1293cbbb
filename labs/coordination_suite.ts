/**
 * Tests of the coordination service beyond the lab (issue 12), on the lab's harness: watches
 * see every change once and in revision order across leader crashes, restarts and partitions,
 * resume where they stopped and are told when the history no longer reaches back; leases end
 * after their time to live, not before, and never while kept alive, across failover. Parts
 * "watch" and "lease" of `dsys test kv`.
 *
 * @module
 */
import type { Clerk } from "../kv/clerk.ts";
import { prefixEnd } from "../kv/store.ts";
import { WatchCompactedError, type Watcher } from "../kv/watcher.ts";
import type { WatchEvent } from "../kv/watch_protocol.ts";
import { ELECTION_TIMEOUT_MS, type KvConfig, runKvTest } from "./kv_harness.ts";
import type { LabTest } from "./suite.ts";

/** How long the writers of the watch test run. */
const WRITE_MS = 4_000;
/** Writers of the watch test. */
const WRITERS = 3;
/** The watched prefix; writers also write outside it, which watchers must not see. */
const PREFIX = "w/";
/** Time to live of the lease tests' leases. */
const TTL_MS = 1_000;
/** How often a holder renews its lease: three times per time to live. */
const KEEPALIVE_MS = TTL_MS / 3;

/** Reads events from `watcher` until one at `revision` or later arrived; bounded by `limitMs`. */
async function watchUntil(
  cfg: KvConfig,
  watcher: Watcher,
  events: WatchEvent[],
  revision: number,
  limitMs: number,
): Promise<void> {
  const deadlineMs = cfg.simulation.now() + limitMs;
  while (watcher.nextRevision <= revision) {
    if (cfg.simulation.now() > deadlineMs) {
      cfg.fatal(`the watcher stopped at revision ${watcher.nextRevision}, short of ${revision}`);
    }
    events.push(...await watcher.next());
  }
}

/** The revision the service is at, read linearizably. */
async function currentRevision(clerk: Clerk): Promise<number> {
  const reply = await clerk.send({ kind: "range", key: "", value: "", end: "", limit: 1 });
  return reply.revision ?? 0;
}

/** Checks `events` hold each of `written` once, in increasing revisions, and nothing else. */
function checkEvents(cfg: KvConfig, events: readonly WatchEvent[], written: ReadonlySet<string>) {
  let last = { revision: 0, sub: -1 };
  const seen = new Set<string>();
  for (const event of events) {
    const after = event.revision > last.revision ||
      (event.revision === last.revision && event.sub > last.sub);
    if (!after) {
      cfg.fatal(`event at ${event.revision}.${event.sub} came after ${last.revision}.${last.sub}`);
    }
    last = event;
    if (!event.key.startsWith(PREFIX)) cfg.fatal(`event for ${event.key}, outside ${PREFIX}`);
    if (seen.has(event.value)) cfg.fatal(`event ${event.value} came twice`);
    if (!written.has(event.value)) cfg.fatal(`event ${event.value} was never written`);
    seen.add(event.value);
  }
  for (const value of written) if (!seen.has(value)) cfg.fatal(`no event for write ${value}`);
}

/**
 * Until `untilMs`: now and then kills the leader (or a random server) and restarts it, or cuts
 * the leader off in a minority and heals the partition.
 */
export async function chaos(cfg: KvConfig, untilMs: number): Promise<void> {
  // Bounded by `untilMs`: every pass sleeps.
  while (cfg.simulation.now() < untilMs) {
    await cfg.sleep(ELECTION_TIMEOUT_MS / 2 + cfg.randomInt(ELECTION_TIMEOUT_MS));
    const { isLeader, id } = cfg.leader();
    const victim = isLeader ? id : cfg.randomInt(cfg.n);
    if (cfg.randomInt(2) === 0) {
      cfg.shutdownServer(victim);
      await cfg.sleep(cfg.randomInt(ELECTION_TIMEOUT_MS));
      cfg.startServer(victim);
      cfg.connectAll();
    } else {
      const { p1, p2 } = cfg.makePartition();
      cfg.partition(p1, p2);
      await cfg.sleep(cfg.randomInt(ELECTION_TIMEOUT_MS));
      cfg.connectAll();
    }
  }
}

const watchAcrossFaults: LabTest = {
  name: "a watch sees every change once, in order, across crashes and partitions",
  part: "watch",
  run: (context) =>
    runKvTest(
      context,
      { servers: 5, unreliable: true, maxraftstate: 2_000, historyRevisions: 100_000 },
      async (cfg) => {
        cfg.begin("Test: watch across crashes, restarts and partitions (watch)");
        const live = cfg.makeWatcher({ key: PREFIX, end: prefixEnd(PREFIX) }, 1);
        const liveEvents: WatchEvent[] = [];
        const written = new Set<string>();
        const untilMs = cfg.simulation.now() + WRITE_MS;
        let watching = true;
        const watching$ = (async () => {
          // Bounded by the test's time limit; ends once the writers are done.
          while (watching) liveEvents.push(...await live.next());
        })();
        await Promise.all([
          chaos(cfg, untilMs),
          ...Array.from({ length: WRITERS }, async (_, me) => {
            const clerk = cfg.makeClient(cfg.all());
            for (let i = 0; cfg.simulation.now() < untilMs; i++) {
              const inside = i % 4 !== 3;
              const key = inside ? `${PREFIX}${me}/${i % 5}` : `other/${me}`;
              await clerk.put(key, `${me}-${i}`);
              if (inside) written.add(`${me}-${i}`);
            }
          }),
        ]);
        cfg.connectAll();
        const reader = cfg.makeClient(cfg.all());
        const finalRevision = await currentRevision(reader);
        watching = false;
        await watching$;
        await watchUntil(cfg, live, liveEvents, finalRevision, 10 * ELECTION_TIMEOUT_MS);
        checkEvents(cfg, liveEvents, written);
        // A watcher started afterwards reads the same history from whichever servers answer.
        const replay = cfg.makeWatcher({ key: PREFIX, end: prefixEnd(PREFIX) }, 1);
        const replayEvents: WatchEvent[] = [];
        await watchUntil(cfg, replay, replayEvents, finalRevision, 10 * ELECTION_TIMEOUT_MS);
        checkEvents(cfg, replayEvents, written);
        cfg.log(`  ${liveEvents.length} events to revision ${finalRevision}`);
        cfg.end();
      },
    ),
};

const watchResume: LabTest = {
  name: "a watch resumes where it stopped; a start the history no longer holds is refused",
  part: "watch",
  run: (context) =>
    runKvTest(
      context,
      { servers: 3, unreliable: false, maxraftstate: -1, historyRevisions: 20 },
      async (cfg) => {
        cfg.begin("Test: watch resume and compaction (watch)");
        const clerk = cfg.makeClient(cfg.all());
        const range = { key: PREFIX, end: prefixEnd(PREFIX) };
        const written = new Set<string>();
        const events: WatchEvent[] = [];
        for (let i = 0; i < 10; i++) {
          await clerk.put(`${PREFIX}${i}`, `a-${i}`);
          written.add(`a-${i}`);
        }
        const first = cfg.makeWatcher(range, 1);
        await watchUntil(cfg, first, events, await currentRevision(clerk), ELECTION_TIMEOUT_MS);
        cfg.deleteWatcher(first);
        for (let i = 0; i < 5; i++) {
          await clerk.put(`${PREFIX}${i}`, `b-${i}`);
          written.add(`b-${i}`);
        }
        const resumed = cfg.makeWatcher(range, first.nextRevision);
        await watchUntil(cfg, resumed, events, await currentRevision(clerk), ELECTION_TIMEOUT_MS);
        checkEvents(cfg, events, written);
        // History is compacted in steps of 100 revisions beyond the 20 kept.
        for (let i = 0; i < 130; i++) await clerk.put(`${PREFIX}${i}`, `c-${i}`);
        const late = cfg.makeWatcher(range, 1);
        try {
          await late.next();
          cfg.fatal("a watch from revision 1 was served after 145 revisions with 20 kept");
        } catch (error) {
          if (!(error instanceof WatchCompactedError)) throw error;
          cfg.log(`  ${error.message}`);
        }
        cfg.end();
      },
    ),
};

const watchAfterLeaderCrash: LabTest = {
  name: "a watch sees a write acknowledged just before the leader crashed, with nothing after it",
  part: "watch",
  run: (context) =>
    runKvTest(
      context,
      { servers: 3, unreliable: false, maxraftstate: -1, historyRevisions: 1_000 },
      async (cfg) => {
        cfg.begin("Test: watch after the leader crashed (watch)");
        const clerk = cfg.makeClient(cfg.all());
        await clerk.put(`${PREFIX}0`, "before");
        const watcher = cfg.makeWatcher({ key: PREFIX, end: prefixEnd(PREFIX) }, 1);
        const events: WatchEvent[] = [];
        await watchUntil(cfg, watcher, events, 1, ELECTION_TIMEOUT_MS);
        // The leader acknowledges the put and dies before its followers learn it is committed;
        // a new leader commits it only with an entry of its own term, and nobody writes.
        await clerk.put(`${PREFIX}1`, "acknowledged");
        cfg.shutdownServer(cfg.leader().id);
        await watchUntil(cfg, watcher, events, 2, 10 * ELECTION_TIMEOUT_MS);
        checkEvents(cfg, events, new Set(["before", "acknowledged"]));
        cfg.end();
      },
    ),
};

/** Linearizable gets of `key` through each server alone: what every replica's state holds. */
async function valueAtEveryServer(clerks: readonly Clerk[], key: string) {
  return await Promise.all(clerks.map((clerk) => clerk.get(key)));
}

const leaseKeptAlive: LabTest = {
  name: "a lease kept alive across failover holds its keys; once it lapses they go after the TTL",
  part: "lease",
  run: (context) =>
    runKvTest(context, { servers: 5, unreliable: false, maxraftstate: -1 }, async (cfg) => {
      cfg.begin("Test: lease keep-alive across failover, then expiry (lease)");
      const holder = cfg.makeClient(cfg.all());
      // One clerk per server: each read is answered from that server's own state.
      const readers = cfg.all().map((i) => cfg.makeClient([i]));
      const lease = await holder.leaseGrant(TTL_MS);
      await holder.send({ kind: "put", key: "owner", value: "me", lease });
      let lastKeepAliveMs = cfg.simulation.now();
      // Three times the TTL, with the leader killed half-way.
      for (let round = 0; round < 9; round++) {
        if (round === 4) {
          const { id } = cfg.leader();
          cfg.shutdownServer(id);
          cfg.startServer(id);
          cfg.connectAll();
        }
        if (await holder.leaseKeepAlive(lease) === null) {
          cfg.fatal(`lease ${lease} ended while kept alive`);
        }
        lastKeepAliveMs = cfg.simulation.now();
        const values = await valueAtEveryServer(readers, "owner");
        if (values.some((value) => value !== "me")) {
          cfg.fatal(`the key of a lease kept alive read ${JSON.stringify(values)}`);
        }
        await cfg.sleep(KEEPALIVE_MS);
      }
      // The holder stops. Well inside the TTL its key is still there everywhere…
      await cfg.sleep(lastKeepAliveMs + TTL_MS / 2 - cfg.simulation.now());
      const before = await valueAtEveryServer(readers, "owner");
      if (before.some((value) => value !== "me")) {
        cfg.fatal(`the key vanished before the TTL: ${JSON.stringify(before)}`);
      }
      // …and soon after it, gone everywhere, with the lease.
      await cfg.sleep(lastKeepAliveMs + 2 * TTL_MS - cfg.simulation.now());
      const after = await valueAtEveryServer(readers, "owner");
      if (after.some((value) => value !== "")) {
        cfg.fatal(`the key outlived its lease: ${JSON.stringify(after)}`);
      }
      if (await holder.leaseKeepAlive(lease) !== null) cfg.fatal(`lease ${lease} outlived its TTL`);
      cfg.end();
    }),
};

/** The tests of watches and leases. */
export const coordinationTests: readonly LabTest[] = [
  watchAcrossFaults,
  watchResume,
  watchAfterLeaderCrash,
  leaseKeptAlive,
];
