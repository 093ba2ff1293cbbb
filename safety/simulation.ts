/**
 * The randomized safety simulation of the Raft core: a group of {@linkcode RaftCore}s driven
 * message by message on a seeded event queue of virtual time, under random faults — loss,
 * delay, duplication, reordering, partitions of every shape, crashes that keep only what was
 * persisted (including crashes part way through persisting a Ready, and between persisting and
 * sending), pauses that stop a peer with its state (see pauses.ts), clocks that drift apart,
 * proposals and reads (see reads.ts) at random peers, snapshots at random applied indexes,
 * leadership transfers and membership changes — with every invariant of
 * {@linkcode SafetyChecker} checked after every event. A run ends by healing everything and
 * requiring progress: a leader commits an entry that every member of its membership applies.
 *
 * Beside its group (the bootstrap voters), a run may have spare peers that start as peers joining
 * a running group. Membership changes add spares and removed peers back as learners, promote
 * learners and remove members; a removed peer keeps running on its storage, as a real one does
 * until an operator stops it.
 *
 * Each peer is driven as raft/node.ts drives it: a leader's requests that the core allows
 * before the persist (`messagesBeforePersist`) leave first, then the Ready is persisted, then
 * the rest is sent, applied and advanced. A persist may be slow (like an fsync): it then ends
 * at a later event, while the peer keeps stepping messages and proposals (group commit: no
 * new Ready until it ends), so followers' acknowledgements of entries sent early can reach a
 * leader whose own copy is not yet durable; a crash during a slow persist keeps a random
 * prefix of its steps, so a leader may lose entries it already sent. Each peer ticks at its own
 * period, drawn within the run's clock drift, and like raft/node.ts catches its core's ticks up
 * with its clock (once per period elapsed) at every tick and before every read.
 *
 * The same seed gives the same run, event for event.
 *
 * @module
 */
import { assert, AssertionError } from "../util/assert.ts";
import { type Random, SeededRandom } from "../util/random.ts";
import { MinHeap } from "../util/min_heap.ts";
import { decode, encode } from "../rpc/codec.ts";
import { type ProposeResult, RaftCore } from "../raft/core.ts";
import { isMember, type Membership, type MembershipChange, membersOf } from "../raft/membership.ts";
import { type RaftCoreConfig } from "../raft/config.ts";
import { type Ready, writesToStorage } from "../raft/ready.ts";
import type { Message } from "../raft/messages.ts";
import {
  type InvariantName,
  type PersistTarget,
  SafetyChecker,
  type Violation,
} from "./checker.ts";
import { Links } from "./links.ts";
import {
  CALM_WEATHER,
  drawFault,
  drawProfile,
  drawTickPeriodUnits,
  drawWeather,
  type SafetySimulationProfile,
  TICK_UNITS,
  type Weather,
} from "./profile.ts";
import { drawConsistency, SimulatedReads } from "./reads.ts";
import { Pauses } from "./pauses.ts";
import { emptyStats, type SafetySimulationStats } from "./stats.ts";
import { MemoryStorage, PERSIST_STEP_COUNT, PERSIST_STEPS } from "../storage/memory_storage.ts";
import { copyMessage, describeMessage } from "./message_copy.ts";
import { type SafetySimulationEvent, Trace, type TraceLine } from "./trace.ts";
import { type HealedGroup, healedGroup, recoveryDeadlineUnits } from "./recovery.ts";
import { SafetyRecording } from "./recording.ts";
import type { SimRecorder } from "../sim/recorder.ts";

/** What {@linkcode runSafetySimulation} takes. */
export interface SafetySimulationOptions {
  /** The run's seed: every choice of the run derives from it. */
  readonly seed: number;
  /** Group size (bootstrap voters); default a size from `GROUP_SIZES` drawn from the seed. */
  readonly peers?: number;
  /** Events to run under faults before healing; default {@linkcode DEFAULT_EVENTS}. */
  readonly events?: number;
  /** Invariants not to check (to see what a bug breaks further down); default none. */
  readonly skip?: readonly InvariantName[];
  /** Events printed with a violation (ticks that changed nothing left out); default 16. */
  readonly traceLength?: number;
  /**
   * Builds each peer's core; default `new RaftCore(config)`. Tests plant bugs through it (a
   * subclass that misbehaves) to show the simulation catches them.
   */
  readonly createCore?: (config: RaftCoreConfig) => RaftCore;
  /**
   * Knobs that replace the ones the seed draws (which are drawn all the same, so the rest of
   * the run's choices stay those of the seed): to aim a hunt for a planted bug at the faults
   * that expose it, say. Default none.
   */
  readonly profile?: Partial<SafetySimulationProfile>;
  /** Hears every message, crash, partition and peer state (`dsys test sim --trace`). */
  readonly recorder?: SimRecorder;
}

export type { SafetySimulationStats } from "./stats.ts";

/** The outcome of one run. */
export interface SafetySimulationResult {
  /**
   * Every broken invariant, each a message naming the invariant, the seed, the event number and
   * the last events before it; empty when the run upheld every invariant.
   */
  readonly violations: string[];
  /** What the run did. */
  readonly stats: SafetySimulationStats;
  /** The knobs the seed chose. */
  readonly profile: SafetySimulationProfile;
}

/** Events under faults per run by default. */
export const DEFAULT_EVENTS = 5000;

/** Bound on events waiting in the queue (in-flight messages dominate). */
const MAX_QUEUED_EVENTS = 500_000;

/** How much likelier a crash is in a Ready that changes the term or vote or sends early. */
const RISKY_READY_CRASH_FACTOR = 5;

/**
 * Chance that a membership change attempt is followed by another soon after, so that changes
 * come close together (the second once the first commits), with other faults between them.
 */
const MEMBERSHIP_FOLLOW_UP_RATE = 0.5;

/** Bound on Ready batches one input may produce. */
const MAX_READIES_PER_INPUT = 10_000;

