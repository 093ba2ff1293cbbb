/**
 * What `dsys kv-server` and `dsys raft-peer` share: a Raft peer as a real process. It opens the
 * peer's data folder ({@linkcode FileStorage}: refuses another cluster's or peer's folder and
 * damaged files), connects to the other peers over TCP or Unix sockets, lets the command build
 * its service around a {@linkcode RaftNode} on the real clock, serves the Raft, service and
 * `Status` methods on the peer's own address, logs every change of role, term, leader,
 * membership or snapshot as one stamped line on standard error (observe/log.ts), serves its
 * metrics with `--metrics` (peer_metrics.ts), and stops cleanly on SIGTERM or SIGINT. A kill -9
 * at any moment is safe: nothing is acknowledged before it is on disk.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { errorText } from "../util/error_text.ts";
import { formatAddress, parseAddress } from "../rpc/address.ts";
import { type ClientOptions, connect } from "../rpc/tcp_client.ts";
import type { TransportSecurity } from "../security/transport_security.ts";
import { type RpcServer, serve } from "../rpc/tcp_server.ts";
import type { RpcHandlers } from "../rpc/types.ts";
import type { ApplyMessage, RaftNode, RaftNodeConfig } from "../raft_node/node.ts";
import { isMember } from "../raft/membership.ts";
import { PeerClients } from "./peer_clients.ts";
import { membershipHandler } from "./membership_service.ts";
import type { RaftStorage, RestoredState } from "../raft/storage.ts";
import { FileStorage } from "../storage/file_storage.ts";
import { envelopeCheckingHandlers, envelopingClient } from "./cluster_envelope.ts";
import { transferHandler } from "./leadership.ts";
import { type NodeStatus, STATUS_METHOD } from "./status.ts";
import { type LogFormat, Logger } from "../observe/log.ts";
import { RepeatLimiter } from "../observe/repeat_limiter.ts";
import { type MetricsServer, serveMetrics } from "../observe/metrics_server.ts";
import { realClock } from "../util/clock.ts";
import { PeerMetrics, TimedDiskFileSystem } from "./peer_metrics.ts";

/** Most peers a cluster may have: a bound on connections and on the peer list. */
export const MAX_PEERS = 64;
/**
 * Reconnect backoff towards peers. It must stay well below the election timeout (300 ms at
 * least): with the RPC default (up to 1 s) a restarted follower hears no heartbeat for a second,
 * times out and deposes a healthy leader.
 */
const PEER_RECONNECT_BACKOFF_MS = { initial: 10, max: 100 };
/** How often the process looks for a change of role, term or leader to log. */
const ROLE_WATCH_MS = 10;

/** Where a peer lives and what it belongs to. */
export interface PeerOptions {
  /** The program, as the status and log lines name it. */
  readonly kind: NodeStatus["kind"];
  /** This peer's id: its index in `peers` when it bootstraps the cluster. */
  readonly id: number;
  /**
   * The addresses of the cluster's first members, this one's included, in id order; empty for a
   * peer that joins a running cluster and learns the members from the leader.
   */
  readonly peers: readonly string[];
  /** Where this peer listens: its entry of `peers`, or its own address when joining. */
  readonly listen: string;
  /** This peer's data folder; created when missing. */
  readonly dataDir: string;
  /** The cluster name the data folder is checked against. */
  readonly cluster: string;
  /** Where log lines go; default standard error. */
  readonly log?: (line: string) => void;
  /** TLS and the cluster secret of this peer's server and of its connections to the others. */
  readonly security?: TransportSecurity;
  /** How log lines are written; default `text`. */
  readonly logFormat?: LogFormat;
  /** `host:port` to serve `GET /metrics` on; default none. */
  readonly metrics?: string;
}

