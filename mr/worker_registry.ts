/**
 * What the coordinator knows of its workers: when each was last heard from, what it ran, how
 * many of the attempts it was handed are still out, and whether it was told to exit. The
 * progress line counts the present ones, `dsys mr status` lists them, and a finished job waits
 * (within its grace period) for those it may still hear from, so that they are told to exit
 * rather than find the coordinator gone.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** Most distinct workers remembered; the one heard from least recently is forgotten first. */
export const WORKERS_REMEMBERED_MAX = 10_000;

/** One worker as `dsys mr status` shows it. */
export interface WorkerRow {
  /** The id the worker gave itself. */
  id: string;
  /** Milliseconds since it last asked or reported. */
  lastHeardMsAgo: number;
  /** Attempts it finished and reported (counted or superseded). */
  tasksRun: number;
  /** Attempts it reported as failed. */
  tasksFailed: number;
}

interface WorkerRecord {
  lastHeardMs: number;
  tasksRun: number;
  tasksFailed: number;
  /** Attempts handed to it and not yet reported, done or failed. */
  attemptsOut: number;
  toldToExit: boolean;
}

/** The coordinator's workers, bounded to {@linkcode WORKERS_REMEMBERED_MAX}. */
export class WorkerRegistry {
  /** In the order last heard from, oldest first. */
  readonly #workers = new Map<string, WorkerRecord>();

  /** How many workers are remembered. */
  get size(): number {
    return this.#workers.size;
  }

  /** Notes that `workerId` asked or reported at `nowMs`. */
  heardFrom(workerId: string, nowMs: number): void {
    const worker = this.#workers.get(workerId) ??
      { lastHeardMs: nowMs, tasksRun: 0, tasksFailed: 0, attemptsOut: 0, toldToExit: false };
    worker.lastHeardMs = nowMs;
    // Deleting and setting again moves the worker to the end: the map stays in hearing order.
    this.#workers.delete(workerId);
    this.#workers.set(workerId, worker);
    if (this.#workers.size > WORKERS_REMEMBERED_MAX) {
      this.#workers.delete(this.#workers.keys().next().value as string);
    }
  }

  /** Notes that `workerId` was handed an attempt. */
  attemptHanded(workerId: string): void {
    this.#known(workerId).attemptsOut++;
  }

  /**
   * Notes that `workerId` reported an attempt: finished, failed, or given back (its reduce could
   * not fetch a map's output).
   */
  attemptReported(workerId: string, outcome: "finished" | "failed" | "given back"): void {
    const worker = this.#known(workerId);
    worker.attemptsOut = Math.max(0, worker.attemptsOut - 1);
    if (outcome === "finished") worker.tasksRun++;
    if (outcome === "failed") worker.tasksFailed++;
  }

  /** Notes that `workerId` was told to exit. */
  toldToExit(workerId: string): void {
    this.#known(workerId).toldToExit = true;
  }

  /** The workers heard from within `presenceMs` of `nowMs` and not told to exit. */
  present(nowMs: number, presenceMs: number): Set<string> {
    const present = new Set<string>();
    for (const [workerId, worker] of this.#workers) {
      if (nowMs - worker.lastHeardMs < presenceMs && !worker.toldToExit) present.add(workerId);
    }
    return present;
  }

  /**
   * Whether some worker not yet told to exit may still ask: it was heard from within
   * `presenceMs`, or it holds an attempt it has not reported (a slow or superseded one).
   */
  anyAwaited(nowMs: number, presenceMs: number): boolean {
    for (const worker of this.#workers.values()) {
      if (worker.toldToExit) continue;
      if (nowMs - worker.lastHeardMs < presenceMs || worker.attemptsOut > 0) return true;
    }
    return false;
  }

  /** Up to `rowsMax` workers, the most recently heard from first. */
  rows(nowMs: number, rowsMax: number): WorkerRow[] {
    assert(rowsMax >= 0, `Cannot list ${rowsMax} workers`);
    const rows: WorkerRow[] = [];
    for (const [id, worker] of [...this.#workers].reverse()) {
      if (rows.length >= rowsMax) break;
      rows.push({
        id,
        lastHeardMsAgo: Math.max(0, nowMs - worker.lastHeardMs),
        tasksRun: worker.tasksRun,
        tasksFailed: worker.tasksFailed,
      });
    }
    return rows;
  }

  #known(workerId: string): WorkerRecord {
    const worker = this.#workers.get(workerId);
    assert(worker !== undefined, `Worker ${workerId} was not heard from before`);
    return worker;
  }
}