/** Most ticks a core is given at once to catch up with its clock, as in raft_node/node.ts. */
const MAX_CATCH_UP_TICKS = 128;

/** The longest a snapshot's transfer takes, in election timeouts (chunks come a heartbeat apart). */
const SNAPSHOT_TIMEOUTS_MAX = 3;

/** Chance that a client finds the leader rather than whichever peer it reaches first. */
const CLIENT_FINDS_LEADER_RATE = 0.8;

/** The fresh entry a healed group's leader proposed, and who must apply it. */
interface Marker {
  /** The leader that proposed it: one incarnation of one peer. */
  readonly leader: RaftCore;
  readonly index: number;
  readonly term: number;
  readonly command: string;
  /** The leader's membership when it proposed the entry: committing the entry commits it. */
  readonly membership: Membership;
}

/** Runs one random cluster for `options.seed`; see the module documentation. */
export function runSafetySimulation(options: SafetySimulationOptions): SafetySimulationResult {
  const simulation = new SafetySimulation(options);
  simulation.run();
  return simulation.result();
}

/** One peer's running process: its core and its service (the commands applied, index 1 first). */
interface Process {
  readonly core: RaftCore;
  commands: unknown[];
  readonly incarnation: number;
  /** The Ready whose slow persist is under way, or null. */
  persisting: PendingPersist | null;
  /** The time its core's ticks are counted up to: its last tick, on its own period. */
  tickedTo: number;
}

/** A Ready handed out, its early messages sent, its persist not yet done. */
interface PendingPersist {
  readonly ready: Ready;
  /** The peer's memory when it handed the Ready out: storage must match it once persisted. */
  readonly target: PersistTarget;
  /**
   * -1, or where the peer crashes: before persist step `crashPoint` (see `PERSIST_STEPS`),
   * after the last step (before the late sends), or after the late sends.
   */
  readonly crashPoint: number;
}

class SafetySimulation {
  readonly #seed: number;
  readonly #eventsUnderFaults: number;
  readonly #createCore: (config: RaftCoreConfig) => RaftCore;
  readonly #random: Random;
  readonly #profile: SafetySimulationProfile;
  readonly #checker: SafetyChecker;
  readonly #queue = new MinHeap<SafetySimulationEvent>(MAX_QUEUED_EVENTS);
  readonly #links: Links;
  readonly #storage: MemoryStorage[];
  readonly #processes = new Map<number, Process>();
  readonly #incarnations: number[];
  /** Each peer's tick period in units, drawn within the run's clock drift. */
  readonly #tickPeriods: readonly number[];
  readonly #reads: SimulatedReads;
  readonly #pauses = new Pauses();
  /** Every peer's id: the group's, then the spares'. */
  readonly #ids: readonly number[];
  /** The group's first voters. */
  readonly #bootstrapVoters: readonly number[];
  readonly #trace: Trace;
  readonly #violations: string[] = [];
  readonly #stats: SafetySimulationStats;
  #weather: Weather;
  /** When the last message sent so far is delivered. */
  #latestDeliveryAt = 0;
  #faultsOn = true;
  #now = 0;
  #nextCommand = 0;
  #touched = new Set<number>();
  #checkerViolationsTaken = 0;
  #lastProposal: ProposeResult | null = null;
  readonly #recording: SafetyRecording | null;

