/**
 * The coordinator's bookkeeping: which map and reduce tasks are idle, leased to a worker, or
 * done. A lease lasts `taskTimeoutMs`; only an expired lease lets a task go out again, so no
 * task runs twice unless its worker went silent. Every issue of a task gets a fresh attempt id,
 * and only a report carrying the task's latest attempt id counts.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock } from "../util/clock.ts";
import type { TaskKind } from "./protocol.ts";

/** Most tasks of one kind a job may have; a bound on the table's size. */
export const MAX_TASKS = 1_000_000;

/** What the table hands a worker that asks for work. */
export type Assignment =
  | { kind: TaskKind; taskId: number; attempt: number; reissued: boolean }
  | { kind: "wait" }
  | { kind: "done" };

/** Counters the progress line shows. */
export interface TaskCounts {
  /** Map tasks in the job: one per input file. */
  mapCount: number;
  /** Map tasks whose output is final. */
  mapsDone: number;
  /** Reduce tasks in the job (`--nreduce`). */
  reduceCount: number;
  /** Reduce tasks whose output is final. */
  reducesDone: number;
  /** Tasks handed out again after their lease ran out. */
  reissued: number;
  /** Reports ignored because their attempt was superseded or the task was already done. */
  staleReports: number;
}

/** How many tasks of one kind are in each state. */
export interface TaskStates {
  /** Waiting for a worker (never issued, or returned after a failed attempt). */
  idle: number;
  /** Handed to a worker and not yet reported (the lease may have run out). */
  leased: number;
  /** Reported by their latest attempt. */
  done: number;
}

type TaskState =
  | { phase: "idle" }
  | { phase: "leased"; attempt: number; leaseEndMs: number; workerId: string }
  | { phase: "done" };

/** Sizes and timing of a table. */
export interface TaskTableOptions {
  /** One map task per input file. */
  mapCount: number;
  /** Number of reduce tasks (partitions). */
  reduceCount: number;
  /** How long a worker may hold a task before it is handed to another. */
  taskTimeoutMs: number;
  /** Time source; a manual clock in tests. */
  clock: Clock;
}

/** The state of every task of one job. */
export class TaskTable {
  readonly #clock: Clock;
  readonly #taskTimeoutMs: number;
  readonly #maps: TaskState[];
  readonly #reduces: TaskState[];
  /** Attempt ids of each task's latest issue (0: never issued), kept after the lease ends. */
  readonly #latestAttempt: { map: number[]; reduce: number[] };
  #nextAttempt = 1;
  #mapsDone = 0;
  #reducesDone = 0;
  #reissued = 0;
  #staleReports = 0;

