/**
 * `dsys raft-peer`: a bare Raft peer as a real process, replicating opaque commands (strings or
 * bytes) proposed over RPC with `Raft.Propose`. It has no state machine: it counts what it
 * applies (see `Status`) and, when asked, logs each applied command.
 *
 * @module
 */
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import type { ProposeResult } from "../raft/core.ts";
import { RaftNode } from "../raft/node.ts";
import { type PeerContext, type PeerService, runPeer } from "./peer_process.ts";

/** The RPC method that proposes a command: argument {@linkcode ProposeArguments}. */
export const PROPOSE_METHOD = "Raft.Propose";
/** Longest command `Raft.Propose` accepts, in bytes or characters. */
export const MAX_COMMAND_BYTES = 1024 * 1024;

/** What `Raft.Propose` takes. */
export interface ProposeArguments {
  /** The command to replicate. */
  readonly command: string | Uint8Array;
}

/** Options of {@linkcode runRaftPeer}, as `dsys raft-peer` takes them. */
export interface RaftPeerOptions {
  /** This peer's index in `peers`. */
  readonly id: number;
  /** Every peer's address in id order. */
  readonly peers: readonly string[];
  /** The data folder. */
  readonly dataDir: string;
  /** The cluster name the folder is checked against. */
  readonly cluster: string;
  /** Log one line per applied command. */
  readonly logApplies: boolean;
}

/** Runs a Raft peer until SIGTERM or SIGINT. */
export async function runRaftPeer(options: RaftPeerOptions): Promise<void> {
  await runPeer(
    {
      kind: "raft-peer",
      id: options.id,
      peers: options.peers,
      dataDir: options.dataDir,
      cluster: options.cluster,
    },
    (context) => startRaftService(context, options.logApplies),
  );
}

/** Builds the Raft node and the `Raft.Propose` method around it. */
export function startRaftService(context: PeerContext, logApplies: boolean): PeerService {
  let appliedIndex = context.restored.snapshot?.index ?? 0;
  let appliedCommands = 0;
  const node = new RaftNode({
    id: context.id,
    peers: context.peers,
    storage: context.storage,
    clock: realClock,
    random: unseededRandom(),
    onFatal: context.onFatal,
    apply: (message) => {
      if ("snapshotValid" in message) {
        appliedIndex = message.snapshotIndex;
        return;
      }
      appliedIndex = message.commandIndex;
      appliedCommands++;
      if (logApplies) {
        context.log(`applied entry ${message.commandIndex}: ${describeCommand(message.command)}`);
      }
    },
  });
  const propose = (args: unknown): ProposeResult => {
    const problem = proposeProblem(args);
    if (problem !== null) throw new Error(`Peer ${context.id} refused a proposal: ${problem}`);
    return node.propose((args as ProposeArguments).command);
  };
  return {
    node,
    handlers: { [PROPOSE_METHOD]: propose },
    status: () => ({
      appliedIndex,
      snapshotIndex: context.restored.snapshot?.index ?? 0,
      snapshotsInstalled: 0,
      appliedCommands,
    }),
    stop: () => node.kill(),
  };
}

/** Why `args` is not a {@linkcode ProposeArguments}, or null. */
export function proposeProblem(args: unknown): string | null {
  if (typeof args !== "object" || args === null) return "its argument is not a map";
  const command = (args as Record<string, unknown>).command;
  if (typeof command !== "string" && !(command instanceof Uint8Array)) {
    return "its command is neither a string nor bytes";
  }
  const size = typeof command === "string" ? command.length : command.byteLength;
  if (size > MAX_COMMAND_BYTES) {
    return `its command has ${size} bytes; at most ${MAX_COMMAND_BYTES} are allowed`;
  }
  return null;
}

function describeCommand(command: unknown): string {
  if (typeof command === "string") return JSON.stringify(command.slice(0, 200));
  if (command instanceof Uint8Array) return `${command.byteLength} bytes`;
  return typeof command;
}
