/**
 * A worker's map output, served to reducers (the MapReduce paper's §3.1: map output stays on the
 * mapper's local disk and reducers read it remotely). A worker that runs a map task when the
 * job shares no folder keeps the task's partitions in its own folder and answers
 * `Worker.FetchPartition` for them, chunk by chunk, until it exits.
 *
 * @module
 */
import {
  type Address,
  connect,
  formatAddress,
  type RpcClient,
  type RpcServer,
  serve,
} from "../rpc/mod.ts";
import {
  type ChunkRange,
  fetchChunks,
  fileSizeOf,
  parseChunkRange,
  readFileChunk,
} from "./chunks.ts";
import { intermediateName, joinPath } from "../mr/job_files.ts";
import { objectOf, wholeNumberField } from "../util/message_fields.ts";

/** RPC method: a reducer asks for a chunk of one map's partition; args {@linkcode PartitionRequest}. */
export const FETCH_PARTITION_METHOD = "Worker.FetchPartition";
/** Timeout of one chunk fetch: a chunk is a few MiB read from a local disk. */
const FETCH_TIMEOUT_MS = 30_000;

/** Which partition, and which chunk of it. */
export interface PartitionRequest extends ChunkRange {
  readonly mapTask: number;
  readonly reduceTask: number;
}

/** Checks the arguments of {@linkcode FETCH_PARTITION_METHOD}; throws naming the bad field. */
export function parsePartitionRequest(value: unknown): PartitionRequest {
  const what = "partition request";
  const fields = objectOf(value, what);
  return {
    mapTask: wholeNumberField(fields, "mapTask", what),
    reduceTask: wholeNumberField(fields, "reduceTask", what),
    ...parseChunkRange(fields, what),
  };
}

/**
 * Serves the partitions in `folder` on `listen` (port 0 picks one). The server's address is
 * what the worker reports as the place of its map outputs.
 *
 * @example
 * ```ts
 * const server = await servePartitions("/tmp/worker-1", "127.0.0.1:0");
 * console.log(`map outputs at ${formatAddress(server.address)}`);
 * await server.close();
 * ```
 */
export function servePartitions(
  folder: string,
  listen: Address | string,
  log: (line: string) => void = (line) => console.error(line),
): Promise<RpcServer> {
  return serve(listen, {
    [FETCH_PARTITION_METHOD]: async (args) => {
      const request = parsePartitionRequest(args);
      const path = joinPath(folder, intermediateName(request.mapTask, request.reduceTask));
      let sizeBytes: number;
      try {
        sizeBytes = await fileSizeOf(path);
      } catch {
        throw new Error(
          `This worker holds no output of map task ${request.mapTask} for reduce task ${request.reduceTask}`,
        );
      }
      return await readFileChunk(path, 0, sizeBytes, request);
    },
  }, { log });
}

/** Clients of the workers a reducer fetches from, one per address, closed together. */
export class PartitionClients {
  readonly #clients = new Map<string, RpcClient>();
  readonly #log: (line: string) => void;

  /** Creates an empty set; `log` receives the clients' connection problems. */
  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /** The chunks of map task `mapTask`'s partition `reduceTask`, from the worker at `location`. */
  fetch(location: string, mapTask: number, reduceTask: number): AsyncGenerator<Uint8Array> {
    let client = this.#clients.get(location);
    if (client === undefined) {
      client = connect(location, { defaultTimeoutMs: FETCH_TIMEOUT_MS, log: this.#log });
      this.#clients.set(location, client);
    }
    const caller = client;
    return fetchChunks(
      (range) => caller.call(FETCH_PARTITION_METHOD, { mapTask, reduceTask, ...range }),
      `${intermediateName(mapTask, reduceTask)} from ${location}`,
    );
  }

  /** Closes every client. */
  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}

/** The text a worker reports as the place of its map outputs. */
export function locationOf(server: RpcServer): string {
  return formatAddress(server.address);
}
