/**
 * Raft paper, section 5.4 (safety): the commit rule of 5.4.2 in the scenario of Figure 8, and
 * seeded randomized runs (loss, duplication, reordering, partitions, crashes) in which the test
 * network checks Election Safety, State Machine Safety and the persistence contract on every
 * step.
 */
import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import type { RestoredState } from "./storage.ts";
import { stateWithLog, TestNetwork } from "./testing/test_network.ts";

function termsOf(network: TestNetwork, id: number): number[] {
  const log = network.core(id).log;
  return log.slice(log.firstIndex, log.lastIndex + 1).map((entry) => entry.term);
}

/**
 * Figure 8 (c): S1 (peer 0) leads term 4 and has replicated index 2 (term 2) to a majority; S5
 * (peer 4), which holds index 2 with term 3, is down.
 */
function figure8(): TestNetwork {
  const restored = new Map<number, RestoredState>([
    [0, stateWithLog([1, 2], 3)],
    [1, stateWithLog([1, 2], 3)],
    [2, stateWithLog([1], 3)],
    [3, stateWithLog([1], 3)],
    [4, stateWithLog([1, 3], 3)],
  ]);
  const network = new TestNetwork({ size: 5, seed: 8, restored });
  network.crash(4);
  network.timeOut(0);
  network.deliverAll();
  assert.equal(network.core(0).role, "leader");
  assert.equal(network.core(0).term, 4);
  return network;
}

Deno.test("5.4.2: an entry of an old term is not committed by counting replicas (Figure 8)", () => {
  const network = figure8();
  network.run(6);
  for (const id of [0, 1, 2, 3]) {
    assert.deepEqual(termsOf(network, id), [1, 2], `peer ${id} holds index 2 from term 2`);
  }
  assert.equal(network.core(0).commitIndex, 0, "a majority holds index 2, yet it is not committed");

  // Figure 8 (d): why. S1 fails, S5 returns and may win with its term-3 entry.
  network.crash(0);
  network.restart(4);
  network.timeOut(4);
  network.deliverAll();
  network.timeOut(4);
  network.deliverAll();
  assert.equal(network.core(4).role, "leader");
  network.run(4);
  for (const id of [1, 2, 3, 4]) {
    assert.deepEqual(termsOf(network, id), [1, 3], `peer ${id} has index 2 replaced`);
  }
});

Deno.test("5.4.2: old entries commit once an entry of the current term commits (Figure 8 e)", () => {
  const network = figure8();
  const { index, term } = network.propose(0, "term 4");
  assert.deepEqual([index, term], [3, 4]);
  network.deliverAll();
  assert.equal(network.core(0).commitIndex, 3);
  const committed = ["command 1 of term 1", "command 2 of term 2", "term 4"];
  assert.deepEqual(network.applied(0), committed);

  // Now S5 cannot win: a majority holds a log more up to date than its own.
  network.crash(0);
  network.restart(4);
  network.run(80);
  const [leader] = network.leaders();
  assert.ok(leader !== undefined && leader !== 4, `leader is ${leader}`);
  network.propose(leader, "later");
  network.deliverAll();
  network.run(4);
  for (const id of [1, 2, 3, 4]) {
    assert.deepEqual(network.applied(id).slice(0, 3), committed, `peer ${id}`);
  }
});

Deno.test("5.4: a leader never overwrites or deletes its own entries", () => {
  const network = figure8();
  const before = network.core(0).log.slice(1, 3);
  // Heartbeat replies and refusals in every order must leave the leader's log alone.
  network.run(10);
  assert.deepEqual(network.core(0).log.slice(1, 3), before);
});

interface ChaosOptions {
  readonly seed: number;
  readonly rounds: number;
  readonly snapshotEveryEntries?: number;
}

/** One seeded run of loss, duplication, reordering, partitions and crashes. */
function chaos({ seed, rounds, snapshotEveryEntries }: ChaosOptions): TestNetwork {
  const network = new TestNetwork({ size: 5, seed, snapshotEveryEntries });
  const random = new SeededRandom(seed + 1_000);
  network.dropIf = () => random.next() < 0.1;
  const crashed = new Set<number>();
  let proposals = 0;
  for (let round = 0; round < rounds; round++) {
    network.tick();
    const [leader] = network.leaders();
    if (leader !== undefined && random.next() < 0.3) {
      network.propose(leader, `seed ${seed} command ${proposals++}`);
    }
    deliverShuffled(network, random);
    if (round % 50 === 49) shake(network, random, crashed);
  }
  for (const id of crashed) network.restart(id);
  for (const id of network.ids) network.heal(id);
  network.dropIf = () => false;
  return network;
}

/** Delivers most messages in flight in random order, some twice; a few wait for next round. */
function deliverShuffled(network: TestNetwork, random: SeededRandom): void {
  const count = network.inFlight.length;
  for (let delivery = 0; delivery < count && network.inFlight.length > 0; delivery++) {
    if (random.next() < 0.1) continue;
    const position = network.randomPosition();
    const message = network.inFlight[position];
    network.deliverOne(position);
    if (random.next() < 0.05) network.deliverMessage(message);
  }
}

/** Heals everyone, then cuts off or crashes a random minority or majority. */
function shake(network: TestNetwork, random: SeededRandom, crashed: Set<number>): void {
  for (const id of network.ids) network.heal(id);
  for (const id of crashed) network.restart(id);
  crashed.clear();
  const victims = random.int(4);
  for (let count = 0; count < victims; count++) {
    const id = random.int(network.ids.length);
    if (crashed.has(id)) continue;
    if (random.next() < 0.3) {
      network.crash(id);
      crashed.add(id);
    } else network.isolate(id);
  }
}

/** After the chaos: the group elects a leader, commits a new command, and all agree. */
function assertRecovers(network: TestNetwork, label: string): void {
  network.run(100);
  const [leader] = network.leaders();
  assert.ok(leader !== undefined, `${label}: no leader after healing`);
  const { index } = network.propose(leader, `${label}: final`);
  network.deliverAll();
  network.run(10);
  const reference = network.applied(leader);
  assert.equal(reference.length, index, `${label}: leader applied ${reference.length} of ${index}`);
  for (const id of network.ids) {
    assert.deepEqual(network.applied(id), reference, `${label}: peer ${id}`);
    assert.equal(network.core(id).commitIndex, index, `${label}: peer ${id} commit`);
  }
}

Deno.test("5.4: randomized runs keep every safety property and recover when healed", () => {
  for (let seed = 1; seed <= 6; seed++) {
    const network = chaos({ seed, rounds: 800 });
    assertRecovers(network, `seed ${seed}`);
  }
});

Deno.test("7: randomized runs with snapshots keep every safety property and recover", () => {
  for (let seed = 101; seed <= 106; seed++) {
    const network = chaos({ seed, rounds: 800, snapshotEveryEntries: 7 });
    assertRecovers(network, `seed ${seed}`);
    assert.ok(network.ids.some((id) => network.core(id).log.snapshotIndex > 0));
  }
});
