/**
 * A job run in the test's own process: a coordinator on a Unix socket in the test's folder and
 * two workers, the output in `folder/job`.
 *
 * @module
 */
import type { MapReduceApp } from "../../apps/app.ts";
import { type CoordinatorResult, runCoordinator } from "../coordinator.ts";
import { joinPath } from "../job_files.ts";
import type { ProgressMode } from "../progress.ts";
import { runWorker, type WorkerResult } from "../worker.ts";
import type { Transfer } from "../../mr_data/transfer_protocol.ts";

/** How {@linkcode startTwoWorkerJob} runs a job; only `app` is required. */
export interface JobRun {
  readonly app: MapReduceApp | string;
  readonly nReduce?: number;
  readonly splitSizeBytes?: number;
  readonly progress?: ProgressMode;
  readonly skipBadRecords?: boolean;
  readonly transfer?: Transfer;
  /** Each worker's own folder (`workDir`), by index 1 and 2; default none. */
  readonly workDirOf?: (index: number) => string;
}

/** A started job: the coordinator's result, the workers' outcomes, and the coordinator's log. */
export interface StartedJob {
  readonly coordinator: Promise<CoordinatorResult>;
  readonly workers: Promise<WorkerResult[]>;
  readonly log: string[];
}

/** Starts a job of `run.app` on `inputs` with 3 reduce tasks unless told otherwise. */
export async function startTwoWorkerJob(
  folder: string,
  inputs: string[],
  run: JobRun,
): Promise<StartedJob> {
  const address = `unix:${joinPath(folder, "mr.sock")}`;
  const log: string[] = [];
  let listening!: () => void;
  const started = new Promise<void>((resolve) => listening = resolve);
  const coordinator = runCoordinator({
    listen: address,
    inputFiles: inputs,
    nReduce: run.nReduce ?? 3,
    splitSizeBytes: run.splitSizeBytes,
    outputDir: joinPath(folder, "job"),
    progress: run.progress ?? "off",
    skipBadRecords: run.skipBadRecords,
    transfer: run.transfer,
    log: (line) => log.push(line),
    onListening: () => listening(),
  });
  await started;
  const workers = [1, 2].map((index) =>
    runWorker({
      coordinator: address,
      app: run.app,
      workDir: run.workDirOf?.(index),
      log: () => {},
    })
  );
  return { coordinator, workers: Promise.all(workers), log };
}
