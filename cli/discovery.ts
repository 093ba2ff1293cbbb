/**
 * How a client finds the cluster from any one address: it asks each endpoint for its `Status`
 * (which every kv-server and raft-peer serves). A kv-server that does not lead names the leader
 * it follows and where that leader listens, and the client adds that address after the ones it
 * was given: a follower answers its first call with "wrong leader" at once, and the next call
 * goes to the leader. An endpoint that cannot be used is classified: connection refused
 * (or no socket), not a kv-server (a raft-peer, or something that does not speak dsys RPC), or
 * silent. When every endpoint is refused or not a kv-server the command fails at once
 * ({@linkcode EXIT_UNAVAILABLE}) instead of waiting out its timeout.
 *
 * The hint comes from the Status reply rather than from the key/value protocol, so the
 * key/value service and its simulation are unchanged.
 *
 * @module
 */
import { errorText } from "../util/error_text.ts";
import { RpcAuthenticationError, RpcError } from "../rpc/types.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { callStatus, type NodeStatus, STATUS_METHOD } from "../peer/status.ts";
import { CliError } from "./cli_error.ts";
import { EXIT_ERROR, EXIT_UNAVAILABLE } from "./exit_codes.ts";

/** The longest a client waits for the endpoints' Status before it goes on without it. */
export const DISCOVERY_WAIT_MS = 1_000;

/** What one endpoint said when asked for its Status. */
export type Probe =
  | { readonly kind: "answered"; readonly endpoint: string; readonly status: NodeStatus }
  | { readonly kind: "refused"; readonly endpoint: string; readonly problem: string }
  | { readonly kind: "foreign"; readonly endpoint: string; readonly problem: string }
  | { readonly kind: "silent"; readonly endpoint: string; readonly problem: string }
  | { readonly kind: "unauthenticated"; readonly endpoint: string; readonly problem: string };

/** Asks `endpoint` for its Status within `waitMs`, over `security` when given; never throws. */
export async function probe(
  endpoint: string,
  waitMs: number,
  security?: TransportSecurity,
): Promise<Probe> {
  try {
    return { kind: "answered", endpoint, status: await callStatus(endpoint, waitMs, security) };
  } catch (error) {
    return classifyFailure(endpoint, error);
  }
}

/** Which kind of unusable endpoint a failed Status call shows, in a sentence naming it. */
export function classifyFailure(endpoint: string, error: unknown): Probe {
  const text = errorText(error);
  if (error instanceof RpcAuthenticationError) {
    return { kind: "unauthenticated", endpoint, problem: text };
  }
  if (!(error instanceof RpcError)) {
    return { kind: "foreign", endpoint, problem: `${endpoint} is not a dsys node: ${text}` };
  }
  const { kind, reason } = error;
  if (kind === "timeout" || reason === "connect timeout") {
    return { kind: "silent", endpoint, problem: `${endpoint} did not answer: ${text}` };
  }
  if (kind === "remote") {
    return {
      kind: "foreign",
      endpoint,
      problem: `${endpoint} is not a kv-server: it does not serve ${STATUS_METHOD} (${text})`,
    };
  }
  if (reason === "refused") {
    return { kind: "refused", endpoint, problem: `${endpoint}: ${REFUSED}` };
  }
  if (reason === "no socket") {
    return { kind: "refused", endpoint, problem: `${endpoint}: ${NO_SOCKET}` };
  }
  if (reason === "broken") {
    return {
      kind: "foreign",
      endpoint,
      problem: `${endpoint} is not a kv-server: it does not speak dsys RPC (${text})`,
    };
  }
  return { kind: "refused", endpoint, problem: `${endpoint}: ${text}` };
}

const REFUSED = "connection refused";
const NO_SOCKET = "no socket at that path";

/** Why a probe's endpoint cannot serve key/value operations, or null when it can. */
export function kvProblem(found: Probe): string | null {
  if (found.kind !== "answered") return found.problem;
  if (found.status.kind !== "kv-server") {
    return `${found.endpoint} is not a kv-server: it is a ${found.status.kind} (node ${found.status.id})`;
  }
  return null;
}