/** What a command's service gets to build itself around. */
export interface PeerContext {
  /** This peer's id. */
  readonly id: number;
  /**
   * What the {@linkcode RaftNode} needs of the process: its id, its clients of the other members
   * (dialled on demand, as the membership changes), the bootstrap membership, the storage (whose
   * `load` returns `restored`) and the fatal-error handler (a broken invariant or failed persist
   * ends the process with code 1). Spread it into the node's configuration.
   */
  readonly node: Pick<
    RaftNodeConfig,
    "id" | "peers" | "bootstrapVoters" | "bootstrapAddresses" | "storage" | "onFatal" | "elections"
  >;
  /** What the data folder held at start, snapshot included, read once. */
  readonly restored: RestoredState;
  /** The data folder's storage, for sizes. */
  readonly files: FileStorage;
  /** Writes one info line to the process log, stamped with time, level and node. */
  readonly log: (line: string) => void;
  /** The process log, for lines at other levels or with fields. */
  readonly logger: Logger;
  /** The peer's metrics, for the service to count into. */
  readonly metrics: PeerMetrics;
  /** Counts what the node applies, for the status: the service shows it every message. */
  readonly applies: ApplyCounter;
}

/** A service around a Raft node, as a command builds it. */
export interface PeerService {
  /** The Raft node inside. */
  readonly node: RaftNode;
  /** The service's RPC methods; the Raft node's are added by the process. */
  readonly handlers: RpcHandlers;
  /** The service's part of the status: how far its state machine got. */
  status(): Pick<NodeStatus, "appliedIndex">;
  /** Stops the service and its node. */
  stop(): void;
}

/**
 * Counts, for the status, what a node hands its service: commands, and snapshots installed from
 * a leader (each one logged), and the index of the latest snapshot taken or installed. Every
 * kind of peer counts the same way, so their status means the same.
 */
export class ApplyCounter {
  readonly #logger: Logger;
  readonly #metrics: PeerMetrics;
  #snapshotIndex: number;
  /** The membership last logged: a new leader's entry repeats it, which is not a change. */
  #membershipLogged = "";
  #snapshotsInstalled = 0;
  #appliedCommands = 0;

  /** A counter for a node restored from a snapshot up to `snapshotIndex` (0: none). */
  constructor(snapshotIndex: number, logger: Logger, metrics: PeerMetrics) {
    this.#snapshotIndex = snapshotIndex;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** Counts `message`, one the node hands the service. */
  count(message: ApplyMessage): void {
    if ("snapshotValid" in message) {
      this.#snapshotsInstalled++;
      this.#snapshotIndex = message.snapshotIndex;
      this.#metrics.snapshotInstalledBytes.observe(message.snapshot.byteLength);
      this.#logger.info("installed a snapshot from the leader", {
        index: message.snapshotIndex,
        term: message.snapshotTerm,
        bytes: message.snapshot.byteLength,
      });
    } else if ("membershipValid" in message) {
      const voters = message.membership.voters.join(",") || "none";
      const learners = message.membership.learners.join(",") || "none";
      if (`${voters}/${learners}` === this.#membershipLogged) return;
      this.#membershipLogged = `${voters}/${learners}`;
      this.#logger.info("membership changed", { index: message.membershipIndex, voters, learners });
    } else if (message.command !== null) {
      // A new leader's empty first entry is no command of the service's.
      this.#appliedCommands++;
    }
  }

  /** Notes a snapshot of `bytes` the service took itself, up to `index`. */
  snapshotTaken(index: number, bytes: number): void {
    this.#snapshotIndex = index;
    this.#metrics.snapshotTakenBytes.observe(bytes);
    this.#logger.info("took a snapshot", { index, bytes });
  }

  /** The counts as the status reports them. */
  counts(): Pick<NodeStatus, "snapshotIndex" | "snapshotsInstalled" | "appliedCommands"> {
    return {
      snapshotIndex: this.#snapshotIndex,
      snapshotsInstalled: this.#snapshotsInstalled,
      appliedCommands: this.#appliedCommands,
    };
  }
}

/** Where a peer sits, as `--id`, `--endpoints` (or `--peers`), `--join` and `--listen` say. */
export interface PlacementOptions {
  readonly id: number;
  readonly endpoints?: string;
  readonly peers?: string;
  readonly join?: boolean;
  readonly listen?: string;
}

/**
 * The bootstrap peer list and the listening address from the command line: `--endpoints` (the
 * peer listens on its entry) or `--join` with `--listen`. Throws a one-line error naming what
 * is missing or contradictory.
 */
