/**
 * A worker's side of a job that shares no folder (`rpc` transfer): its own folder for the map
 * outputs it holds, the server that hands them to reducers, inputs it cannot read fetched from
 * the coordinator, reduce inputs fetched from the workers that hold them, and outputs sent to
 * the coordinator.
 *
 * @module
 */
import type { Address, RpcServer } from "../rpc/mod.ts";
import { fetchChunks } from "../mr_data/chunks.ts";
import { intermediateName, joinPath } from "./job_files.ts";
import { fileChunks, type IntermediateSource } from "../mr_data/intermediate.ts";
import { locationOf, PartitionClients, servePartitions } from "../mr_data/partition_server.ts";
import type { MapTaskReply, ReduceTaskReply } from "./protocol.ts";
import { OutputSender } from "../mr_data/output_sender.ts";
import {
  READ_INPUT_METHOD,
  REPORT_LOST_OUTPUT_METHOD,
  WRITE_OUTPUT_METHOD,
} from "../mr_data/transfer_protocol.ts";

/** Calls the coordinator (patiently: the worker's call wrapper). */
export type CoordinatorCall = (method: string, args: unknown) => Promise<unknown>;

/** A map output a reducer could not fetch or read: the map must run again. */
export class LostOutputError extends Error {
  /** The map task whose output is lost. */
  readonly mapTask: number;
  /** Where it was. */
  readonly location: string;

  /** Creates the error; `cause` says why the fetch failed. */
  constructor(mapTask: number, location: string, cause: string) {
    super(`Cannot fetch the output of map task ${mapTask} from ${location}: ${cause}`);
    this.name = "LostOutputError";
    this.mapTask = mapTask;
    this.location = location;
  }
}

/** Options of {@linkcode WorkerTransfer.start}. */
export interface WorkerTransferOptions {
  /** The worker's own folder for the map outputs it holds. */
  readonly folder: string;
  /** Where to serve them; port 0 picks one. */
  readonly listen: Address | string;
  readonly call: CoordinatorCall;
  readonly log: (line: string) => void;
}

/** The worker's files and servers for `rpc` transfer; made on its first such task. */
export class WorkerTransfer {
  readonly #options: WorkerTransferOptions;
  readonly #server: RpcServer;
  readonly #clients: PartitionClients;

  private constructor(options: WorkerTransferOptions, server: RpcServer) {
    this.#options = options;
    this.#server = server;
    this.#clients = new PartitionClients(options.log);
  }

  /** Starts serving the map outputs in `options.folder`. */
  static async start(options: WorkerTransferOptions): Promise<WorkerTransfer> {
    const server = await servePartitions(options.folder, options.listen, options.log);
    return new WorkerTransfer(options, server);
  }

  /** The folder map outputs go to. */
  get folder(): string {
    return this.#options.folder;
  }

  /** Where reducers fetch this worker's map outputs; what its map reports carry. */
  get location(): string {
    return locationOf(this.#server);
  }

  /**
   * The split of map task `task` as text, or null when it owns no line: read from the input
   * file if this machine has one of the same size at the same path, else fetched from the
   * coordinator.
   */
  async mapInput(
    task: MapTaskReply,
    readLocal: () => Promise<string | null>,
  ): Promise<string | null> {
    if (await hasSameFile(task.inputPath, task.inputSizeBytes)) return await readLocal();
    const parts: Uint8Array[] = [];
    const chunks = fetchChunks(
      (range) => this.#options.call(READ_INPUT_METHOD, { taskId: task.taskId, ...range }),
      `map task ${task.taskId}'s input ${task.inputName} from the coordinator`,
    );
    for await (const chunk of chunks) parts.push(chunk.slice());
    if (parts.length === 0 && task.offset !== 0) return null;
    const decoder = new TextDecoder("utf-8", { ignoreBOM: task.offset !== 0 });
    let text = "";
    for (const part of parts) text += decoder.decode(part, { stream: true });
    return text + decoder.decode();
  }

  /** Map task `mapTask`'s partition for reduce `task`: from this worker's folder or its holder. */
  partition(task: ReduceTaskReply, mapTask: number): IntermediateSource {
    const location = task.mapLocations[mapTask];
    const name = intermediateName(mapTask, task.taskId);
    if (location === this.location) {
      return { name, chunks: fileChunks(joinPath(this.folder, name)) };
    }
    return {
      name: `${name} at ${location}`,
      chunks: this.#clients.fetch(location, mapTask, task.taskId),
    };
  }

  /** A sink that sends reduce `task`'s output to the coordinator. */
  outputSender(task: ReduceTaskReply): OutputSender {
    return new OutputSender(async (position, bytes, crc32) => {
      await this.#options.call(WRITE_OUTPUT_METHOD, {
        taskId: task.taskId,
        attempt: task.attempt,
        position,
        bytes,
        crc32,
      });
    });
  }

  /** Tells the coordinator that reduce `task` gave up because `error`'s map output is lost. */
  async reportLost(workerId: string, task: ReduceTaskReply, error: LostOutputError): Promise<void> {
    this.#options.log(`${error.message}; reduce task ${task.taskId} gives it back`);
    await this.#options.call(REPORT_LOST_OUTPUT_METHOD, {
      workerId,
      reduceTask: task.taskId,
      attempt: task.attempt,
      mapTask: error.mapTask,
      location: error.location,
      error: error.message.slice(0, 4096),
    });
  }

  /** Stops serving and closes the clients. */
  async close(): Promise<void> {
    this.#clients.close();
    await this.#server.close();
  }
}

/** Whether `path` is a file of `sizeBytes` bytes here. */
async function hasSameFile(path: string, sizeBytes: number): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && info.size === sizeBytes;
  } catch {
    return false;
  }
}