/**
 * The address of the leader the answering kv-servers name, by the highest term among them, or
 * null when none names one whose address it knows.
 */
export function leaderAddress(probes: readonly Probe[]): string | null {
  let best: { term: number; address: string } | null = null;
  for (const found of probes) {
    if (found.kind !== "answered" || found.status.kind !== "kv-server") continue;
    const { leader, term, addresses } = found.status;
    const address = leader === -1 ? undefined : addresses[String(leader)];
    if (address === undefined) continue;
    if (best === null || term > best.term) best = { term, address };
  }
  return best?.address ?? null;
}

/**
 * The addresses a kv client should use, the leader's added: probes `endpoints` and, unless one
 * of them names a leader sooner, waits for all of them (at most `waitMs`). Throws a
 * {@linkcode CliError} when no endpoint can be a kv-server: {@linkcode EXIT_ERROR} when one
 * refused the connection's secret or certificate, else {@linkcode EXIT_UNAVAILABLE}.
 */
export async function discoverKvEndpoints(
  endpoints: readonly string[],
  waitMs = DISCOVERY_WAIT_MS,
  security?: TransportSecurity,
): Promise<string[]> {
  const probes = await probeUntilLeader(endpoints, waitMs, security);
  const usable = probes.filter((found) => found.kind === "silent" || kvProblem(found) === null);
  // A wrong secret or certificate fails on every endpoint, and no retry can fix it: exit 1 with
  // its one sentence. One endpoint alone failing so may be a node dying mid-handshake.
  const unauthenticated = probes.find((found) => found.kind === "unauthenticated");
  if (usable.length === 0 && unauthenticated !== undefined) {
    throw new CliError(unauthenticated.problem, EXIT_ERROR);
  }
  if (usable.length === 0) {
    throw new CliError(
      `No kv-server to talk to: ${probes.map((found) => kvProblem(found)).join("; ")}`,
      EXIT_UNAVAILABLE,
    );
  }
  // The leader goes after the endpoints given, not before: a client given some nodes keeps to
  // them while one of them leads, and reaches the leader they name otherwise.
  const leader = leaderAddress(probes);
  return leader === null || endpoints.includes(leader) ? [...endpoints] : [...endpoints, leader];
}

/** Every endpoint's probe, or, as soon as one names a leader, those settled by then. */
async function probeUntilLeader(
  endpoints: readonly string[],
  waitMs: number,
  security: TransportSecurity | undefined,
): Promise<Probe[]> {
  const settled: Probe[] = [];
  let found!: () => void;
  const leaderKnown = new Promise<void>((resolve) => found = resolve);
  const all = Promise.all(endpoints.map(async (endpoint) => {
    const result = await probe(endpoint, waitMs, security);
    settled.push(result);
    if (leaderAddress([result]) !== null) found();
  }));
  await Promise.race([all, leaderKnown]);
  return [...settled];
}

/**
 * One clause on why the cluster did not answer, for the end of a timeout's message: who leads,
 * or that no node leads (yet), and which endpoints cannot be reached.
 */
export async function diagnose(
  endpoints: readonly string[],
  waitMs: number,
  security?: TransportSecurity,
): Promise<string> {
  const probes = await Promise.all(endpoints.map((endpoint) => probe(endpoint, waitMs, security)));
  const unusable = probes.map(kvProblem).filter((problem) => problem !== null);
  const answered = probes.filter((found) => found.kind === "answered");
  const leading = answered.filter((found) => found.status.role === "leader");
  const leader = leaderAddress(probes);
  const parts: string[] = [];
  if (leading.length > 0) {
    const { id, term } = leading[0].status;
    parts.push(
      `node ${id} at ${leading[0].endpoint} leads term ${term} but did not answer in time`,
    );
  } else if (answered.length > 0) {
    const terms = answered.map((found) => found.status.term);
    parts.push(
      leader === null
        ? `no leader yet: the ${answered.length} node(s) that answered know of none (term ${
          Math.max(...terms)
        })`
        : `no leader among the endpoints; they follow the leader at ${leader}, which did not answer`,
    );
  }
  parts.push(...unusable);
  return parts.join("; ");
}
