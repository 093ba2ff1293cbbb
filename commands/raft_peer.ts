/**
 * `dsys raft-peer`: a bare Raft peer as a real process, replicating opaque commands (strings or
 * bytes) proposed over RPC with `Raft.Propose`. It has no state machine: it counts what it
 * applies (see `Status`) and, when asked, logs each applied command.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { securityFromOptions, withServerSecurityOptions } from "../security/security_options.ts";
import { realClock } from "../util/clock.ts";
import { unseededRandom } from "../util/random.ts";
import type { ProposeResult } from "../raft/core.ts";
import { RaftNode } from "../raft_node/node.ts";
import { DEFAULT_CLUSTER_ID } from "../storage/file_storage.ts";
import {
  parsePlacement,
  type PeerContext,
  type PeerOptions,
  type PeerService,
  runPeer,
} from "../peer/peer_process.ts";
import { examples, withPlacementOptions } from "./arguments.ts";
import { logFormatOption, metricsOption } from "./observe_options.ts";

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

/** The `raft-peer` subcommand. */
export function raftPeerCommand() {
  return withServerSecurityOptions(withPlacementOptions(
    new Command("raft-peer").description(
      "Run a Raft peer replicating opaque commands (Raft.Propose); logs role and term changes.",
    ),
  ))
    .requiredOption("--data <dir>", "this peer's data folder (created if missing)")
    .option("--cluster <name>", "cluster name the data folder must belong to", DEFAULT_CLUSTER_ID)
    .option("--log-applies", "log one line per applied command", false)
    .addOption(logFormatOption())
    .addOption(metricsOption())
    .addHelpText(
      "after",
      examples(
        "peers=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
        "dsys raft-peer --id 0 --endpoints $peers --data data/peer-0",
        "dsys raft-peer --id 3 --join --listen 127.0.0.1:7004 --data data/peer-3",
        "dsys raft-peer --id 0 --peers $peers --data data/peer-0 --metrics 127.0.0.1:9100 --log-format json",
      ),
    )
    .action(async (options) => {
      await runRaftPeer({
        id: options.id,
        ...parsePlacement(options),
        dataDir: options.data,
        cluster: options.cluster,
        security: await securityFromOptions(options, "peer"),
        logApplies: options.logApplies,
        logFormat: options.logFormat,
        metrics: options.metrics,
      });
    });
}

/** Runs a Raft peer until SIGTERM or SIGINT. */
export async function runRaftPeer(options: RaftPeerOptions): Promise<void> {
  const { logApplies, ...peer } = options;
  await runPeer({ kind: "raft-peer", ...peer }, (context) => startRaftService(context, logApplies));
}

/** Builds the Raft node and the `Raft.Propose` method around it. */
export function startRaftService(context: PeerContext, logApplies: boolean): PeerService {
  let appliedIndex = context.restored.snapshot?.index ?? 0;
  const node = new RaftNode({
    ...context.node,
    clock: realClock,
    random: unseededRandom(),
    apply: (message) => {
      context.applies.count(message);
      if ("snapshotValid" in message) {
        appliedIndex = message.snapshotIndex;
        return;
      }
      if ("membershipValid" in message) {
        appliedIndex = message.membershipIndex;
        return;
      }
      appliedIndex = message.commandIndex;
      if (logApplies) {
        context.log(`applied entry ${message.commandIndex}: ${describeCommand(message.command)}`);
      }
    },
  });
  const propose = (args: unknown): ProposeResult => {
    const problem = proposeProblem(args);
    if (problem !== null) throw new Error(`Peer ${context.id} refused a proposal: ${problem}`);
    const result = node.propose((args as ProposeArguments).command);
    if (result.isLeader) context.metrics.proposals.inc();
    return result;
  };
  return {
    node,
    handlers: { [PROPOSE_METHOD]: propose },
    status: () => ({ appliedIndex }),
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
  if (command === null) return "none (a new leader's first entry)";
  if (typeof command === "string") return JSON.stringify(command.slice(0, 200));
  if (command instanceof Uint8Array) return `${command.byteLength} bytes`;
  return typeof command;
}