export function parsePlacement(options: PlacementOptions): Pick<PeerOptions, "peers" | "listen"> {
  const endpoints = options.endpoints ?? options.peers;
  if (options.join === true) {
    if (endpoints !== undefined) {
      throw new Error(
        "--join and --endpoints exclude each other: --endpoints only sets up a new cluster",
      );
    }
    if (options.listen === undefined) {
      throw new Error("--join needs --listen: the address the cluster will reach this node at");
    }
    parseAddress(options.listen);
    return { peers: [], listen: options.listen };
  }
  if (endpoints === undefined) {
    throw new Error("Give --endpoints to set up a new cluster, or --join --listen to join one");
  }
  if (options.listen !== undefined) {
    throw new Error("--listen goes with --join: a node of --endpoints listens on its own entry");
  }
  const peers = parsePeers(endpoints, options.id);
  return { peers, listen: peers[options.id] };
}

/**
 * Parses `--endpoints` and checks `--id` against it; throws a one-line error naming the problem
 * (a bad address, a repeated one, too many, or an id outside the list).
 */
export function parsePeers(text: string, id: number): string[] {
  const peers = text.split(",").map((part) => part.trim());
  if (peers.length > MAX_PEERS) {
    throw new Error(`--endpoints lists ${peers.length} peers; at most ${MAX_PEERS} are allowed`);
  }
  const seen = new Set<string>();
  for (const peer of peers) {
    const canonical = formatAddress(parseAddress(peer));
    if (seen.has(canonical)) throw new Error(`--endpoints lists ${peer} twice`);
    seen.add(canonical);
  }
  if (!Number.isSafeInteger(id) || id < 0 || id >= peers.length) {
    throw new Error(
      `--id ${id} is not a peer: --endpoints lists ${peers.length} (ids 0 to ${peers.length - 1})`,
    );
  }
  return peers;
}

/**
 * Runs a peer until SIGTERM or SIGINT: opens storage, builds the service with `start`, serves
 * it, and on the signal closes the server, stops the service and releases the files. Throws
 * (after releasing what it opened) when the folder is refused or the address is taken.
 */
export async function runPeer(
  options: PeerOptions,
  start: (context: PeerContext) => PeerService,
): Promise<void> {
  const joining = options.peers.length === 0;
  assert(joining || options.id < options.peers.length, `Peer ${options.id} is not listed`);
  const { logger, metrics, faults } = observers(options);
  const log = logger.at("info");
  const { files, restored, storage, counts } = openStorage(options, log, metrics);
  let running: RaftNode | null = null;
  const identity = {
    cluster: options.cluster,
    id: options.id,
    voters: () => running?.membership.voters ?? [],
    refusesVoteOf: (sender: number) => running?.refusesVoteOf(sender) ?? false,
  };
  const bootstrapAddresses = Object.fromEntries(
    options.peers.map((address, id) => [String(id), canonical(address)]),
  );
  const clients = new PeerClients(
    (address) =>
      envelopingClient(connect(address, clientOptions(options, faults, metrics)), identity),
    (id) => {
      const membership = running?.membership;
      if (membership === undefined || !isMember(membership, id)) return undefined;
      return membership.addresses[String(id)] ?? bootstrapAddresses[String(id)];
    },
  );
  const onFatal = (error: unknown) => {
    logger.error(`stopped: ${errorText(error)}`);
    Deno.exit(1);
  };
  const context: PeerContext = {
    id: options.id,
    node: {
      id: options.id,
      peers: (id) => clients.clientOf(id),
      bootstrapVoters: options.peers.map((_, id) => id),
      bootstrapAddresses,
      storage,
      onFatal,
      // A real cluster's leader commits what its predecessors committed at once (Raft, section 8).
      elections: { noOpOnElection: true },
    },
    restored,
    files,
    log,
    logger,
    metrics,
    applies: new ApplyCounter(restored.snapshot?.index ?? 0, logger, metrics),
  };
  const release = () => {
    faults.close();
    clients.close();
    files.close();
  };
  let service: PeerService;
  try {
    service = start(context);
  } catch (error) {
    release();
    throw error;
  }
  running = service.node;
  const handlers = {
    ...envelopeCheckingHandlers(service.node.handlers, identity, refusalLogger(logger, counts)),
    ...service.handlers,
    ...transferHandler(service.node),
    ...membershipHandler(service.node),
    [STATUS_METHOD]: statusReporter(options, context, service, counts),
  };
  // Taken before the address answers: a SIGTERM sent once it does must stop the peer cleanly,
  // and with no listener yet it would end the process on the spot.
  const stopping = stopSignals();
  metrics.watch({
    node: service.node,
    files,
    appliedIndex: () => service.status().appliedIndex,
    refusedMessages: () => counts.refusedMessages,
  });
  let servers: Servers;
  try {
    servers = await serveAll(options, handlers, faults, metrics);
  } catch (error) {
    stopping.close();
    service.stop();
    release();
    // serve's error names the address and the cause already.
    throw error;
  }
  log(
    `listening on ${options.listen} as peer ${options.id} ${
      joining ? "joining a running cluster" : `of ${options.peers.length}`
    } (cluster ${JSON.stringify(options.cluster)}, data ${files.dir})`,
  );
  if (servers.metrics !== null) log(`serving metrics at http://${servers.metrics}/metrics`);
  const stopWatching = watchRole(service.node, logger, metrics);
  const signal = await stopping.signal;
  log(`${signal}: stopping`);
  stopWatching();
  service.stop();
  await servers.close();
  release();
  log("stopped");
}

