/**
 * `dsys kv-server`: one replica of the key/value service as a real process — a
 * {@linkcode KvServer} over a {@linkcode RaftNode} on the real clock, TCP (or Unix sockets) to
 * its peers and crash-safe files in its data folder. Snapshots go to the same folder, so a
 * restarted server resumes from its own files.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { securityFromOptions, withServerSecurityOptions } from "../security/security_options.ts";
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import { RaftNode } from "../raft_node/node.ts";
import { KvServer } from "../kv/server.ts";
import { DEFAULT_HISTORY_REVISIONS } from "../kv/state_machine.ts";
import { DEFAULT_CLUSTER_ID } from "../storage/file_storage.ts";
import {
  parsePlacement,
  type PeerContext,
  type PeerOptions,
  type PeerService,
  runPeer,
} from "../peer/peer_process.ts";
import { examples, integerOption, sizeOrNeverOption, withPlacementOptions } from "./arguments.ts";
import { logFormatOption, metricsOption } from "./observe_options.ts";

/** Options of {@linkcode runKvServer}, as `dsys kv-server` takes them. */
export interface KvServerOptions extends Omit<PeerOptions, "kind" | "log"> {
  /** Snapshot once the persisted Raft state nears this many bytes; -1 never snapshots. */
  readonly maxRaftStateBytes: number;
  /** Revisions of history kept for watches and reads at past revisions; default 10,000. */
  readonly historyRevisions?: number;
}

/** The most revisions of history `--history` may keep (each is a row in memory). */
export const MAX_HISTORY_REVISIONS = 10_000_000;

/** The `kv-server` subcommand. */
export function kvServerCommand() {
  return withServerSecurityOptions(withPlacementOptions(
    new Command("kv-server").description(
      "Run a key/value server with its Raft peer inside; listens on the --endpoints entry of --id, " +
        "or on --listen when it joins a running cluster.",
    ),
  ))
    .requiredOption("--data <dir>", "this server's data folder (created if missing)")
    .option(
      "--maxraftstate <size>",
      "snapshot when the persisted Raft state nears this size (bytes, or with a unit: 8MiB, 500KB); -1 never",
      sizeOrNeverOption,
      -1,
    )
    .option(
      "--history <revisions>",
      "revisions of history kept for watches and reads at past revisions (--rev); " +
        "older ones answer ErrCompacted",
      integerOption(0, MAX_HISTORY_REVISIONS),
      DEFAULT_HISTORY_REVISIONS,
    )
    .option("--cluster <name>", "cluster name the data folder must belong to", DEFAULT_CLUSTER_ID)
    .addOption(logFormatOption())
    .addOption(metricsOption())
    .addHelpText(
      "after",
      examples(
        "peers=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
        "dsys kv-server --id 0 --endpoints $peers --data data/node-0 --maxraftstate 8MiB",
        "dsys kv-server --id 3 --join --listen 127.0.0.1:7004 --data data/node-3",
        "dsys member --endpoints $peers add --id 3 --address 127.0.0.1:7004",
        "dsys kv-server --id 0 --endpoints $peers --data data/node-0 --metrics 127.0.0.1:9100",
        "dsys kv-server --id 0 --endpoints $peers --data data/node-0 --history 100000",
      ),
    )
    .action(async (options) => {
      if (options.maxraftstate === 0) throw new Error("--maxraftstate must be -1 or positive");
      await runKvServer({
        id: options.id,
        ...parsePlacement(options),
        dataDir: options.data,
        cluster: options.cluster,
        security: await securityFromOptions(options, "peer"),
        maxRaftStateBytes: options.maxraftstate,
        historyRevisions: options.history,
        logFormat: options.logFormat,
        metrics: options.metrics,
      });
    });
}

/** Runs a key/value server until SIGTERM or SIGINT. */
export async function runKvServer(options: KvServerOptions): Promise<void> {
  const { maxRaftStateBytes, historyRevisions, ...peer } = options;
  await runPeer(
    { kind: "kv-server", ...peer },
    (context) => startKvService(context, maxRaftStateBytes, historyRevisions),
  );
}

/** Builds the key/value service and its Raft node. */
export function startKvService(
  context: PeerContext,
  maxRaftStateBytes: number,
  historyRevisions?: number,
): PeerService {
  let node: RaftNode | null = null;
  const server = new KvServer({
    id: context.id,
    clock: realClock,
    maxRaftStateBytes,
    historyRevisions,
    snapshot: context.restored.snapshot?.data ?? null,
    makeRaft: (apply) => {
      const raft = new RaftNode({
        ...context.node,
        clock: realClock,
        random: unseededRandom(),
        apply: (message) => {
          context.applies.count(message);
          apply(message);
        },
      });
      node = raft;
      return {
        start: (command) => {
          const result = raft.propose(command);
          if (result.isLeader) context.metrics.proposals.inc();
          return result;
        },
        readIndex: (lease) => {
          context.metrics.reads[lease ? "lease" : "read_index"].inc();
          return raft.readIndex(lease);
        },
        getState: () => ({ term: raft.term, isLeader: raft.role === "leader" && !raft.killed }),
        snapshot: (index, bytes) => {
          context.applies.snapshotTaken(index, bytes.byteLength);
          raft.snapshot(index, bytes);
        },
        raftStateSize: () => context.files.raftStateSize(),
        kill: () => raft.kill(),
      };
    },
  });
  const raftNode = node as RaftNode | null;
  if (raftNode === null) throw new Error(`Server ${context.id} did not start its Raft peer`);
  return {
    node: raftNode,
    handlers: server.handlers,
    status: () => ({ appliedIndex: server.appliedIndex }),
    stop: () => server.kill(),
  };
}
