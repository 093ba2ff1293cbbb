/**
 * `dsys kv-server`: one replica of the key/value service as a real process — a
 * {@linkcode KvServer} over a {@linkcode RaftNode} on the real clock, TCP (or Unix sockets) to
 * its peers and crash-safe files in its data folder. Snapshots go to the same folder, so a
 * restarted server resumes from its own files.
 *
 * @module
 */
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import { RaftNode } from "../raft/node.ts";
import { KvServer } from "../kv/server.ts";
import {
  type PeerContext,
  type PeerOptions,
  type PeerService,
  runPeer,
} from "../peer/peer_process.ts";

/** Options of {@linkcode runKvServer}, as `dsys kv-server` takes them. */
export interface KvServerOptions extends Omit<PeerOptions, "kind" | "log"> {
  /** Snapshot once the persisted Raft state nears this many bytes; -1 never snapshots. */
  readonly maxRaftStateBytes: number;
}

/** Runs a key/value server until SIGTERM or SIGINT. */
export async function runKvServer(options: KvServerOptions): Promise<void> {
  const { maxRaftStateBytes, ...peer } = options;
  await runPeer(
    { kind: "kv-server", ...peer },
    (context) => startKvService(context, maxRaftStateBytes),
  );
}

/** Builds the key/value service and its Raft node; counts snapshots and applies for status. */
export function startKvService(context: PeerContext, maxRaftStateBytes: number): PeerService {
  let snapshotIndex = context.restored.snapshot?.index ?? 0;
  let snapshotsInstalled = 0;
  let appliedCommands = 0;
  let node: RaftNode | null = null;
  const server = new KvServer({
    id: context.id,
    clock: realClock,
    maxRaftStateBytes,
    snapshot: context.restored.snapshot?.data ?? null,
    makeRaft: (apply) => {
      const raft = new RaftNode({
        id: context.id,
        peers: context.peers,
        storage: context.storage,
        clock: realClock,
        random: unseededRandom(),
        onFatal: context.onFatal,
        apply: (message) => {
          if ("snapshotValid" in message) {
            snapshotsInstalled++;
            snapshotIndex = message.snapshotIndex;
            context.log(
              `installed a snapshot from the leader up to entry ${message.snapshotIndex} (term ${message.snapshotTerm})`,
            );
          } else {
            appliedCommands++;
          }
          apply(message);
        },
      });
      node = raft;
      return {
        start: (command) => raft.propose(command),
        getState: () => ({ term: raft.term, isLeader: raft.role === "leader" && !raft.killed }),
        snapshot: (index, bytes) => {
          snapshotIndex = index;
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
    status: () => ({
      appliedIndex: server.appliedIndex,
      snapshotIndex,
      snapshotsInstalled,
      appliedCommands,
    }),
    stop: () => server.kill(),
  };
}