/** The process log, the metrics, and the limiter of repeated faults in the log. */
function observers(options: PeerOptions) {
  const logger = new Logger({
    node: `${options.kind} ${options.id}`,
    format: options.logFormat,
    write: options.log,
  });
  // Fifty garbage connections must not print fifty lines: the first few, then a count.
  const faults = new RepeatLimiter({ write: logger.at("warn"), clock: realClock });
  return { logger, metrics: new PeerMetrics(), faults };
}

/** How the peer's clients of the other members connect, log and count. */
function clientOptions(
  options: PeerOptions,
  faults: RepeatLimiter,
  metrics: PeerMetrics,
): ClientOptions {
  return {
    log: (line) => faults.report("RPC client faults", line),
    reconnectBackoffMs: PEER_RECONNECT_BACKOFF_MS,
    traffic: metrics.traffic,
    security: options.security,
  };
}

/** Most distinct refusal reasons logged; past it refusals are only counted. */
const REFUSAL_REASONS_LOGGED_MAX = 16;

/**
 * Logs a refused message once per reason (a stray node retries every heartbeat), and says how
 * many were refused when it logs a reason again after the bound.
 */
function refusalLogger(
  logger: Logger,
  counts: { refusedMessages: number },
): (reason: string) => void {
  const logged = new Set<string>();
  return (reason) => {
    counts.refusedMessages++;
    if (logged.has(reason) || logged.size >= REFUSAL_REASONS_LOGGED_MAX) return;
    logged.add(reason);
    logger.warn(`refused a message (${counts.refusedMessages} so far): ${reason}`);
  };
}

/** The peer's listeners: its RPC server and, with `--metrics`, its metrics endpoint. */
interface Servers {
  /** Where metrics are served, or null. */
  readonly metrics: string | null;
  /** Closes both. */
  close(): Promise<void>;
}

/**
 * Serves `handlers` on the peer's address and its metrics on `options.metrics`; throws a
 * one-line error naming the address it could not listen on, with nothing left open.
 */
async function serveAll(
  options: PeerOptions,
  handlers: RpcHandlers,
  faults: RepeatLimiter,
  metrics: PeerMetrics,
): Promise<Servers> {
  const server: RpcServer = await serve(options.listen, handlers, {
    log: (line) => faults.report("RPC server faults", line),
    traffic: metrics.traffic,
    security: options.security,
  });
  if (options.metrics === undefined) return { metrics: null, close: () => server.close() };
  let endpoint: MetricsServer;
  try {
    endpoint = await serveMetrics(options.metrics, metrics.registry);
  } catch (error) {
    await server.close();
    throw error;
  }
  return {
    metrics: endpoint.address,
    close: async () => {
      await endpoint.close();
      await server.close();
    },
  };
}