  /** Creates a table with every task idle. */
  constructor(options: TaskTableOptions) {
    const { mapCount, reduceCount, taskTimeoutMs } = options;
    assert(
      Number.isSafeInteger(mapCount) && mapCount >= 1 && mapCount <= MAX_TASKS,
      `Cannot plan ${mapCount} map tasks: need 1 to ${MAX_TASKS}`,
    );
    assert(
      Number.isSafeInteger(reduceCount) && reduceCount >= 1 && reduceCount <= MAX_TASKS,
      `Cannot plan ${reduceCount} reduce tasks: need 1 to ${MAX_TASKS}`,
    );
    assert(taskTimeoutMs > 0, `Task timeout ${taskTimeoutMs} ms must be positive`);
    this.#clock = options.clock;
    this.#taskTimeoutMs = taskTimeoutMs;
    this.#maps = Array.from({ length: mapCount }, () => ({ phase: "idle" }));
    this.#reduces = Array.from({ length: reduceCount }, () => ({ phase: "idle" }));
    this.#latestAttempt = {
      map: new Array(mapCount).fill(0),
      reduce: new Array(reduceCount).fill(0),
    };
  }

  /** Whether every reduce task is done (and so every output file is in place). */
  get done(): boolean {
    return this.#reducesDone === this.#reduces.length;
  }

  /** The counters for the progress line. */
  counts(): TaskCounts {
    return {
      mapCount: this.#maps.length,
      mapsDone: this.#mapsDone,
      reduceCount: this.#reduces.length,
      reducesDone: this.#reducesDone,
      reissued: this.#reissued,
      staleReports: this.#staleReports,
    };
  }

  /** How many tasks of `kind` are idle, leased and done. */
  states(kind: TaskKind): TaskStates {
    const states: TaskStates = { idle: 0, leased: 0, done: 0 };
    for (const task of kind === "map" ? this.#maps : this.#reduces) states[task.phase]++;
    return states;
  }

  /** The workers holding an unexpired lease now. */
  leaseHolders(): Set<string> {
    const now = this.#clock.now();
    const holders = new Set<string>();
    for (const task of [...this.#maps, ...this.#reduces]) {
      if (task.phase === "leased" && task.leaseEndMs > now) holders.add(task.workerId);
    }
    return holders;
  }

  /**
   * Hands `workerId` an idle task of the current phase (maps, then — once every map is done —
   * reduces), else a task whose lease ran out, else says wait (or done).
   */
  assign(workerId: string): Assignment {
    if (this.done) return { kind: "done" };
    const kind: TaskKind = this.#mapsDone < this.#maps.length ? "map" : "reduce";
    const tasks = kind === "map" ? this.#maps : this.#reduces;
    const now = this.#clock.now();
    let expired = -1;
    for (let taskId = 0; taskId < tasks.length; taskId++) {
      const task = tasks[taskId];
      if (task.phase === "idle") return this.#lease(kind, taskId, workerId, false);
      if (expired < 0 && task.phase === "leased" && task.leaseEndMs <= now) expired = taskId;
    }
    if (expired >= 0) return this.#lease(kind, expired, workerId, true);
    return { kind: "wait" };
  }

  #lease(kind: TaskKind, taskId: number, workerId: string, reissued: boolean): Assignment {
    const attempt = this.#nextAttempt++;
    const leaseEndMs = this.#clock.now() + this.#taskTimeoutMs;
    const tasks = kind === "map" ? this.#maps : this.#reduces;
    tasks[taskId] = { phase: "leased", attempt, leaseEndMs, workerId };
    this.#latestAttempt[kind][taskId] = attempt;
    if (reissued) this.#reissued++;
    return { kind, taskId, attempt, reissued };
  }

  /** Whether a report of `attempt` of task `taskId` would count now (see `complete`). */
  isLive(kind: TaskKind, taskId: number, attempt: number): boolean {
    const tasks = kind === "map" ? this.#maps : this.#reduces;
    const known = Number.isSafeInteger(taskId) && taskId >= 0 && taskId < tasks.length;
    return known && tasks[taskId].phase === "leased" &&
      this.#latestAttempt[kind][taskId] === attempt;
  }

  /**
   * Ends `attempt` of task `taskId` without output: the task is idle again at once (its worker
   * gave it up), unless the attempt is no longer live. Returns whether it was.
   */
  release(kind: TaskKind, taskId: number, attempt: number): boolean {
    if (!this.isLive(kind, taskId, attempt)) return false;
    (kind === "map" ? this.#maps : this.#reduces)[taskId] = { phase: "idle" };
    return true;
  }

  /**
   * Makes done map task `taskId` idle again because its output was lost (its worker died before
   * every reducer fetched it, §3.3 of the paper). Reduces already running may still finish; no
   * reduce is handed out until every map is done again. Returns whether the map was done.
   */
  reopenMap(taskId: number): boolean {
    const known = Number.isSafeInteger(taskId) && taskId >= 0 && taskId < this.#maps.length;
    if (!known || this.#maps[taskId].phase !== "done") return false;
    this.#maps[taskId] = { phase: "idle" };
    this.#mapsDone--;
    return true;
  }

  /**
   * Records that `attempt` of task `taskId` finished. Returns false — and changes nothing — for
   * a superseded attempt, a repeated report, or a task that does not exist; true when counted.
   * The latest attempt counts even after its lease ran out if nobody took the task over.
   */
  complete(kind: TaskKind, taskId: number, attempt: number): boolean {
    if (!this.isLive(kind, taskId, attempt)) {
      this.#staleReports++;
      return false;
    }
    (kind === "map" ? this.#maps : this.#reduces)[taskId] = { phase: "done" };
    if (kind === "map") {
      this.#mapsDone++;
    } else {
      // A reduce may finish while a map whose output it already read runs again (reopenMap).
      this.#reducesDone++;
    }
    assert(
      this.#mapsDone <= this.#maps.length,
      `Counted ${this.#mapsDone} maps done of ${this.#maps.length}`,
    );
    assert(
      this.#reducesDone <= this.#reduces.length,
      `Counted ${this.#reducesDone} reduces done of ${this.#reduces.length}`,
    );
    return true;
  }
}
