/**
 * The coordinator's bookkeeping: which map and reduce tasks are idle, leased to workers, or
 * done. A lease lasts `taskTimeoutMs`; a task whose every attempt's lease ran out goes out again
 * (a re-issue), superseding those attempts. Near the end of a phase an idle worker may also get
 * a backup attempt of a straggling task (the MapReduce paper, §3.6). Every issue gets a fresh
 * attempt id; the first report of any live attempt of a task not yet done counts, and only its
 * counters are taken.
 *
 * The table's durable part ({@linkcode FinishedTasks}: done tasks, their details, the counters
 * taken) can be read out for a checkpoint and given back to a new table on restart.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock } from "../util/clock.ts";
import { CounterSet } from "../apps/counters.ts";
import type { TaskKind } from "./protocol.ts";

/** Most tasks of one kind a job may have; a bound on the table's size. */
export const MAX_TASKS = 1_000_000;
/** Most attempts of one task live at a time: the first, or a re-issue, and one backup. */
export const ATTEMPTS_PER_TASK_MAX = 2;
/** Most detail characters kept per done task (the lead's map output locations are short). */
export const DETAIL_CHARS_MAX = 4_096;
/**
 * A phase is near its end when no task of it is idle and at most this share of its tasks is
 * leased (but at least one): the paper's "close to completion", sized for jobs of tens of tasks.
 */
export const BACKUP_LEASED_SHARE = 0.1;
/**
 * A leased task gets a backup only once its attempt has run longer than this many times the
 * phase's mean accepted attempt. A loser cannot be cancelled (a worker hears from the
 * coordinator only when it asks), so a backup of a task that is merely the last one started
 * would hold its worker for a whole task while the next phase waits; a straggler is far slower
 * than its peers, and the factor keeps ordinary spread in task sizes from looking like one.
 */
export const BACKUP_AFTER_MEAN_FACTOR = 2;

/** What the table hands a worker that asks for work. */
export type Assignment =
  | { kind: TaskKind; taskId: number; attempt: number; reissued: boolean; backup: boolean }
  | { kind: "wait" }
  | { kind: "done" };

/** Counters the progress line shows. */
export interface TaskCounts {
  /** Map tasks in the job: one per input split. */
  mapCount: number;
  /** Map tasks whose output is final. */
  mapsDone: number;
  /** Reduce tasks in the job (`--nreduce`). */
  reduceCount: number;
  /** Reduce tasks whose output is final. */
  reducesDone: number;
  /** Tasks handed out again after their lease ran out. */
  reissued: number;
  /** Backup attempts handed out near the end of a phase. */
  backups: number;
  /** Reports ignored because their attempt was superseded or the task was already done. */
  staleReports: number;
}

/** How many tasks of one kind are in each state. */
export interface TaskStates {
  /** Waiting for a worker (never issued, returned after a failed attempt, or reopened). */
  idle: number;
  /** Handed to one or two workers and not yet reported (a lease may have run out). */
  leased: number;
  /** Reported by an attempt that counted. */
  done: number;
}

/** One done task in {@linkcode FinishedTasks}. */
export interface FinishedTask {
  readonly taskId: number;
  /** What the accepted report said about the output (where it lives); absent: nothing. */
  readonly detail?: string;
}

/** The durable part of a table: what a restarted coordinator must not redo or recount. */
export interface FinishedTasks {
  /** Done map tasks, ids ascending. */
  readonly maps: readonly FinishedTask[];
  /** Done reduce tasks, ids ascending. */
  readonly reduces: readonly FinishedTask[];
  /** Maps reopened after their output was lost: not done, but their counts are taken. */
  readonly reopenedMaps: readonly number[];
  /** The counts of every accepted attempt, each task's once. */
  readonly counters: Readonly<Record<string, number>>;
}

/** One issue of a task to a worker. */
interface Attempt {
  readonly attempt: number;
  readonly workerId: string;
  readonly startMs: number;
  readonly leaseEndMs: number;
}

type TaskState =
  | { phase: "idle" }
  /** 1 to {@linkcode ATTEMPTS_PER_TASK_MAX} attempts, oldest first. */
  | { phase: "leased"; attempts: Attempt[] }
  | { phase: "done"; detail: string | undefined };

