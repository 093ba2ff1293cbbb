/**
 * MapReduce as in the lab: a coordinator hands map and reduce tasks to worker processes over
 * RPC; applications are modules exporting `map` and `reduce`. This is the folder's public face:
 * what the command line, the demo, the benchmark and the tests use.
 *
 * @example
 * ```ts
 * import { runCoordinator, runSequential, runWorker } from "./mod.ts";
 *
 * await runSequential({ app: "wc", inputFiles: ["pg-grimm.txt"] }); // writes mr-out-0
 * // In separate processes:
 * await runCoordinator({ listen: "unix:/tmp/mr.sock", inputFiles: ["pg-grimm.txt"] });
 * await runWorker({ coordinator: "unix:/tmp/mr.sock", app: "wc" });
 * ```
 *
 * @module
 */
export { type Counters, CounterSet, formatCounts } from "../apps/counters.ts";
export type {
  CombineFunction,
  KeyValue,
  MapFunction,
  MapReduceApp,
  ReduceFunction,
} from "../apps/app.ts";
export { loadApp } from "../apps/load_app.ts";
export { builtInAppNames } from "../apps/built_in.ts";
export { runSequential, type SequentialOptions } from "./sequential.ts";
export {
  type CoordinatorOptions,
  type CoordinatorResult,
  DEFAULT_COORDINATOR_ADDRESS,
  DEFAULT_REDUCE_COUNT,
  DEFAULT_TASK_TIMEOUT_MS,
  runCoordinator,
} from "./coordinator.ts";
export { runWorker, workerEndLine, type WorkerOptions, type WorkerResult } from "./worker.ts";
export {
  type CoordinatorStatus,
  DEFAULT_MR_STATUS_TIMEOUT_MS,
  fetchCoordinatorStatus,
  formatCoordinatorStatus,
  type JobBytes,
  STATUS_METHOD,
} from "../mr_status/job_status.ts";
export { SKIPPED_RECORDS_COUNTER } from "../mr_failures/skip_records.ts";
export { formatStatus, type JobStatus, type ProgressMode } from "./progress.ts";
export { readJobOutput } from "./job_files.ts";
export { type LocalJobOptions, type LocalJobResult, runLocalJob } from "./local_job.ts";
export {
  CORPUS_FILE_NAMES,
  type CorpusOptions,
  ENGLISH_HEAD_WORDS,
  writeCorpus,
  writeCorpusOfSize,
} from "./corpus.ts";
export { DEFAULT_BENCH_BYTES, type MrBenchOptions, type MrBenchRow, runMrBench } from "./bench.ts";
export type { TaskCounts, TaskStates } from "./task_table.ts";
export type { WorkerRow } from "./worker_registry.ts";
export { type Phase, PHASES, PhaseTimes } from "./phase_times.ts";
export { formatByteSize, parseByteSize } from "./byte_size.ts";
export { DEFAULT_SPLIT_BYTES, type InputSplit } from "../mr_data/input_split.ts";
export { type Transfer, TRANSFERS } from "../mr_data/transfer_protocol.ts";
