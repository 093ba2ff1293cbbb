/**
 * The lab's Raft tests (raft/test_test.go of 6.5840, parts 2A–2D), ported test by test with the
 * lab's names, steps, constants and messages, on virtual time (see tests/raft_harness.ts).
 * Goroutines become async functions running side by side on the simulation.
 *
 * @module
 */
import {
  MAX_LOG_SIZE,
  RAFT_ELECTION_TIMEOUT_MS as ELECTION_MS,
  runRaftTest,
  SNAPSHOT_INTERVAL,
} from "./raft_harness.ts";
import type { RaftConfig } from "./raft_harness.ts";
import type { LabRaft } from "../lab_api/lab_raft.ts";
import type { LabTest, TestContext } from "./suite.ts";

interface Setup {
  readonly servers: number;
  readonly unreliable?: boolean;
  readonly snapshot?: boolean;
}

/** A lab test: `body` runs between `begin` and `end` on a fresh config. */
function labTest(
  part: string,
  name: string,
  setup: Setup,
  body: (cfg: RaftConfig) => Promise<void>,
): LabTest {
  return {
    name,
    part,
    run: (context: TestContext) =>
      runRaftTest(context, {
        servers: setup.servers,
        unreliable: setup.unreliable ?? false,
        snapshot: setup.snapshot ?? false,
      }, async (cfg) => {
        cfg.begin(`Test (${part}): ${name}`);
        await body(cfg);
        cfg.end();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// 2A: leader election

const initialElection = labTest("2A", "initial election", { servers: 3 }, async (cfg) => {
  // Is a leader elected?
  await cfg.checkOneLeader();
  // Sleep a bit to avoid racing with followers learning of the election, then check that all
  // peers agree on the term.
  await cfg.sleep(50);
  const term1 = cfg.checkTerms();
  if (term1 < 1) cfg.fatal(`term is ${term1}, but should be at least 1`);
  // Do the leader and term stay the same with no network failure? (The lab only warns.)
  await cfg.sleep(2 * ELECTION_MS);
  cfg.checkTerms();
  // There should still be a leader.
  await cfg.checkOneLeader();
});

const reElection = labTest("2A", "election after network failure", { servers: 3 }, async (cfg) => {
  const servers = cfg.n;
  const leader1 = await cfg.checkOneLeader();
  // If the leader disconnects, a new one should be elected.
  cfg.disconnect(leader1);
  await cfg.checkOneLeader();
  // If the old leader rejoins, that shouldn't disturb the new leader.
  cfg.connect(leader1);
  const leader2 = await cfg.checkOneLeader();
  // If there's no quorum, no new leader should be elected.
  cfg.disconnect(leader2);
  cfg.disconnect((leader2 + 1) % servers);
  await cfg.sleep(2 * ELECTION_MS);
  // The one connected server must not think it is the leader.
  cfg.checkNoLeader();
  // If a quorum arises, it should elect a leader.
  cfg.connect((leader2 + 1) % servers);
  await cfg.checkOneLeader();
  // Re-join of the last node shouldn't prevent a leader from existing.
  cfg.connect(leader2);
  await cfg.checkOneLeader();
});

const manyElections = labTest("2A", "multiple elections", { servers: 7 }, async (cfg) => {
  const servers = cfg.n;
  await cfg.checkOneLeader();
  const iterations = 10;
  for (let iteration = 1; iteration < iterations; iteration++) {
    // Disconnect three nodes.
    const i1 = cfg.randomInt() % servers;
    const i2 = cfg.randomInt() % servers;
    const i3 = cfg.randomInt() % servers;
    cfg.disconnect(i1);
    cfg.disconnect(i2);
    cfg.disconnect(i3);
    // Either the current leader should still be alive, or the remaining four should elect one.
    await cfg.checkOneLeader();
    cfg.connect(i1);
    cfg.connect(i2);
    cfg.connect(i3);
  }
  await cfg.checkOneLeader();
});

// ---------------------------------------------------------------------------------------------
// 2B: log replication

const basicAgree = labTest("2B", "basic agreement", { servers: 3 }, async (cfg) => {
  const iterations = 3;
  for (let index = 1; index < iterations + 1; index++) {
    const { count } = cfg.nCommitted(index);
    if (count > 0) cfg.fatal("some have committed before Start()");
    const committedIndex = await cfg.one(index * 100, cfg.n, false);
    if (committedIndex !== index) cfg.fatal(`got index ${committedIndex} but expected ${index}`);
  }
});

// Checks, by counting the bytes of RPCs, that each command is sent to each peer just once.
const rpcBytes = labTest("2B", "RPC byte count", { servers: 3 }, async (cfg) => {
  await cfg.one(99, cfg.n, false);
  const bytes0 = cfg.bytesTotal();
  const iterations = 10;
  let sent = 0;
  for (let index = 2; index < iterations + 2; index++) {
    const command = cfg.randomString(5000);
    const committedIndex = await cfg.one(command, cfg.n, false);
    if (committedIndex !== index) cfg.fatal(`got index ${committedIndex} but expected ${index}`);
    sent += command.length;
  }
  const got = cfg.bytesTotal() - bytes0;
  const expected = cfg.n * sent;
  if (got > expected + 50000) cfg.fatal(`too many RPC bytes; got ${got}, expected ${expected}`);
});

// Just failure of followers.
const followerFailure = labTest(
  "2B",
  "test progressive failure of followers",
  { servers: 3 },
  async (cfg) => {
    const servers = cfg.n;
    await cfg.one(101, servers, false);
    // Disconnect one follower from the network.
    const leader1 = await cfg.checkOneLeader();
    cfg.disconnect((leader1 + 1) % servers);
    // The leader and remaining follower should agree despite the disconnected follower.
    await cfg.one(102, servers - 1, false);
    await cfg.sleep(ELECTION_MS);
    await cfg.one(103, servers - 1, false);
    // Disconnect the remaining follower.
    const leader2 = await cfg.checkOneLeader();
    cfg.disconnect((leader2 + 1) % servers);
    cfg.disconnect((leader2 + 2) % servers);
    // Submit a command.
    const { index, isLeader } = raftOf(cfg, leader2).start(104);
    if (!isLeader) cfg.fatal("leader rejected Start()");
    if (index !== 4) cfg.fatal(`expected index 4, got ${index}`);
    await cfg.sleep(2 * ELECTION_MS);
    // Check that command 104 did not commit.
    const { count } = cfg.nCommitted(index);
    if (count > 0) cfg.fatal(`${count} committed but no majority`);
  },
);

// Just failure of leaders.
const leaderFailure = labTest("2B", "test failure of leaders", { servers: 3 }, async (cfg) => {
  const servers = cfg.n;
  await cfg.one(101, servers, false);
  // Disconnect the first leader.
  const leader1 = await cfg.checkOneLeader();
  cfg.disconnect(leader1);
  // The remaining followers should elect a new leader.
  await cfg.one(102, servers - 1, false);
  await cfg.sleep(ELECTION_MS);
  await cfg.one(103, servers - 1, false);
  // Disconnect the new leader.
  const leader2 = await cfg.checkOneLeader();
  cfg.disconnect(leader2);
  // Submit a command to each server.
  for (let i = 0; i < servers; i++) raftOf(cfg, i).start(104);
  await cfg.sleep(2 * ELECTION_MS);
  // Check that command 104 did not commit.
  const { count } = cfg.nCommitted(4);
  if (count > 0) cfg.fatal(`${count} committed but no majority`);
});

// A follower participates after disconnect and re-connect.
const failAgree = labTest(
  "2B",
  "agreement after follower reconnects",
  { servers: 3 },
  async (cfg) => {
    const servers = cfg.n;
    await cfg.one(101, servers, false);
    // Disconnect one follower from the network.
    const leader = await cfg.checkOneLeader();
    cfg.disconnect((leader + 1) % servers);
    // The leader and remaining follower should agree despite the disconnected follower.
    await cfg.one(102, servers - 1, false);
    await cfg.one(103, servers - 1, false);
    await cfg.sleep(ELECTION_MS);
    await cfg.one(104, servers - 1, false);
    await cfg.one(105, servers - 1, false);
    // Re-connect.
    cfg.connect((leader + 1) % servers);
    // The full set of servers should keep previous agreements and agree on new commands.
    await cfg.one(106, servers, true);
    await cfg.sleep(ELECTION_MS);
    await cfg.one(107, servers, true);
  },
);

const failNoAgree = labTest(
  "2B",
  "no agreement if too many followers disconnect",
  { servers: 5 },
  async (cfg) => {
    const servers = cfg.n;
    await cfg.one(10, servers, false);
    // 3 of 5 followers disconnect.
    const leader = await cfg.checkOneLeader();
    cfg.disconnect((leader + 1) % servers);
    cfg.disconnect((leader + 2) % servers);
    cfg.disconnect((leader + 3) % servers);
    const { index, isLeader } = raftOf(cfg, leader).start(20);
    if (!isLeader) cfg.fatal("leader rejected Start()");
    if (index !== 2) cfg.fatal(`expected index 2, got ${index}`);
    await cfg.sleep(2 * ELECTION_MS);
    const { count } = cfg.nCommitted(index);
    if (count > 0) cfg.fatal(`${count} committed but no majority`);
    // Repair.
    cfg.connect((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.connect((leader + 3) % servers);
    // The disconnected majority may have chosen a leader from among their own ranks,
    // forgetting index 2.
    const leader2 = await cfg.checkOneLeader();
    const started = raftOf(cfg, leader2).start(30);
    if (!started.isLeader) cfg.fatal("leader2 rejected Start()");
    if (started.index < 2 || started.index > 3) cfg.fatal(`unexpected index ${started.index}`);
    await cfg.one(1000, servers, true);
  },
);

const concurrentStarts = labTest("2B", "concurrent Start()s", { servers: 3 }, async (cfg) => {
  const servers = cfg.n;
  let success = false;
  attempts: for (let attempt = 0; attempt < 5; attempt++) {
    // Give the solution some time to settle.
    if (attempt > 0) await cfg.sleep(3000);
    const leader = await cfg.checkOneLeader();
    const first = raftOf(cfg, leader).start(1);
    // The leader moved on really quickly.
    if (!first.isLeader) continue;
    const term = first.term;
    const iterations = 5;
    const indexes: number[] = [];
    // The lab's goroutines each call Start once; here they run one after another.
    for (let i = 0; i < iterations; i++) {
      const started = raftOf(cfg, leader).start(100 + i);
      if (started.term !== term || !started.isLeader) continue;
      indexes.push(started.index);
    }
    for (let j = 0; j < servers; j++) {
      // The term changed: low RPC counts can't be expected.
      if (raftOf(cfg, j).getState().term !== term) continue attempts;
    }
    let failed = false;
    const commands: number[] = [];
    for (const index of indexes) {
      const command = await cfg.wait(index, servers, term);
      if (typeof command !== "number") cfg.fatal(`value ${String(command)} is not an int`);
      if (command === -1) {
        // Peers moved on to later terms, so not all Start()s can be expected to succeed.
        failed = true;
        break;
      }
      commands.push(command as number);
    }
    if (failed) continue;
    for (let i = 0; i < iterations; i++) {
      const expected = 100 + i;
      if (!commands.includes(expected)) cfg.fatal(`cmd ${expected} missing in ${commands}`);
    }
    success = true;
    break;
  }
  if (!success) cfg.fatal("term changed too often");
});

const rejoin = labTest("2B", "rejoin of partitioned leader", { servers: 3 }, async (cfg) => {
  const servers = cfg.n;
  await cfg.one(101, servers, true);
  // Leader network failure.
  const leader1 = await cfg.checkOneLeader();
  cfg.disconnect(leader1);
  // Make the old leader try to agree on some entries.
  raftOf(cfg, leader1).start(102);
  raftOf(cfg, leader1).start(103);
  raftOf(cfg, leader1).start(104);
  // The new leader commits, also for index 2.
  await cfg.one(103, 2, true);
  // New leader network failure.
  const leader2 = await cfg.checkOneLeader();
  cfg.disconnect(leader2);
  // Old leader connected again.
  cfg.connect(leader1);
  await cfg.one(104, 2, true);
  // All together now.
  cfg.connect(leader2);
  await cfg.one(105, servers, true);
});

const backup = labTest(
  "2B",
  "leader backs up quickly over incorrect follower logs",
  { servers: 5 },
  async (cfg) => {
    const servers = cfg.n;
    await cfg.one(cfg.randomInt(), servers, true);
    // Put the leader and one follower in a partition.
    const leader1 = await cfg.checkOneLeader();
    cfg.disconnect((leader1 + 2) % servers);
    cfg.disconnect((leader1 + 3) % servers);
    cfg.disconnect((leader1 + 4) % servers);
    // Submit lots of commands that won't commit.
    for (let i = 0; i < 50; i++) raftOf(cfg, leader1).start(cfg.randomInt());
    await cfg.sleep(ELECTION_MS / 2);
    cfg.disconnect((leader1 + 0) % servers);
    cfg.disconnect((leader1 + 1) % servers);
    // Allow the other partition to recover.
    cfg.connect((leader1 + 2) % servers);
    cfg.connect((leader1 + 3) % servers);
    cfg.connect((leader1 + 4) % servers);
    // Lots of successful commands to the new group.
    for (let i = 0; i < 50; i++) await cfg.one(cfg.randomInt(), 3, true);
    // Now another partitioned leader and one follower.
    const leader2 = await cfg.checkOneLeader();
    let other = (leader1 + 2) % servers;
    if (leader2 === other) other = (leader2 + 1) % servers;
    cfg.disconnect(other);
    // Lots more commands that won't commit.
    for (let i = 0; i < 50; i++) raftOf(cfg, leader2).start(cfg.randomInt());
    await cfg.sleep(ELECTION_MS / 2);
    // Bring the original leader back to life.
    for (let i = 0; i < servers; i++) cfg.disconnect(i);
    cfg.connect((leader1 + 0) % servers);
    cfg.connect((leader1 + 1) % servers);
    cfg.connect(other);
    // Lots of successful commands to the new group.
    for (let i = 0; i < 50; i++) await cfg.one(cfg.randomInt(), 3, true);
    // Now everyone.
    for (let i = 0; i < servers; i++) cfg.connect(i);
    await cfg.one(cfg.randomInt(), servers, true);
  },
);

const count = labTest("2B", "RPC counts aren't too high", { servers: 3 }, async (cfg) => {
  const servers = cfg.n;
  const rpcs = () => {
    let total = 0;
    for (let j = 0; j < servers; j++) total += cfg.rpcCount(j);
    return total;
  };
  let leader = await cfg.checkOneLeader();
  let total1 = rpcs();
  if (total1 > 30 || total1 < 1) {
    cfg.fatal(`too many or few RPCs (${total1}) to elect initial leader`);
  }
  let total2 = 0;
  let success = false;
  attempts: for (let attempt = 0; attempt < 5; attempt++) {
    // Give the solution some time to settle.
    if (attempt > 0) await cfg.sleep(3000);
    leader = await cfg.checkOneLeader();
    total1 = rpcs();
    const iterations = 10;
    const first = raftOf(cfg, leader).start(1);
    // The leader moved on really quickly.
    if (!first.isLeader) continue;
    const { index: startIndex, term } = first;
    const commands: number[] = [];
    for (let i = 1; i < iterations + 2; i++) {
      const command = cfg.randomInt();
      commands.push(command as number);
      const started = raftOf(cfg, leader).start(command);
      // The term changed while starting, or this peer no longer leads.
      if (started.term !== term || !started.isLeader) continue attempts;
      if (startIndex + i !== started.index) cfg.fatal("Start() failed");
    }
    for (let i = 1; i < iterations + 1; i++) {
      const command = await cfg.wait(startIndex + i, servers, term);
      if (command !== commands[i - 1]) {
        // The term changed: try again.
        if (command === -1) continue attempts;
        cfg.fatal(
          `wrong value ${command} committed for index ${startIndex + i}; expected ${commands}`,
        );
      }
    }
    let failed = false;
    total2 = 0;
    for (let j = 0; j < servers; j++) {
      // The term changed: low RPC counts can't be expected (keep counting for total2).
      if (raftOf(cfg, j).getState().term !== term) failed = true;
      total2 += cfg.rpcCount(j);
    }
    if (failed) continue;
    if (total2 - total1 > (iterations + 1 + 3) * 3) {
      cfg.fatal(`too many RPCs (${total2 - total1}) for ${iterations} entries`);
    }
    success = true;
    break;
  }
  if (!success) cfg.fatal("term changed too often");
  await cfg.sleep(ELECTION_MS);
  let total3 = 0;
  for (let j = 0; j < servers; j++) total3 += cfg.rpcCount(j);
  if (total3 - total2 > 3 * 20) {
    cfg.fatal(`too many RPCs (${total3 - total2}) for 1 second of idleness`);
  }
});

// ---------------------------------------------------------------------------------------------
// 2C: persistence

const persist1 = labTest("2C", "basic persistence", { servers: 3 }, async (cfg) => {
  const servers = cfg.n;
  await cfg.one(11, servers, true);
  // Crash and re-start all.
  for (let i = 0; i < servers; i++) cfg.start1(i);
  for (let i = 0; i < servers; i++) {
    cfg.disconnect(i);
    cfg.connect(i);
  }
  await cfg.one(12, servers, true);
  const leader1 = await cfg.checkOneLeader();
  cfg.disconnect(leader1);
  cfg.start1(leader1);
  cfg.connect(leader1);
  await cfg.one(13, servers, true);
  const leader2 = await cfg.checkOneLeader();
  cfg.disconnect(leader2);
  await cfg.one(14, servers - 1, true);
  cfg.start1(leader2);
  cfg.connect(leader2);
  // Wait for leader2 to join before killing i3.
  await cfg.wait(4, servers, -1);
  const i3 = (await cfg.checkOneLeader() + 1) % servers;
  cfg.disconnect(i3);
  await cfg.one(15, servers - 1, true);
  cfg.start1(i3);
  cfg.connect(i3);
  await cfg.one(16, servers, true);
});

const persist2 = labTest("2C", "more persistence", { servers: 5 }, async (cfg) => {
  const servers = cfg.n;
  let index = 1;
  for (let iteration = 0; iteration < 5; iteration++) {
    await cfg.one(10 + index, servers, true);
    index++;
    const leader1 = await cfg.checkOneLeader();
    cfg.disconnect((leader1 + 1) % servers);
    cfg.disconnect((leader1 + 2) % servers);
    await cfg.one(10 + index, servers - 2, true);
    index++;
    cfg.disconnect((leader1 + 0) % servers);
    cfg.disconnect((leader1 + 3) % servers);
    cfg.disconnect((leader1 + 4) % servers);
    cfg.start1((leader1 + 1) % servers);
    cfg.start1((leader1 + 2) % servers);
    cfg.connect((leader1 + 1) % servers);
    cfg.connect((leader1 + 2) % servers);
    await cfg.sleep(ELECTION_MS);
    cfg.start1((leader1 + 3) % servers);
    cfg.connect((leader1 + 3) % servers);
    await cfg.one(10 + index, servers - 2, true);
    index++;
    cfg.connect((leader1 + 4) % servers);
    cfg.connect((leader1 + 0) % servers);
  }
  await cfg.one(1000, servers, true);
});

const persist3 = labTest(
  "2C",
  "partitioned leader and one follower crash, leader restarts",
  { servers: 3 },
  async (cfg) => {
    const servers = cfg.n;
    await cfg.one(101, 3, true);
    const leader = await cfg.checkOneLeader();
    cfg.disconnect((leader + 2) % servers);
    await cfg.one(102, 2, true);
    cfg.crash1((leader + 0) % servers);
    cfg.crash1((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.start1((leader + 0) % servers);
    cfg.connect((leader + 0) % servers);
    await cfg.one(103, 2, true);
    cfg.start1((leader + 1) % servers);
    cfg.connect((leader + 1) % servers);
    await cfg.one(104, servers, true);
  },
);

/**
 * The scenarios of Figure 8 of the extended Raft paper. Each iteration asks a leader, if there
 * is one, to insert a command; that leader then fails quickly with high probability (perhaps
 * before committing it), or after a while with low probability (most likely after). If too few
 * servers are alive for a majority, perhaps start one. A leader of a new term may try to finish
 * replicating entries that were not committed yet.
 */
const figure8 = labTest("2C", "Figure 8", { servers: 5 }, async (cfg) => {
  const servers = cfg.n;
  await cfg.one(cfg.randomInt(), 1, true);
  let up = servers;
  for (let iteration = 0; iteration < 1000; iteration++) {
    let leader = -1;
    for (let i = 0; i < servers; i++) {
      const raft = cfg.rafts[i];
      if (raft !== null && raft.start(cfg.randomInt()).isLeader) leader = i;
    }
    await cfg.sleep(figure8DelayMs(cfg));
    if (leader !== -1) {
      cfg.crash1(leader);
      up -= 1;
    }
    if (up < 3) {
      const s = cfg.randomInt() % servers;
      if (cfg.rafts[s] === null) {
        cfg.start1(s);
        cfg.connect(s);
        up += 1;
      }
    }
  }
  for (let i = 0; i < servers; i++) {
    if (cfg.rafts[i] === null) {
      cfg.start1(i);
      cfg.connect(i);
    }
  }
  await cfg.one(cfg.randomInt(), servers, true);
});

/** Mostly a short pause (0–12 ms), one time in ten up to half an election timeout. */
function figure8DelayMs(cfg: RaftConfig): number {
  if (cfg.randomInt() % 1000 < 100) return cfg.randomInt() % (ELECTION_MS / 2);
  return cfg.randomInt() % 13;
}

const unreliableAgree = labTest(
  "2C",
  "unreliable agreement",
  { servers: 5, unreliable: true },
  async (cfg) => {
    const clients: Promise<number>[] = [];
    for (let iteration = 1; iteration < 50; iteration++) {
      for (let j = 0; j < 4; j++) clients.push(cfg.one(100 * iteration + j, 1, true));
      await cfg.one(iteration, 1, true);
    }
    cfg.setUnreliable(false);
    await Promise.all(clients);
    await cfg.one(100, cfg.n, true);
  },
);

const figure8Unreliable = labTest(
  "2C",
  "Figure 8 (unreliable)",
  { servers: 5, unreliable: true },
  async (cfg) => {
    const servers = cfg.n;
    await cfg.one(cfg.randomInt() % 10000, 1, true);
    let up = servers;
    for (let iteration = 0; iteration < 1000; iteration++) {
      if (iteration === 200) cfg.setLongReordering(true);
      let leader = -1;
      for (let i = 0; i < servers; i++) {
        const { isLeader } = raftOf(cfg, i).start(cfg.randomInt() % 10000);
        if (isLeader && cfg.connected[i]) leader = i;
      }
      await cfg.sleep(figure8DelayMs(cfg));
      if (leader !== -1 && cfg.randomInt() % 1000 < ELECTION_MS / 2) {
        cfg.disconnect(leader);
        up -= 1;
      }
      if (up < 3) {
        const s = cfg.randomInt() % servers;
        if (!cfg.connected[s]) {
          cfg.connect(s);
          up += 1;
        }
      }
    }
    for (let i = 0; i < servers; i++) {
      if (!cfg.connected[i]) cfg.connect(i);
    }
    await cfg.one(cfg.randomInt() % 10000, servers, true);
  },
);

/** Churn: clients submit commands while servers are cut off, crashed and restarted. */
async function churn(cfg: RaftConfig): Promise<void> {
  const servers = cfg.n;
  const stop = { value: false };
  const clientCount = 3;
  const clients: Promise<number[]>[] = [];
  for (let me = 0; me < clientCount; me++) clients.push(churnClient(cfg, me, stop));
  for (let iteration = 0; iteration < 20; iteration++) {
    if (cfg.randomInt() % 1000 < 200) cfg.disconnect(cfg.randomInt() % servers);
    if (cfg.randomInt() % 1000 < 500) {
      const i = cfg.randomInt() % servers;
      if (cfg.rafts[i] === null) cfg.start1(i);
      cfg.connect(i);
    }
    if (cfg.randomInt() % 1000 < 200) {
      const i = cfg.randomInt() % servers;
      if (cfg.rafts[i] !== null) cfg.crash1(i);
    }
    // Crash and restart often enough that the peers cannot settle, but not so often that
    // they can never keep up: a little under the election timeout.
    await cfg.sleep((ELECTION_MS * 7) / 10);
  }
  await cfg.sleep(ELECTION_MS);
  cfg.setUnreliable(false);
  for (let i = 0; i < servers; i++) {
    if (cfg.rafts[i] === null) cfg.start1(i);
    cfg.connect(i);
  }
  stop.value = true;
  const values: number[] = [];
  for (const client of clients) values.push(...await client);
  await cfg.sleep(ELECTION_MS);
  const lastIndex = await cfg.one(cfg.randomInt(), servers, true);
  const really: number[] = [];
  for (let index = 1; index <= lastIndex; index++) {
    const value = await cfg.wait(index, servers, -1);
    if (typeof value !== "number") cfg.fatal("not an int");
    really.push(value);
  }
  for (const value of values) {
    if (!really.includes(value)) cfg.fatal("didn't find a value");
  }
}

/** One churn client: submits to whoever claims to lead; returns the values it saw committed. */
async function churnClient(
  cfg: RaftConfig,
  me: number,
  stop: { value: boolean },
): Promise<number[]> {
  const values: number[] = [];
  while (!stop.value) {
    const x = cfg.randomInt();
    let index = -1;
    let ok = false;
    for (let i = 0; i < cfg.n; i++) {
      // Try them all: maybe one of them is a leader.
      const started = cfg.rafts[i]?.start(x);
      if (started?.isLeader) {
        ok = true;
        index = started.index;
      }
    }
    if (!ok) {
      await cfg.sleep(79 + me * 17);
      continue;
    }
    // Maybe the leader will commit the value, maybe not; don't wait forever.
    for (const delayMs of [10, 20, 50, 100, 200]) {
      const { count, command } = cfg.nCommitted(index);
      if (count > 0) {
        if (typeof command !== "number") cfg.fatal("wrong command type");
        if (command === x) values.push(x);
        break;
      }
      await cfg.sleep(delayMs);
    }
  }
  return values;
}

const reliableChurn = labTest("2C", "churn", { servers: 5 }, churn);

const unreliableChurn = labTest(
  "2C",
  "unreliable churn",
  { servers: 5, unreliable: true },
  churn,
);

// ---------------------------------------------------------------------------------------------
// 2D: log compaction

/** The shared body of the install-snapshot tests. */
function snapshotTest(
  name: string,
  disconnect: boolean,
  reliable: boolean,
  crash: boolean,
): LabTest {
  return labTest("2D", name, { servers: 3, unreliable: !reliable, snapshot: true }, async (cfg) => {
    const servers = cfg.n;
    const iterations = 30;
    await cfg.one(cfg.randomInt(), servers, true);
    let leader1 = await cfg.checkOneLeader();
    for (let i = 0; i < iterations; i++) {
      let victim = (leader1 + 1) % servers;
      let sender = leader1;
      if (i % 3 === 1) {
        sender = (leader1 + 1) % servers;
        victim = leader1;
      }
      if (disconnect) {
        cfg.disconnect(victim);
        await cfg.one(cfg.randomInt(), servers - 1, true);
      }
      if (crash) {
        cfg.crash1(victim);
        await cfg.one(cfg.randomInt(), servers - 1, true);
      }
      // Perhaps send enough to get a snapshot.
      const commands = SNAPSHOT_INTERVAL / 2 + (cfg.randomInt() % SNAPSHOT_INTERVAL);
      for (let j = 0; j < commands; j++) cfg.rafts[sender]?.start(cfg.randomInt());
      // Let the appliers catch up with the Start()s.
      if (!disconnect && !crash) {
        // Make sure all followers have caught up, so that an InstallSnapshot RPC isn't
        // required for "snapshots basic".
        await cfg.one(cfg.randomInt(), servers, true);
      } else {
        await cfg.one(cfg.randomInt(), servers - 1, true);
      }
      if (cfg.logSize() >= MAX_LOG_SIZE) cfg.fatal("Log size too large");
      if (disconnect) {
        // Reconnect a follower, who may be behind and need a snapshot to catch up.
        cfg.connect(victim);
        await cfg.one(cfg.randomInt(), servers, true);
        leader1 = await cfg.checkOneLeader();
      }
      if (crash) {
        cfg.start1(victim);
        cfg.connect(victim);
        await cfg.one(cfg.randomInt(), servers, true);
        leader1 = await cfg.checkOneLeader();
      }
    }
  });
}

// Do the servers persist their snapshots, and restart from a snapshot plus the tail of the log?
const snapshotAllCrash = labTest(
  "2D",
  "crash and restart all servers",
  { servers: 3, snapshot: true },
  async (cfg) => {
    const servers = cfg.n;
    const iterations = 5;
    await cfg.one(cfg.randomInt(), servers, true);
    for (let i = 0; i < iterations; i++) {
      // Perhaps enough to get a snapshot.
      const commands = SNAPSHOT_INTERVAL / 2 + (cfg.randomInt() % SNAPSHOT_INTERVAL);
      for (let j = 0; j < commands; j++) await cfg.one(cfg.randomInt(), servers, true);
      const index1 = await cfg.one(cfg.randomInt(), servers, true);
      crashAll(cfg);
      reviveAll(cfg);
      const index2 = await cfg.one(cfg.randomInt(), servers, true);
      if (index2 < index1 + 1) cfg.fatal(`index decreased from ${index1} to ${index2}`);
    }
  },
);

// Do servers initialize their in-memory copy of the snapshot, so that later writes to
// persistent state don't lose it?
const snapshotInit = labTest(
  "2D",
  "snapshot initialization after crash",
  { servers: 3, snapshot: true },
  async (cfg) => {
    await cfg.one(cfg.randomInt(), cfg.n, true);
    // Enough operations to make a snapshot.
    for (let i = 0; i < SNAPSHOT_INTERVAL + 1; i++) await cfg.one(cfg.randomInt(), cfg.n, true);
    crashAll(cfg);
    reviveAll(cfg);
    // A single operation, to get something written back to persistent storage.
    await cfg.one(cfg.randomInt(), cfg.n, true);
    crashAll(cfg);
    reviveAll(cfg);
    // Another operation, to trigger the potential bug.
    await cfg.one(cfg.randomInt(), cfg.n, true);
  },
);

function crashAll(cfg: RaftConfig): void {
  for (let i = 0; i < cfg.n; i++) cfg.crash1(i);
}

function reviveAll(cfg: RaftConfig): void {
  for (let i = 0; i < cfg.n; i++) {
    cfg.start1(i);
    cfg.connect(i);
  }
}

/** Server `i`'s running peer; the lab's tests call it where it cannot have crashed. */
function raftOf(cfg: RaftConfig, i: number): LabRaft {
  const raft = cfg.rafts[i];
  if (raft === null) cfg.fatal(`server ${i} is not running`);
  return raft;
}

/** The lab's Raft tests, parts 2A–2D, in the lab's order. */
export const raftSuite: LabTest[] = [
  initialElection,
  reElection,
  manyElections,
  basicAgree,
  rpcBytes,
  followerFailure,
  leaderFailure,
  failAgree,
  failNoAgree,
  concurrentStarts,
  rejoin,
  backup,
  count,
  persist1,
  persist2,
  persist3,
  figure8,
  unreliableAgree,
  figure8Unreliable,
  reliableChurn,
  unreliableChurn,
  snapshotTest("snapshots basic", false, true, false),
  snapshotTest("install snapshots (disconnect)", true, true, false),
  snapshotTest("install snapshots (disconnect+unreliable)", true, false, false),
  snapshotTest("install snapshots (crash)", false, true, true),
  snapshotTest("install snapshots (unreliable+crash)", false, false, true),
  snapshotAllCrash,
  snapshotInit,
];
