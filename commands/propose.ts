/**
 * `dsys propose`: a client of a `raft-peer` cluster that replicates one command and waits until
 * it is committed.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { realClock, sleep } from "../util/clock.ts";
import type { ProposeResult } from "../raft/core.ts";
import { connect } from "../rpc/tcp_client.ts";
import { RpcAuthenticationError } from "../rpc/types.ts";
import { securityFromOptions, withClientSecurityOptions } from "../security/security_options.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { type NodeStatus, STATUS_METHOD } from "../peer/status.ts";
import { PROPOSE_METHOD } from "./raft_peer.ts";
import { DEFAULT_OPERATION_TIMEOUT_MS, EXIT_UNKNOWN_OUTCOME } from "../kv_cli/kv_clerk.ts";
import { examples, secondsFlag } from "./arguments.ts";
import { addEndpointOptions, endpointsOf } from "../cli/endpoints.ts";

/** The `propose` subcommand. */
export function proposeCommand() {
  const propose = withClientSecurityOptions(new Command("propose"))
    .description(
      `Replicate a command on a raft-peer cluster and wait until it is committed. Exit codes: 0 committed, ${EXIT_UNKNOWN_OUTCOME} outcome unknown (timed out), 1 other errors.`,
    )
    .addOption(
      secondsFlag(
        "--timeout <seconds>",
        "give up after this long (exit 2)",
        DEFAULT_OPERATION_TIMEOUT_MS,
      ),
    )
    .argument("<command>", "the command, as a string")
    .addHelpText(
      "after",
      examples('dsys propose --endpoints 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 "set x 1"'),
    );
  addEndpointOptions(propose, "the peers' addresses");
  return propose.action(async (command, options) => {
    const outcome = await proposeUntilCommitted(
      endpointsOf(propose),
      command,
      options.timeout,
      await securityFromOptions(options, "client"),
    );
    if (outcome === null) {
      console.error(
        `dsys: no commit within ${options.timeout / 1000} s: outcome unknown`,
      );
      Deno.exitCode = EXIT_UNKNOWN_OUTCOME;
      return;
    }
    console.log(
      `committed at index ${outcome.index} in term ${outcome.term} by peer ${outcome.leader}`,
    );
  });
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
export async function proposeUntilCommitted(
  servers: readonly string[],
  command: string,
  timeoutMs: number,
  security?: TransportSecurity,
): Promise<ProposeOutcome | null> {
  const clients = servers.map((address) => connect(address, { log: () => {}, security }));
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
        .catch(refusedOrNull);
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
        .catch(refusedOrNull);
      if (status === null || status.term !== accepted.term || status.role !== "leader") return null;
      if (status.commitIndex >= accepted.index) return accepted;
      await sleep(realClock, PROPOSE_RETRY_MS);
    }
    return null;
  } finally {
    for (const client of clients) client.close();
  }
}

/** Null for a failed call worth retrying; a refused handshake is thrown, as retries cannot help. */
function refusedOrNull(error: unknown): null {
  if (error instanceof RpcAuthenticationError) throw error;
  return null;
}