/** Opens the data folder, reads it once, and wraps it to count persists for the status. */
function openStorage(options: PeerOptions, log: (line: string) => void, metrics: PeerMetrics) {
  const files = new FileStorage({
    dir: options.dataDir,
    clusterId: options.cluster,
    id: options.id,
    // Canonical forms, so that ":7100" and "127.0.0.1:7100" are one peer.
    peers: options.peers.map(canonical),
    files: new TimedDiskFileSystem(metrics.fsyncSeconds),
    log,
  });
  const restored = files.load();
  const counts = { persists: 0, persistedEntries: 0, refusedMessages: 0 };
  const storage: RaftStorage = {
    // The node reads its state through here; the service read the same state first.
    load: () => restored,
    persist: (request) => {
      const entries = request.logChange?.append.length ?? 0;
      counts.persists++;
      counts.persistedEntries += entries;
      metrics.persistEntries.observe(entries);
      return files.persist(request);
    },
  };
  return { files, restored, storage, counts };
}

/** `address` in its canonical form, so that ":7100" and "127.0.0.1:7100" are one peer. */
function canonical(address: string): string {
  return formatAddress(parseAddress(address));
}

/** The `Status` handler: the node's Raft state, the storage's sizes, the counts of applies. */
function statusReporter(
  options: PeerOptions,
  { files, applies }: PeerContext,
  service: PeerService,
  counts: Pick<NodeStatus, "persists" | "persistedEntries" | "refusedMessages">,
): () => NodeStatus {
  const startedMs = performance.now();
  return () => ({
    kind: options.kind,
    id: options.id,
    address: options.listen,
    cluster: options.cluster,
    ...membershipStatus(service.node),
    role: service.node.role,
    term: service.node.term,
    leader: service.node.leaderId,
    commitIndex: service.node.commitIndex,
    raftStateBytes: files.raftStateSize(),
    logFileBytes: files.logFileSize(),
    uptimeMs: Math.round(performance.now() - startedMs),
    persists: counts.persists,
    persistedEntries: counts.persistedEntries,
    refusedMessages: counts.refusedMessages,
    ...applies.counts(),
    ...service.status(),
  });
}

/** The membership as the status shows it: this node's place in it, its members and index. */
function membershipStatus(node: RaftNode): Pick<
  NodeStatus,
  "membership" | "voters" | "learners" | "addresses" | "membershipIndex"
> {
  const { voters, learners, addresses } = node.membership;
  const place = voters.includes(node.id)
    ? "voter"
    : learners.includes(node.id)
    ? "learner"
    : "none";
  return {
    membership: place,
    voters: [...voters],
    learners: [...learners],
    addresses: { ...addresses },
    membershipIndex: node.membershipIndex,
  };
}

/**
 * Logs one line whenever the node's role, term or leader changes, and counts each new leader it
 * learns of; returns how to stop.
 */
function watchRole(node: RaftNode, logger: Logger, metrics: PeerMetrics): () => void {
  let last = "";
  let lastLeader = -1;
  const check = () => {
    const now = `${node.role} ${node.term} ${node.leaderId}`;
    if (now === last) return;
    last = now;
    if (node.leaderId >= 0 && node.leaderId !== lastLeader) metrics.leaderChanges.inc();
    lastLeader = node.leaderId;
    logger.info("role, term or leader changed", {
      role: node.role,
      term: node.term,
      leader: node.leaderId < 0 ? "none" : node.leaderId,
      commit: node.commitIndex,
    });
  };
  check();
  const timer = setInterval(check, ROLE_WATCH_MS);
  return () => clearInterval(timer);
}

/**
 * Listens for SIGTERM and SIGINT: `signal` resolves with the name of the first, which ends the
 * listening; `close` ends it before any came.
 */
function stopSignals(): { signal: Promise<Deno.Signal>; close(): void } {
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  let handlers: Array<() => void> = [];
  const close = () => {
    if (handlers.length === 0) return;
    signals.forEach((signal, position) => Deno.removeSignalListener(signal, handlers[position]));
    handlers = [];
  };
  const signal = new Promise<Deno.Signal>((resolve) => {
    handlers = signals.map((name) => () => {
      close();
      resolve(name);
    });
    signals.forEach((name, position) => Deno.addSignalListener(name, handlers[position]));
  });
  return { signal, close };
}
