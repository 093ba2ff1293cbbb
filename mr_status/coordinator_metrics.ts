/**
 * The MapReduce coordinator's metrics for `dsys coordinator --metrics`: tasks by kind and state,
 * the job's state, re-issued tasks, failed attempts, workers and bytes read and written by
 * stage. All are read from the coordinator's status once per scrape, so the job pays nothing
 * between scrapes.
 *
 * @module
 */
import { MetricsRegistry, type ReadSeries } from "../observe/metrics.ts";
import type { CoordinatorStatus, JobBytes } from "./job_status.ts";

const TASK_KINDS = ["map", "reduce"] as const;
const TASK_STATES = ["idle", "leased", "done"] as const;
const JOB_STATES = ["running", "done", "failed"] as const;
/** The byte counts, by the stage label they get. */
const BYTE_STAGES: ReadonlyArray<readonly [string, keyof JobBytes]> = [
  ["input_read", "inputRead"],
  ["intermediate_written", "intermediateWritten"],
  ["intermediate_read", "intermediateRead"],
  ["output_written", "outputWritten"],
];

/**
 * A registry of the coordinator's metrics, each read from `status()`, called once per scrape.
 *
 * @example
 * ```ts
 * const registry = coordinatorMetrics(() => service.coordinatorStatus());
 * await serveMetrics("127.0.0.1:9100", registry);
 * ```
 */
export function coordinatorMetrics(status: () => CoordinatorStatus): MetricsRegistry {
  const registry = new MetricsRegistry();
  let now = status();
  registry.onCollect(() => now = status());
  const tasks: ReadSeries[] = TASK_KINDS.flatMap((kind) =>
    TASK_STATES.map((state) => ({
      labels: { kind, state },
      read: () => (kind === "map" ? now.maps : now.reduces)[state],
    }))
  );
  registry.readSeries("gauge", "dsys_mr_tasks", "Tasks by kind (map, reduce) and state.", tasks);
  registry.readByLabel(
    "gauge",
    "dsys_mr_job_state",
    "1 for the job's state (running, done or failed), 0 for the others.",
    "state",
    JOB_STATES,
    (state) => now.state === state ? 1 : 0,
  );
  registry.counter(
    "dsys_mr_tasks_reissued_total",
    "Tasks handed out again after their lease ran out.",
    () => now.reissued,
  );
  registry.counter(
    "dsys_mr_failed_attempts_total",
    "Task attempts that failed: the application threw, or their files could not be made.",
    () => now.failedAttempts,
  );
  registry.gauge(
    "dsys_mr_workers",
    "Workers the coordinator has heard from.",
    () => now.workersTotal,
  );
  registry.readSeries(
    "counter",
    "dsys_mr_bytes_total",
    "Bytes of accepted attempts by stage: input read and intermediate written by maps, " +
      "intermediate read and output written by reduces.",
    BYTE_STAGES.map(([stage, field]) => ({ labels: { stage }, read: () => now.bytes[field] })),
  );
  return registry;
}