/** Sizes and timing of a table. */
export interface TaskTableOptions {
  /** One map task per input split. */
  mapCount: number;
  /** Number of reduce tasks (partitions). */
  reduceCount: number;
  /** How long a worker may hold a task before it is handed to another. */
  taskTimeoutMs: number;
  /** Time source; a manual clock in tests. */
  clock: Clock;
  /** Hand out backup attempts near the end of each phase; default true. */
  backupTasks?: boolean;
  /** What a previous coordinator of this job finished (from its checkpoint). */
  finished?: FinishedTasks;
}

/** Per task kind: the tasks, and the durations of accepted attempts for the backup rule. */
interface Phase {
  readonly tasks: TaskState[];
  /** Whether each task's counts were taken; outlives a reopen, so a re-run is not recounted. */
  readonly counted: Uint8Array;
  done: number;
  acceptedMsTotal: number;
  accepted: number;
}

/** The state of every task of one job. */
export class TaskTable {
  readonly #clock: Clock;
  readonly #taskTimeoutMs: number;
  readonly #backupTasks: boolean;
  readonly #phases: Record<TaskKind, Phase>;
  readonly #counters = new CounterSet();
  #nextAttempt = 1;
  #reissued = 0;
  #backups = 0;
  #losersLeaseEndMs = 0;
  #staleReports = 0;

