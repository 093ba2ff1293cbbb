/**
 * `dsys raft-peer`: a bare Raft peer as a real process, replicating opaque commands (strings or
 * bytes) proposed over RPC with `Raft.Propose`. It has no state machine: it counts what it
 * applies (see `Status`) and, when asked, logs each applied command.
 *
 * @module
 */
import { realClock, sleep } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import type { ProposeResult } from "../raft/core.ts";
import { RaftNode } from "../raft/node.ts";
import { connect } from "../rpc/tcp_client.ts";
import { type NodeStatus, STATUS_METHOD } from "../peer/status.ts";
import {
  type PeerContext,
  type PeerOptions,
  type PeerService,
  runPeer,
} from "../peer/peer_process.ts";

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
export interface RaftPeerOptions extends Omit<PeerOptions, "kind" | "log"> {
  /** Log one line per applied command. */
  readonly logApplies: boolean;
}

/** Runs a Raft peer until SIGTERM or SIGINT. */
export async function runRaftPeer(options: RaftPeerOptions): Promise<void> {
  const { logApplies, ...peer } = options;
  await runPeer({ kind: "raft-peer", ...peer }, (context) => startRaftService(context, logApplies));
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

/** Pause between rounds of `dsys propose` while no peer leads or the entry is not committed. */
const PROPOSE_RETRY_MS = 50;

/** What `dsys propose` found. */
export interface ProposeOutcome {
  /** The peer that accepted the command as leader. */
  readonly leader: number;
  /** The index and term the command was given. */
  readonly index: number;
  /** The leader's term when it accepted the command. */
  readonly term: number;
}

/**
 * `dsys propose`: offers `command` to each peer of `servers` in turn until one accepts it as
 * leader, then waits until that leader, still in the same term, reports the index committed —
 * a leader never replaces entries of its own term, so the committed entry is this command.
 * Returns null when that did not happen within `timeoutMs` (the outcome is then unknown).
 */
export async function proposeCommand(
  servers: readonly string[],
  command: string,
  timeoutMs: number,
): Promise<ProposeOutcome | null> {
  const clients = servers.map((address) => connect(address, { log: () => {} }));
  const deadlineMs = performance.now() + timeoutMs;
  const callOptions = () => ({ timeoutMs: Math.max(1, deadlineMs - performance.now()) });
  try {
    let accepted: ProposeOutcome | null = null;
    for (let peer = 0; accepted === null && performance.now() < deadlineMs; peer++) {
      const id = peer % servers.length;
      const result = await clients[id].call<ProposeResult>(
        PROPOSE_METHOD,
        { command },
        callOptions(),
      )
        .catch(() => null);
      if (result?.isLeader === true) {
        accepted = { leader: id, index: result.index, term: result.term };
      } else if (id === servers.length - 1) await sleep(realClock, PROPOSE_RETRY_MS);
    }
    while (accepted !== null && performance.now() < deadlineMs) {
      const status = await clients[accepted.leader].call<NodeStatus>(
        STATUS_METHOD,
        null,
        callOptions(),
      )
        .catch(() => null);
      if (status === null || status.term !== accepted.term || status.role !== "leader") return null;
      if (status.commitIndex >= accepted.index) return accepted;
      await sleep(realClock, PROPOSE_RETRY_MS);
    }
    return null;
  } finally {
    for (const client of clients) client.close();
  }
}