  constructor(options: SafetySimulationOptions) {
    this.#seed = options.seed;
    this.#eventsUnderFaults = options.events ?? DEFAULT_EVENTS;
    assert(
      Number.isSafeInteger(this.#eventsUnderFaults) && this.#eventsUnderFaults >= 0,
      `Cannot run ${this.#eventsUnderFaults} events: not a whole number`,
    );
    this.#trace = new Trace(options.traceLength ?? 16);
    this.#createCore = options.createCore ?? ((config) => new RaftCore(config));
    this.#random = new SeededRandom(options.seed);
    this.#profile = { ...drawProfile(this.#random, options.peers), ...options.profile };
    this.#checker = new SafetyChecker({ skip: options.skip });
    const { peers, sparePeers } = this.#profile;
    this.#ids = Array.from({ length: peers + sparePeers }, (_, id) => id);
    this.#bootstrapVoters = this.#ids.slice(0, peers);
    this.#links = new Links(this.#ids.length);
    this.#weather = this.#profile.weather;
    this.#storage = this.#ids.map(() => new MemoryStorage());
    this.#incarnations = this.#ids.map(() => 0);
    this.#stats = emptyStats(this.#profile);
    this.#tickPeriods = this.#ids.map(() => drawTickPeriodUnits(this.#random, this.#profile));
    this.#reads = new SimulatedReads(this.#checker, this.#stats);
    this.#recording = options.recorder === undefined
      ? null
      : new SafetyRecording(options.recorder, this.#ids);
  }

  run(): void {
    for (const peer of this.#ids) this.#start(peer);
    this.#schedule(this.#gap(this.#profile.meanProposalGapUnits), { kind: "propose" });
    this.#schedule(this.#gap(this.#profile.meanReadGapUnits), { kind: "read" });
    this.#schedule(this.#gap(this.#profile.meanFaultGapUnits), { kind: "fault" });
    // Stale ticks and persist ends of crashed incarnations are popped but not run: at most two
    // per crash.
    for (let popped = 0; this.#stats.events < this.#eventsUnderFaults; popped++) {
      assert(popped <= 3 * this.#eventsUnderFaults, `Only ${this.#stats.events} events ran`);
      if (!this.#runNextEvent()) return;
    }
    this.#recover(this.#heal());
  }

  result(): SafetySimulationResult {
    const stats = this.#stats;
    stats.ticks = Math.floor(this.#now / TICK_UNITS);
    stats.leaderTerms = this.#checker.leaderTerms;
    stats.highestCommitIndex = this.#checker.highestCommitIndex;
    for (const storage of this.#storage) {
      stats.highestTerm = Math.max(stats.highestTerm, storage.hardState.term);
    }
    return { violations: this.#violations, stats, profile: this.#profile };
  }

  // ---------------------------------------------------------------------------------------
  // The event loop

  /** Runs the earliest event and checks every invariant; false once a violation is found. */
  #runNextEvent(): boolean {
    const time = this.#queue.minKey;
    const event = this.#queue.pop();
    assert(time >= this.#now, `Event at time ${time} comes after time ${this.#now}`);
    this.#now = time;
    return this.#runEvent(event);
  }

  /** Puts `event` on the agenda at virtual `time`; events at the same time run in this order. */
  #schedule(time: number, event: SafetySimulationEvent): void {
    assert(
      Number.isSafeInteger(time) && time >= 0,
      `Cannot schedule an event at time ${time}: not a whole number of time units`,
    );
    this.#queue.push(time, event);
  }

  /** Runs `event` now and checks every invariant; false once a violation is found. */
  #runEvent(event: SafetySimulationEvent): boolean {
    if (!this.#isLive(event)) return true;
    const time = this.#now;
    this.#stats.events++;
    const line = this.#trace.add(this.#stats.events, time, event);
    this.#touched.clear();
    try {
      this.#execute(event, line);
      this.#checkAfterEvent();
    } catch (error) {
      if (!(error instanceof AssertionError)) throw error;
      this.#addViolations([{ invariant: "assertion", message: error.message }]);
    }
    this.#takeCheckerViolations();
    if (this.#recording !== null) this.#recording.settled(time, this.#links);
    return this.#violations.length === 0;
  }

  /**
   * Ticks and persist ends of crashed incarnations are stale, and so are ends of pauses already
   * over: they neither run nor count.
   */
  #isLive(event: SafetySimulationEvent): boolean {
    if (event.kind === "pause ends") return this.#pauses.isCurrent(event.peer, event.pause);
    if (event.kind !== "tick" && event.kind !== "persisted") return true;
    return this.#processes.get(event.peer)?.incarnation === event.incarnation;
  }

  #execute(event: SafetySimulationEvent, line: TraceLine): void {
    switch (event.kind) {
      case "tick":
        return this.#tick(event.peer);
      case "deliver":
        return this.#deliver(event.message, event.sentAt, line);
      case "propose":
        return this.#propose(line);
      case "read":
        return this.#read(line);
      case "pause ends":
        return this.#resume(event.peer, line);
      case "propose at":
        this.#lastProposal = this.#proposeAt(event.peer, event.command);
        return;
      case "fault":
        return this.#fault(line);
      case "membership":
        if (this.#faultsOn) line.notes = this.#changeMembership();
        return;
      case "chunk":
        return this.#hearChunk(event.from, event.to, event.term, line);
      case "restart":
        if (!this.#processes.has(event.peer)) this.#start(event.peer);
        return;
      case "persisted":
        if (this.#pauses.isPaused(event.peer)) return this.#pauses.holdPersistEnd(event.peer);
        return this.#finishSlowPersist(event.peer);
    }
  }

  #checkAfterEvent(): void {
    for (const [peer, process] of this.#processes) {
      this.#checker.checkPeer(process.core, this.#touched.has(peer));
    }
  }

  #takeCheckerViolations(): void {
    const violations = this.#checker.violations;
    if (violations.length > this.#checkerViolationsTaken) {
      this.#addViolations(violations.slice(this.#checkerViolationsTaken));
      this.#checkerViolationsTaken = violations.length;
    }
  }

  #addViolations(violations: readonly Violation[]): void {
    const trace = this.#trace.printed();
    const first = violations[0];
    if (first !== undefined) {
      this.#recording?.failed(this.#now, `${first.invariant}: ${first.message}`);
    }
    for (const { invariant, message } of violations) {
      this.#violations.push(
        `${invariant}: ${message} (seed ${this.#seed}, event ${this.#stats.events}, time ${
          (this.#now / TICK_UNITS).toFixed(1)
        } ticks)\nlast events:\n${trace}`,
      );
    }
  }

  // ---------------------------------------------------------------------------------------
  // Events

  /** The peer's tick timer fires: its core catches up with its clock (late after a pause). */
  #tick(peer: number): void {
    // The timer of a stopped process fires once it resumes.
    if (this.#pauses.isPaused(peer)) return this.#pauses.holdTick(peer);
    const process = this.#process(peer);
    this.#touched.add(peer);
    const { role, term } = process.core;
    this.#catchUpTicks(peer, process);
    this.#processReadies(peer);
    this.#noteRoleChange(peer, role, term);
    if (this.#processes.get(peer) !== process) return;
    this.#schedule(process.tickedTo + this.#tickPeriods[peer], {
      kind: "tick",
      peer,
      incarnation: process.incarnation,
    });
  }

  /**
   * Ticks `peer`'s core once per tick period since its last tick, at most
   * {@linkcode MAX_CATCH_UP_TICKS}, as raft_node/node.ts does on every timer and before every read
   * and message.
   */
  #catchUpTicks(peer: number, process: Process): void {
    const period = this.#tickPeriods[peer];
    const dueTicks = Math.floor((this.#now - process.tickedTo) / period);
    if (dueTicks <= 0) return;
    process.tickedTo += dueTicks * period;
    const ticks = Math.min(dueTicks, MAX_CATCH_UP_TICKS);
    this.#stats.ticksCaughtUp += ticks - 1;
    for (let tick = 0; tick < ticks; tick++) process.core.tick();
  }

  #deliver(message: Message, sentAt: number, line: TraceLine): void {
    const process = this.#processes.get(message.to);
    const lost = process === undefined || !this.#links.allows(message.from, message.to);
    this.#recording?.message(this.#now, sentAt, message, !lost);
    if (lost) {
      this.#stats.messagesLost++;
      line.notes = process === undefined ? "lost: receiver down" : "lost: link down";
      return;
    }
    if (this.#pauses.isPaused(message.to)) {
      const held = this.#pauses.hold(message);
      if (held) this.#stats.messagesHeld++;
      else this.#stats.messagesLost++;
      line.notes = held ? "held: receiver paused" : "lost: paused receiver's buffer full";
      return;
    }
    this.#step(process, message);
  }

  /**
   * `process` steps `message` and hands out what follows. Its ticks catch up first, as
   * raft_node/node.ts's do: a peer that resumes after a pause must not step what waited for it
   * (a follower's lease read, say) with a clock that stopped.
   */
  #step(process: Process, message: Message): void {
    this.#stats.messagesDelivered++;
    this.#touched.add(message.to);
    const { role, term } = process.core;
    this.#catchUpTicks(message.to, process);
    process.core.step(message);
    this.#processReadies(message.to);
    this.#noteRoleChange(message.to, role, term);
  }

  #propose(line: TraceLine): void {
    if (this.#faultsOn) {
      this.#schedule(this.#now + this.#gap(this.#profile.meanProposalGapUnits), {
        kind: "propose",
      });
    }
    const peer = this.#clientTarget();
    if (peer === undefined) return;
    const command = `c${this.#nextCommand++}`;
    const result = this.#proposeAt(peer, command);
    line.notes = `${command} at peer ${peer}: ${
      result.isLeader ? `index ${result.index}` : "not leader"
    }`;
  }

  /**
   * The peer a client asks: mostly a leader, sometimes whichever peer it reaches first; never a
   * paused one (its request would wait there with the rest of its input).
   */
  #clientTarget(): number | undefined {
    const leaders = this.#runningLeaders();
    const live = this.#runningPeers();
    if (live.length === 0) return undefined;
    return leaders.length > 0 && this.#random.next() < CLIENT_FINDS_LEADER_RATE
      ? leaders[this.#random.int(leaders.length)]
      : live[this.#random.int(live.length)];
  }

  /**
   * A client reads at a random peer with a random consistency (see reads.ts): a serializable read
   * is answered at once; the others ask the core, once its ticks caught up with its clock.
   */
  #read(line: TraceLine): void {
    if (this.#faultsOn) {
      this.#schedule(this.#now + this.#gap(this.#profile.meanReadGapUnits), { kind: "read" });
    }
    const peer = this.#clientTarget();
    if (peer === undefined) return;
    const process = this.#process(peer);
    const floor = this.#checker.highestCommitIndex;
    const consistency = drawConsistency(this.#random, this.#profile.checkQuorum);
    if (consistency === "serializable") {
      line.notes = this.#reads.serveLocally(peer, process.commands.length, floor);
      return;
    }
    if (this.#reads.full) {
      line.notes = `${consistency} read at peer ${peer}: too many reads in flight`;
      return;
    }
    const id = this.#reads.ask(peer, consistency, floor);
    line.notes = `${consistency} read ${id} at peer ${peer}, floor ${floor}`;
    this.#touched.add(peer);
    const { role, term } = process.core;
    // A lease is measured in ticks: they must be current, even after the process was paused.
    this.#catchUpTicks(peer, process);
    process.core.readIndex(id, consistency === "lease");
    this.#processReadies(peer);
    this.#noteRoleChange(peer, role, term);
  }

  #proposeAt(peer: number, command: string): ProposeResult {
    this.#stats.proposals++;
    this.#touched.add(peer);
    const result = this.#process(peer).core.propose(command);
    if (result.isLeader) this.#stats.proposalsAccepted++;
    this.#processReadies(peer);
    return result;
  }

  #fault(line: TraceLine): void {
    if (!this.#faultsOn) return;
    this.#schedule(this.#now + this.#gap(this.#profile.meanFaultGapUnits), { kind: "fault" });
    switch (drawFault(this.#random, this.#profile.faultMix)) {
      case "crash":
        line.notes = this.#crashSomeone();
        return;
      case "partition":
        line.notes = this.#partition();
        return;
      case "strand leader":
        line.notes = this.#strand();
        return;
      case "heal":
        this.#links.healAll();
        line.notes = "heal every link";
        return;
      case "weather":
        this.#weather = drawWeather(this.#random, this.#profile.electionTimeoutTicks);
        line.notes = `weather ${JSON.stringify(this.#weather)}`;
        return;
      case "snapshot":
        line.notes = this.#compactSomeone();
        return;
      case "transfer":
        line.notes = this.#transferSomewhere();
        return;
      case "membership":
        line.notes = this.#changeMembership();
        return;
      case "pause":
        line.notes = this.#pauseSomeone();
        return;
    }
  }

  /**
   * A running peer, a leader half the time, stops for more than an election timeout (see
   * pauses.ts): long enough for the others to elect another leader while it still believes it
   * leads.
   */
  #pauseSomeone(): string {
    const leaders = this.#runningLeaders();
    const live = this.#runningPeers();
    if (live.length === 0) return "pause: nobody is running";
    const peer = leaders.length > 0 && this.#random.next() < 0.5
      ? leaders[this.#random.int(leaders.length)]
      : live[this.#random.int(live.length)];
    const timeout = this.#profile.electionTimeoutTicks;
    const ticks = timeout + 1 + this.#random.int(3 * timeout);
    const pause = this.#pauses.start(peer);
    this.#stats.pauses++;
    this.#schedule(this.#now + ticks * TICK_UNITS, { kind: "pause ends", peer, pause });
    return `pause peer ${peer} for ${ticks} ticks`;
  }

  /**
   * A paused peer goes on: it learns that its persist ended, steps the messages held meanwhile,
   * and only then does its late tick timer fire, catching its core up with the clock.
   */
  #resume(peer: number, line: TraceLine): void {
    const pause = this.#pauses.end(peer);
    const held = pause.held.map(describeMessage);
    line.notes = `peer ${peer} resumes; held: ${held.length === 0 ? "nothing" : held.join(", ")}`;
    if (pause.persistDone) this.#finishSlowPersist(peer);
    for (const message of pause.held) {
      const process = this.#processes.get(peer);
      // A crash at the end of the persist loses what was still held.
      if (process === undefined) this.#stats.messagesLost++;
      else this.#step(process, message);
    }
    if (pause.tickDue && this.#processes.has(peer)) this.#tick(peer);
  }

  /** The leader of the highest term hands leadership to a random other voter, up or down. */
  #transferSomewhere(): string {
    const leader = this.#highestLeader();
    if (leader === undefined) return "transfer: no leader";
    const others = leader.membership.voters.filter((peer) => peer !== leader.id);
    if (others.length === 0) return "transfer: no other voter";
    const target = others[this.#random.int(others.length)];
    this.#stats.transfers++;
    this.#touched.add(leader.id);
    leader.transferLeadership(target);
    this.#processReadies(leader.id);
    return `peer ${leader.id} hands leadership to peer ${target}`;
  }

  /**
   * The leader of the highest term proposes a random single-server change of its membership.
   * The core refuses one while another is uncommitted, and before its leader committed an entry
   * of its term (it then appends its membership unchanged): both are counted.
   */
  #changeMembership(): string {
    const leader = this.#highestLeader();
    if (leader === undefined) return "membership: no leader";
    const change = this.#drawChange(leader.membership);
    if (change === null) return `membership: leader ${leader.id} is the only peer`;
    if (this.#random.next() < MEMBERSHIP_FOLLOW_UP_RATE) {
      // About when a change appended now commits: a round trip, or a heartbeat and one.
      const gapUnits = this.#gap(this.#profile.heartbeatTicks * TICK_UNITS);
      this.#schedule(this.#now + gapUnits, { kind: "membership" });
    }
    this.#touched.add(leader.id);
    const proposal = leader.proposeMembership(change);
    this.#processReadies(leader.id);
    const asked = `leader ${leader.id} asked to ${change.kind} peer ${change.id}`;
    if (!proposal.ok) {
      this.#stats.membershipRefusals++;
      return `${asked}: refused: ${proposal.reason}`;
    }
    this.#stats.membershipChanges++;
    return `${asked}: entry ${proposal.index}`;
  }

  /**
   * A random sound change of `membership`, its kind drawn first so that no kind crowds out the
   * others: add a peer that is no member (a spare, or a removed peer with its old log) as a
   * learner, promote a learner, or remove a member, keeping one voter at least. Null when there
   * is none: a lone peer.
   */
  #drawChange(membership: Membership): MembershipChange | null {
    const outsiders = this.#ids.filter((id) => !isMember(membership, id));
    const removable = membership.voters.length > 1 ? membersOf(membership) : membership.learners;
    const changes: MembershipChange[][] = [
      outsiders.map((id) => ({ kind: "add-learner", id }) as const),
      membership.learners.map((id) => ({ kind: "promote", id }) as const),
      removable.map((id) => ({ kind: "remove", id }) as const),
    ].filter((ofKind) => ofKind.length > 0);
    if (changes.length === 0) return null;
    const ofKind = changes[this.#random.int(changes.length)];
    return ofKind[this.#random.int(ofKind.length)];
  }

  #crashSomeone(): string {
    const leaders = this.#liveLeaders();
    const live = [...this.#processes.keys()];
    if (live.length === 0) return "crash: nobody is up";
    // A leader mid-write may have sent, and seen acknowledged, entries it then loses.
    const writingLeaders = leaders.filter((peer) => this.#process(peer).persisting !== null);
    const draw = this.#random.next();
    const peer = writingLeaders.length > 0 && draw < 0.3
      ? writingLeaders[this.#random.int(writingLeaders.length)]
      : leaders.length > 0 && draw < 0.5
      ? leaders[this.#random.int(leaders.length)]
      : live[this.#random.int(live.length)];
    this.#stats.crashes++;
    this.#crash(peer);
    return `crash peer ${peer}`;
  }

  #partition(): string {
    this.#stats.partitions++;
    const leaders = this.#liveLeaders();
    const leader = leaders.length > 0 ? leaders[this.#random.int(leaders.length)] : undefined;
    const shape = this.#random.int(4);
    if (shape === 0) return this.#links.splitRandomly(this.#random);
    if (shape === 1) return this.#links.splitMinority(this.#random, leader);
    if (shape === 2) return this.#links.cutRandomOneWay(this.#random);
    const peer = leader ?? this.#random.int(this.#ids.length);
    this.#links.isolate(peer);
    return `isolate peer ${peer}`;
  }

  /**
   * Cuts the leader off while clients still reach it, so it appends entries no one else gets:
   * the divergent logs behind the commit rule of section 5.4.2 (Figure 8).
   */
  #strand(): string {
    const leader = this.#highestLeader()?.id;
    if (leader === undefined) return "strand: no leader";
    this.#stats.partitions++;
    this.#links.healAll();
    this.#links.isolate(leader);
    const count = 1 + this.#random.int(3);
    const commands: string[] = [];
    for (let proposal = 0; proposal < count && this.#processes.has(leader); proposal++) {
      const command = `c${this.#nextCommand++}`;
      this.#proposeAt(leader, command);
      commands.push(command);
    }
    return `strand leader ${leader} with ${commands.join(",")}`;
  }

  /** The service of a random peer snapshots at a random index it has applied. */
  #compactSomeone(): string {
    const live = this.#runningPeers();
    if (live.length === 0) return "snapshot: nobody is running";
    const peer = live[this.#random.int(live.length)];
    const process = this.#process(peer);
    const from = process.core.log.snapshotIndex;
    const applied = process.commands.length;
    if (applied <= from) return `snapshot: peer ${peer} has applied nothing new`;
    const index = from + 1 + this.#random.int(applied - from);
    this.#touched.add(peer);
    this.#compact(peer, process, index);
    this.#processReadies(peer);
    return `peer ${peer} snapshots up to entry ${index}`;
  }

  // ---------------------------------------------------------------------------------------
  // The driver: persist, send, apply, advance

  #processReadies(peer: number): void {
    for (let round = 0;; round++) {
      const process = this.#processes.get(peer);
      // Group commit: inputs during a slow persist wait for the next Ready.
      if (process === undefined || process.persisting !== null || !process.core.hasReady()) {
        return;
      }
      assert(round < MAX_READIES_PER_INPUT, `Peer ${peer} keeps producing Ready batches`);
      this.#handleReady(peer, process, process.core.ready());
    }
  }

  #handleReady(peer: number, process: Process, ready: Ready): void {
    const storage = this.#storage[peer];
    // A read's outcome depends on nothing being persisted, as in raft/node.ts.
    if (ready.readStates !== undefined) {
      const notes = this.#reads.outcomes(peer, ready.readStates, process.commands.length);
      this.#noteOnLastEvent(`peer ${peer}: ${notes.join(", ")}`);
    }
    // Crash points: before each persist step (the early sends are out by then), after
    // persisting (before the late sends), after sending.
    const crashPoint = this.#faultsOn && this.#random.next() < this.#crashRateFor(ready)
      ? this.#random.int(PERSIST_STEP_COUNT + 2)
      : -1;
    for (const message of ready.messagesBeforePersist) {
      this.#checker.checkSendBeforePersist(peer, message, storage);
      this.#stats.messagesSentBeforePersist++;
      this.#send(message);
    }
    const pending = { ready, target: persistTarget(process.core), crashPoint };
    if (this.#random.next() < this.#profile.slowPersistRate) {
      // Drawn for every Ready, so that the random stream is the same whether it writes or not.
      const doneAt = this.#now + 1 + this.#random.int(this.#profile.maxPersistUnits);
      // A Ready that writes nothing costs no write, as in the real driver (raft/node.ts).
      if (writesToStorage(ready)) {
        // The write, and any crash in it, ends later; the peer steps other events meanwhile.
        this.#stats.slowPersists++;
        process.persisting = pending;
        this.#schedule(doneAt, { kind: "persisted", peer, incarnation: process.incarnation });
        return;
      }
    }
    this.#finishReady(peer, process, pending);
  }

  /**
   * The persist of a Ready ends, perhaps in a crash part way: check it, send what waited for
   * it, apply, advance.
   */
  #finishReady(peer: number, process: Process, pending: PendingPersist): void {
    const { ready, target, crashPoint } = pending;
    const storage = this.#storage[peer];
    if (crashPoint !== -1 && crashPoint <= PERSIST_STEP_COUNT) {
      storage.persistPrefix(ready, crashPoint);
      this.#checker.checkStorage(peer, storage);
      this.#crashInReady(
        peer,
        crashPoint === PERSIST_STEP_COUNT
          ? "after persisting a Ready, before sending"
          : `persisting a Ready, before its ${PERSIST_STEPS[crashPoint]} step`,
      );
      return;
    }
    storage.persist(ready);
    this.#checker.checkStorage(peer, storage);
    this.#checker.checkStorageMatchesMemory(target, storage);
    for (const message of ready.messages) {
      this.#checker.checkSend(peer, message, storage);
      this.#send(message);
    }
    if (crashPoint !== -1) {
      return this.#crashInReady(peer, "after sending a Ready, before applying");
    }
    this.#apply(peer, process, ready);
    process.core.advance(ready);
  }

  /** A slow persist ended: finish its Ready, then hand out what came in meanwhile. */
  #finishSlowPersist(peer: number): void {
    const process = this.#process(peer);
    const pending = process.persisting;
    assert(pending !== null, `Peer ${peer} finished a persist it never started`);
    process.persisting = null;
    this.#touched.add(peer);
    const { role, term } = process.core;
    this.#finishReady(peer, process, pending);
    this.#processReadies(peer);
    this.#noteRoleChange(peer, role, term);
  }

  /**
   * A lost write hurts most in a Ready that changes the term or vote (a vote given twice) and
   * in one whose entries a leader sent before writing them (entries others hold and it lost),
   * so crashes there are likelier than elsewhere.
   */
  #crashRateFor(ready: Ready): number {
    const rate = this.#profile.crashInReadyRate;
    const risky = ready.hardState !== undefined || ready.messagesBeforePersist.length > 0;
    return risky ? Math.min(1, rate * RISKY_READY_CRASH_FACTOR) : rate;
  }

  #crashInReady(peer: number, when: string): void {
    this.#stats.crashesInReady++;
    this.#crash(peer);
    this.#noteOnLastEvent(`peer ${peer} crashed ${when}`);
  }

  #apply(peer: number, process: Process, ready: Ready): void {
    const snapshot = ready.snapshotToApply;
    if (snapshot !== undefined) {
      const commands = decode(snapshot.data) as unknown[];
      this.#checker.checkApplySnapshot(peer, snapshot.index, commands);
      process.commands = commands;
      this.#stats.snapshotsInstalled++;
    }
    for (const entry of ready.committedEntries) {
      this.#checker.checkApplyEntry(peer, entry);
      process.commands.push(entry.command);
      if (this.#random.next() < this.#profile.compactRate) {
        const from = process.core.log.snapshotIndex;
        if (entry.index > from) {
          this.#compact(peer, process, from + 1 + this.#random.int(entry.index - from));
        }
      }
    }
    this.#reads.applied(peer, process.commands.length);
  }

  #compact(peer: number, process: Process, index: number): void {
    assert(
      index <= process.commands.length,
      `Peer ${peer} cannot snapshot up to entry ${index}: it applied ${process.commands.length}`,
    );
    this.#stats.snapshotsTaken++;
    process.core.compact(index, encode(process.commands.slice(0, index)));
  }

  #send(message: Message): void {
    this.#stats.messagesSent++;
    const weather = this.#weather;
    if (this.#random.next() < weather.dropRate) {
      this.#stats.messagesLost++;
      this.#recording?.message(this.#now, this.#now, message, false);
      return;
    }
    this.#deliverLater(message);
    if (this.#random.next() < weather.duplicateRate) {
      this.#stats.messagesDuplicated++;
      this.#deliverLater(message);
    }
  }

  #deliverLater(message: Message): void {
    let at = this.#now + this.#delay();
    if (message.type === "InstallSnapshot") at = this.#streamSnapshot(message, at);
    this.#latestDeliveryAt = Math.max(this.#latestDeliveryAt, at);
    this.#schedule(at, { kind: "deliver", message: copyMessage(message), sentAt: this.#now });
  }

  /**
   * A real snapshot arrives in chunks (raft_node/node.ts), each of them word from the leader
   * (`RaftCore.heardFromLeader`), over as long as a few election timeouts when it is large: the
   * receiver's timers run meanwhile. Schedules a chunk a heartbeat apart until the whole
   * snapshot, the message, arrives at the time returned.
   */
  #streamSnapshot(message: Message, firstAt: number): number {
    const heartbeatUnits = this.#profile.heartbeatTicks * TICK_UNITS;
    const timeoutUnits = this.#profile.electionTimeoutTicks * TICK_UNITS;
    const chunks = Math.floor(
      this.#random.int(SNAPSHOT_TIMEOUTS_MAX * timeoutUnits) / heartbeatUnits,
    );
    for (let chunk = 0; chunk < chunks; chunk++) {
      const { from, to, term } = message;
      this.#schedule(firstAt + chunk * heartbeatUnits, { kind: "chunk", from, to, term });
    }
    return firstAt + chunks * heartbeatUnits;
  }

  /** A chunk of a snapshot in transfer reaches `to`, unless it is down or cut off from `from`. */
  #hearChunk(from: number, to: number, term: number, line: TraceLine): void {
    const process = this.#processes.get(to);
    const lost = process === undefined || !this.#links.allows(from, to) ||
      this.#pauses.isPaused(to);
    this.#recording?.chunk(this.#now, from, to, term, !lost);
    if (lost) {
      line.notes = "lost";
      return;
    }
    const { role, term: termBefore } = process.core;
    this.#catchUpTicks(to, process);
    process.core.heardFromLeader(from, term);
    this.#processReadies(to);
    this.#noteRoleChange(to, role, termBefore);
  }

  #delay(): number {
    const weather = this.#weather;
    if (weather.longDelayRate > 0 && this.#random.next() < weather.longDelayRate) {
      return this.#random.int(weather.maxLongDelayUnits + 1);
    }
    return this.#random.int(weather.maxDelayUnits + 1);
  }

  // ---------------------------------------------------------------------------------------
  // Crashes and restarts

  #crash(peer: number): void {
    const pending = this.#processes.get(peer)?.persisting ?? null;
    if (pending !== null) {
      // The write was under way: any prefix of its steps may have reached the disk.
      const storage = this.#storage[peer];
      storage.persistPrefix(pending.ready, this.#random.int(PERSIST_STEP_COUNT + 1));
      this.#checker.checkStorage(peer, storage);
      this.#stats.crashesInSlowPersist++;
    }
    this.#processes.delete(peer);
    this.#recording?.process(this.#now, peer, null);
    this.#checker.endIncarnation(peer);
    this.#reads.crashed(peer);
    this.#stats.messagesLost += this.#pauses.crashed(peer);
    const downtimeUnits = (1 + this.#random.int(this.#profile.maxDowntimeTicks)) * TICK_UNITS;
    this.#schedule(this.#now + downtimeUnits, { kind: "restart", peer });
  }

  #start(peer: number): void {
    const storage = this.#storage[peer];
    const snapshot = storage.snapshot;
    const core = this.#createCore({
      id: peer,
      // A spare joins with no membership: it learns one from a leader once it is added.
      peers: this.#bootstrapVoters.includes(peer) ? this.#bootstrapVoters : [],
      electionTimeoutTicks: this.#profile.electionTimeoutTicks,
      heartbeatTicks: this.#profile.heartbeatTicks,
      random: new SeededRandom(this.#random.int(2 ** 31)),
      hardState: storage.hardState,
      snapshot,
      entries: storage.entries,
      maxEntriesPerAppend: this.#profile.maxEntriesPerAppend,
      maxEntriesPerReady: this.#profile.maxEntriesPerReady,
      preVote: this.#profile.preVote,
      checkQuorum: this.#profile.checkQuorum,
      noOpOnElection: this.#profile.noOpOnElection,
      maxClockDriftPercent: this.#profile.maxClockDriftPercent,
    });
    const commands = snapshot.index === 0 ? [] : decode(snapshot.data) as unknown[];
    this.#checker.startIncarnation(peer, storage, commands);
    const incarnation = ++this.#incarnations[peer];
    // Peers tick at their own phase, as real clocks are never aligned.
    const period = this.#tickPeriods[peer];
    const firstTick = this.#now + 1 + this.#random.int(period);
    const tickedTo = firstTick - period;
    this.#processes.set(peer, { core, commands, incarnation, persisting: null, tickedTo });
    this.#recording?.process(this.#now, peer, core);
    if (incarnation > 1) this.#stats.restarts++;
    this.#touched.add(peer);
    this.#schedule(firstTick, { kind: "tick", peer, incarnation });
  }

  // ---------------------------------------------------------------------------------------
  // Healing and the progress check

  /** Heals every link, calms the weather and restarts every peer that is down. */
  #heal(): HealedGroup {
    this.#faultsOn = false;
    this.#links.healAll();
    this.#weather = CALM_WEATHER;
    for (const peer of this.#ids) {
      if (!this.#processes.has(peer)) this.#start(peer);
    }
    for (const { peer, id } of this.#pauses.current()) {
      this.#schedule(this.#now, { kind: "pause ends", peer, pause: id });
    }
    const processes = [...this.#processes.values()];
    return healedGroup(processes.map((process) => process.core), {
      staleUnits: Math.max(0, this.#latestDeliveryAt - this.#now),
      // Drawn before healing, a crash at the end of a slow persist still happens.
      crashPending: processes.some((process) => (process.persisting?.crashPoint ?? -1) !== -1),
    });
  }

  /**
   * Runs the healed group until a leader commits a fresh entry that every member of its
   * membership applies; a leader change before that makes the new leader propose its own. The
   * deadline (see recovery.ts) counts every peer's backlog until a leader proposed the entry,
   * then only its members': peers outside the membership need not catch up.
   */
  #recover(healed: HealedGroup): void {
    if (this.#violations.length > 0) return;
    const healedAt = this.#now;
    let deadline = healedAt;
    const setDeadline = (members: readonly number[]) => {
      deadline = healedAt + recoveryDeadlineUnits(this.#profile, healed, members);
      this.#stats.recoveryDeadlineTicks = Math.ceil((deadline - healedAt) / TICK_UNITS);
    };
    setDeadline(this.#ids);
    let marker: Marker | null = null;
    // Bounded by the deadline: ticks keep the queue non-empty and time advancing.
    while (this.#queue.minKey <= deadline) {
      if (!this.#runNextEvent()) return;
      const leader = this.#highestLeader();
      if (leader !== undefined && (marker === null || leadsAfter(leader, marker))) {
        const proposed = this.#proposeMarker(leader);
        if (this.#violations.length > 0) return;
        if (proposed !== null) {
          marker = proposed;
          setDeadline(membersOf(marker.membership));
        }
      }
      if (marker !== null && this.#allApplied(marker)) {
        this.#stats.ticksToRecover = Math.ceil((this.#now - healedAt) / TICK_UNITS);
        this.#stats.finalVoters = marker.membership.voters.length;
        this.#stats.finalLearners = marker.membership.learners.length;
        this.#finalChecks();
        return;
      }
    }
    this.#reportNoProgress(healedAt, marker);
  }

  /** Has `leader` propose a fresh entry; null when it did not take it (or an invariant broke). */
  #proposeMarker(leader: RaftCore): Marker | null {
    const command = `heal${this.#nextCommand++}`;
    this.#lastProposal = null;
    this.#runEvent({ kind: "propose at", peer: leader.id, command });
    const result = this.#lastProposal as ProposeResult | null;
    if (result === null || !result.isLeader) return null;
    return {
      leader,
      index: result.index,
      term: result.term,
      command,
      membership: leader.membership,
    };
  }

  /**
   * Whether every member of `marker`'s membership applied its entry (a member may be down a
   * while yet: a slow persist begun before healing can end in a crash).
   */
  #allApplied(marker: Marker): boolean {
    return membersOf(marker.membership).every((peer) => {
      const commands = this.#processes.get(peer)?.commands;
      return commands !== undefined && commands[marker.index - 1] === marker.command;
    });
  }

  #finalChecks(): void {
    const cores = [...this.#processes.values()].map((process) => process.core);
    for (const core of cores) this.#checker.checkWholeLog(core);
    this.#checker.checkLogsPairwise(cores);
    this.#takeCheckerViolations();
  }

  #reportNoProgress(healedAt: number, marker: Marker | null): void {
    const peers = [...this.#processes.values()].map(({ core, commands }) =>
      `peer ${core.id} ${core.role} term ${core.term} commit ${core.commitIndex} applied ${commands.length}`
    );
    const ticks = Math.floor((this.#now - healedAt) / TICK_UNITS);
    const wanted = marker === null
      ? "no leader emerged"
      : `entry ${marker.index} of term ${marker.term} was not applied by every member (${
        membersOf(marker.membership).join(",")
      })`;
    this.#addViolations([{
      invariant: "liveness",
      message: `${ticks} ticks after healing, ${wanted}: ${peers.join("; ")}`,
    }]);
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  #process(peer: number): Process {
    const process = this.#processes.get(peer);
    assert(process !== undefined, `Peer ${peer} is down`);
    return process;
  }

  /** The peers up and not paused. */
  #runningPeers(): number[] {
    return [...this.#processes.keys()].filter((peer) => !this.#pauses.isPaused(peer));
  }

  /** The leaders up, paused or not (faults strike paused ones too). */
  #liveLeaders(): number[] {
    return [...this.#processes.keys()].filter((peer) => this.#isLeader(peer));
  }

  /** The running leaders (a paused one takes no requests). */
  #runningLeaders(): number[] {
    return this.#runningPeers().filter((peer) => this.#isLeader(peer));
  }

  #isLeader(peer: number): boolean {
    return this.#process(peer).core.role === "leader";
  }

  /** The running leader of the highest term (asked after every event while recovering). */
  #highestLeader(): RaftCore | undefined {
    let highest: RaftCore | undefined;
    for (const [peer, { core }] of this.#processes) {
      if (core.role !== "leader" || this.#pauses.isPaused(peer)) continue;
      if (highest === undefined || core.term > highest.term) highest = core;
    }
    return highest;
  }

  /** A random gap of mean `meanUnits`, at least one unit. */
  #gap(meanUnits: number): number {
    return 1 + this.#random.int(2 * meanUnits);
  }

  /** Notes on the current event that `peer` changed role or term (if it is still up). */
  #noteRoleChange(peer: number, roleBefore: string, termBefore: number): void {
    const core = this.#processes.get(peer)?.core;
    if (core === undefined || (core.role === roleBefore && core.term === termBefore)) return;
    this.#noteOnLastEvent(`peer ${peer} ${core.role} of term ${core.term}`);
  }

  #noteOnLastEvent(note: string): void {
    this.#trace.note(note);
  }
}

/**
 * Whether `leader` leads after the one that proposed `marker`: in a later term, or in the same
 * term after a restart (a lone voter elects itself again in a term it never persisted, and the
 * entry is lost with its memory).
 */
function leadsAfter(leader: RaftCore, marker: Marker): boolean {
  return leader.term > marker.term || (leader.term === marker.term && leader !== marker.leader);
}

/** What storage must hold once the Ready `core` just handed out is persisted. */
function persistTarget(core: RaftCore): PersistTarget {
  const { snapshotIndex, lastIndex, lastTerm } = core.log;
  return {
    id: core.id,
    term: core.term,
    votedFor: core.votedFor,
    log: { snapshotIndex, lastIndex, lastTerm },
  };
}