  /** Creates a table with every task idle, or done as `options.finished` says. */
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
    this.#backupTasks = options.backupTasks ?? true;
    this.#phases = { map: newPhase(mapCount), reduce: newPhase(reduceCount) };
    if (options.finished !== undefined) this.#restore(options.finished);
  }

  /** Whether every reduce task is done (and so every output file is in place). */
  get done(): boolean {
    return this.#phases.reduce.done === this.#phases.reduce.tasks.length;
  }

  /** The counters for the progress line. */
  counts(): TaskCounts {
    const { map, reduce } = this.#phases;
    return {
      mapCount: map.tasks.length,
      mapsDone: map.done,
      reduceCount: reduce.tasks.length,
      reducesDone: reduce.done,
      reissued: this.#reissued,
      backups: this.#backups,
      staleReports: this.#staleReports,
    };
  }

  /**
   * The latest lease end of the attempts that lost to another attempt of their task (0: none):
   * until then their workers may still run them, and report.
   */
  get losersLeaseEndMs(): number {
    return this.#losersLeaseEndMs;
  }

  /** How many tasks of `kind` are idle, leased and done. */
  states(kind: TaskKind): TaskStates {
    const states: TaskStates = { idle: 0, leased: 0, done: 0 };
    for (const task of this.#phases[kind].tasks) states[task.phase]++;
    return states;
  }

  /** What the accepted attempts counted, each task's once, by name. */
  counters(): Record<string, number> {
    return this.#counters.counts();
  }

  /** The workers holding an unexpired lease now. */
  leaseHolders(): Set<string> {
    const now = this.#clock.now();
    const holders = new Set<string>();
    for (const task of [...this.#phases.map.tasks, ...this.#phases.reduce.tasks]) {
      if (task.phase !== "leased") continue;
      for (const attempt of task.attempts) {
        if (attempt.leaseEndMs > now) holders.add(attempt.workerId);
      }
    }
    return holders;
  }

  /**
   * Hands `workerId` an idle task of the current phase (maps, then — once every map is done —
   * reduces), else a task whose every lease ran out, else a backup attempt of a straggler near
   * the end of the phase, else says wait (or done).
   */
  assign(workerId: string): Assignment {
    if (this.done) return { kind: "done" };
    const kind: TaskKind = this.#phases.map.done < this.#phases.map.tasks.length ? "map" : "reduce";
    const { tasks } = this.#phases[kind];
    const now = this.#clock.now();
    let expired = -1;
    let leased = 0;
    for (let taskId = 0; taskId < tasks.length; taskId++) {
      const task = tasks[taskId];
      if (task.phase === "idle") return this.#lease(kind, taskId, workerId, "first");
      if (task.phase !== "leased") continue;
      leased++;
      if (expired < 0 && task.attempts.every((attempt) => attempt.leaseEndMs <= now)) {
        expired = taskId;
      }
    }
    if (expired >= 0) return this.#lease(kind, expired, workerId, "reissue");
    const straggler = this.#backupCandidate(kind, leased, workerId);
    if (straggler >= 0) return this.#lease(kind, straggler, workerId, "backup");
    return { kind: "wait" };
  }

  /**
   * The leased task of `kind` to back up for `workerId`, or -1. Only near the phase's end (see
   * {@linkcode BACKUP_LEASED_SHARE}), only a task with one attempt, live, that `workerId` does
   * not hold and that has run over {@linkcode BACKUP_AFTER_MEAN_FACTOR} times the phase's mean
   * accepted attempt; of those, the one leased longest ago.
   */
  #backupCandidate(kind: TaskKind, leased: number, workerId: string): number {
    const phase = this.#phases[kind];
    const leasedMax = Math.max(1, Math.floor(phase.tasks.length * BACKUP_LEASED_SHARE));
    if (!this.#backupTasks || leased > leasedMax || phase.accepted === 0) return -1;
    const now = this.#clock.now();
    const ageMinMs = BACKUP_AFTER_MEAN_FACTOR * phase.acceptedMsTotal / phase.accepted;
    let chosen = -1;
    let chosenStartMs = Infinity;
    for (let taskId = 0; taskId < phase.tasks.length; taskId++) {
      const task = phase.tasks[taskId];
      if (task.phase !== "leased") continue;
      // One attempt, live: a task already backed up waits for a winner or for a re-issue.
      const [only, ...others] = task.attempts;
      if (others.length > 0 || only.leaseEndMs <= now || only.workerId === workerId) continue;
      if (now - only.startMs > ageMinMs && only.startMs < chosenStartMs) {
        chosen = taskId;
        chosenStartMs = only.startMs;
      }
    }
    return chosen;
  }

  #lease(
    kind: TaskKind,
    taskId: number,
    workerId: string,
    why: "first" | "reissue" | "backup",
  ): Assignment {
    const attempt = this.#nextAttempt++;
    const now = this.#clock.now();
    const issued: Attempt = {
      attempt,
      workerId,
      startMs: now,
      leaseEndMs: now + this.#taskTimeoutMs,
    };
    const tasks = this.#phases[kind].tasks;
    const task = tasks[taskId];
    // A re-issue supersedes every attempt; a backup runs beside the task's one attempt.
    const kept = why === "backup" && task.phase === "leased" ? task.attempts : [];
    const attempts = [...kept, issued];
    assert(
      attempts.length <= ATTEMPTS_PER_TASK_MAX,
      `Cannot issue attempt ${attempt} of ${kind} task ${taskId}: ${kept.length} are live`,
    );
    tasks[taskId] = { phase: "leased", attempts };
    if (why === "reissue") this.#reissued++;
    if (why === "backup") this.#backups++;
    return { kind, taskId, attempt, reissued: why === "reissue", backup: why === "backup" };
  }

  /**
   * Records that `attempt` of task `taskId` finished, with `detail` (say, where its output
   * lives) and what it counted. Returns true when this is the first report of a live attempt
   * of a task not yet done — it wins, the task's other attempt becomes stale — and false,
   * changing nothing but the stale count, for any other report. The latest attempt counts even
   * after its lease ran out if nobody took the task over. A task's counts are taken once, even
   * when a reopened map completes again.
   */
  complete(
    kind: TaskKind,
    taskId: number,
    attempt: number,
    detail?: string,
    counters?: Readonly<Record<string, number>>,
  ): boolean {
    const phase = this.#phases[kind];
    const won = this.#liveAttempt(kind, taskId, attempt);
    if (won === undefined) {
      this.#staleReports++;
      return false;
    }
    assert(
      detail === undefined || detail.length <= DETAIL_CHARS_MAX,
      `Cannot record ${kind} task ${taskId}: its detail has over ${DETAIL_CHARS_MAX} characters`,
    );
    const task = phase.tasks[taskId];
    assert(task.phase === "leased", `Cannot complete ${kind} task ${taskId}: it is not leased`);
    for (const loser of task.attempts) {
      if (loser !== won) {
        this.#losersLeaseEndMs = Math.max(this.#losersLeaseEndMs, loser.leaseEndMs);
      }
    }
    phase.tasks[taskId] = { phase: "done", detail };
    phase.done++;
    phase.accepted++;
    phase.acceptedMsTotal += this.#clock.now() - won.startMs;
    if (phase.counted[taskId] === 0 && counters !== undefined) this.#counters.addAll(counters);
    phase.counted[taskId] = 1;
    assert(
      phase.done <= phase.tasks.length,
      `Counted ${phase.done} ${kind} tasks done of ${phase.tasks.length}`,
    );
    return true;
  }

  /** Whether a report of `attempt` of task `taskId` would count now (see `complete`). */
  isLive(kind: TaskKind, taskId: number, attempt: number): boolean {
    return this.#liveAttempt(kind, taskId, attempt) !== undefined;
  }

  /**
   * Ends `attempt` of task `taskId` without output (its worker gave it up): the task is idle
   * again at once unless its other attempt still runs. Returns whether the attempt was live.
   */
  release(kind: TaskKind, taskId: number, attempt: number): boolean {
    if (!this.isLive(kind, taskId, attempt)) return false;
    const task = this.#phases[kind].tasks[taskId];
    assert(task.phase === "leased", `Cannot release ${kind} task ${taskId}: it is not leased`);
    const others = task.attempts.filter((other) => other.attempt !== attempt);
    this.#phases[kind].tasks[taskId] = others.length === 0
      ? { phase: "idle" }
      : { phase: "leased", attempts: others };
    return true;
  }

  #liveAttempt(kind: TaskKind, taskId: number, attempt: number): Attempt | undefined {
    const task = this.#phases[kind].tasks[taskId];
    if (!Number.isSafeInteger(taskId) || task?.phase !== "leased") return undefined;
    return task.attempts.find((live) => live.attempt === attempt);
  }

  /** The detail the accepted report of a done task gave, or undefined. */
  detailOf(kind: TaskKind, taskId: number): string | undefined {
    const task = this.#phases[kind].tasks[taskId];
    return task?.phase === "done" ? task.detail : undefined;
  }

  /**
   * Makes done map task `taskId` idle again because its output was lost (its worker died before
   * every reducer fetched it, §3.3 of the paper); returns false, changing nothing, when the map
   * is not done. Reduces already running may still finish (they fetched what they needed); no
   * reduce is handed out until every map is done again. Its counts are not taken again.
   */
  reopenMap(taskId: number): boolean {
    const maps = this.#phases.map;
    if (maps.tasks[taskId]?.phase !== "done") return false;
    maps.tasks[taskId] = { phase: "idle" };
    maps.done--;
    assert(maps.done >= 0, `Counted ${maps.done} maps done after reopening map ${taskId}`);
    return true;
  }

  /** The durable part of the table, for a checkpoint. */
  finished(): FinishedTasks {
    const doneOf = (phase: Phase): FinishedTask[] => {
      const done: FinishedTask[] = [];
      phase.tasks.forEach((task, taskId) => {
        if (task.phase !== "done") return;
        done.push(task.detail === undefined ? { taskId } : { taskId, detail: task.detail });
      });
      return done;
    };
    const map = this.#phases.map;
    const reopenedMaps: number[] = [];
    map.tasks.forEach((task, taskId) => {
      if (task.phase !== "done" && map.counted[taskId] === 1) reopenedMaps.push(taskId);
    });
    return {
      maps: doneOf(map),
      reduces: doneOf(this.#phases.reduce),
      reopenedMaps,
      counters: this.#counters.counts(),
    };
  }

  /** Marks what a previous coordinator finished; every other task stays idle. */
  #restore(finished: FinishedTasks): void {
    const mark = (kind: TaskKind, done: readonly FinishedTask[]) => {
      const phase = this.#phases[kind];
      for (const { taskId, detail } of done) {
        assert(
          Number.isSafeInteger(taskId) && phase.tasks[taskId]?.phase === "idle",
          `Cannot resume ${kind} task ${taskId}: the job has ${phase.tasks.length}, or it is listed twice`,
        );
        phase.tasks[taskId] = { phase: "done", detail };
        phase.counted[taskId] = 1;
        phase.done++;
      }
    };
    mark("map", finished.maps);
    mark("reduce", finished.reduces);
    for (const taskId of finished.reopenedMaps) {
      assert(
        this.#phases.map.tasks[taskId]?.phase === "idle",
        `Cannot resume reopened map ${taskId}: the job has ${this.#phases.map.tasks.length} maps, or it is done`,
      );
      this.#phases.map.counted[taskId] = 1;
    }
    this.#counters.addAll(finished.counters);
  }
}

function newPhase(taskCount: number): Phase {
  return {
    tasks: Array.from({ length: taskCount }, () => ({ phase: "idle" })),
    counted: new Uint8Array(taskCount),
    done: 0,
    acceptedMsTotal: 0,
    accepted: 0,
  };
}
