/**
 * What a peer process measures for `--metrics` (raft-peer and kv-server alike): its Raft state,
 * read when scraped; proposals, leader changes, reads and snapshots, counted where they happen;
 * the storage's fsync latency and entries per persist; and its RPC traffic. Every update is a
 * plain number increment, so a peer without `--metrics` pays next to nothing.
 *
 * @module
 */
import { type Counter, type Histogram, MetricsRegistry } from "../observe/metrics.ts";
import { noTraffic, type RpcTraffic } from "../rpc/types.ts";
import { DiskFileSystem } from "../storage/file_system.ts";
import type { RaftNode } from "../raft_node/node.ts";
import type { FileStorage } from "../storage/file_storage.ts";

/** The roles a node may have, as the role gauge labels them. */
const ROLES = ["follower", "precandidate", "candidate", "leader"] as const;
/** How reads that ask Raft are confirmed: within the leader's lease, or by a heartbeat round. */
export const READ_KINDS = ["lease", "read_index"] as const;
/** Fsync buckets: from a fast NVMe drive (100 µs) to a disk in trouble (2.5 s). */
const FSYNC_BUCKETS_S = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  1,
  2.5,
];
/** Entries written by one persist: 0 (a term or vote only) up to large batches. */
const ENTRIES_BUCKETS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Snapshot sizes from 1 KiB to 1 GiB. */
const SNAPSHOT_BUCKETS_BYTES = [
  1024,
  16_384,
  131_072,
  1_048_576,
  16_777_216,
  134_217_728,
  1_073_741_824,
];

/** The state a peer's gauges read when scraped. */
export interface PeerGauges {
  readonly node: RaftNode;
  readonly files: FileStorage;
  readonly appliedIndex: () => number;
  readonly refusedMessages: () => number;
}

/** A peer's metrics; see the module documentation. */
export class PeerMetrics {
  /** Everything below, as `/metrics` shows it. */
  readonly registry = new MetricsRegistry();
  /** The peer's RPC traffic, its server's and its clients' together. */
  readonly traffic: RpcTraffic = noTraffic();
  /** Commands this node appended as leader. */
  readonly proposals: Counter;
  /** Times this node saw a new leader. */
  readonly leaderChanges: Counter;
  /** Reads confirmed through Raft, by kind. */
  readonly reads: Record<typeof READ_KINDS[number], Counter>;
  /** Seconds per fsync of a file or folder of the data folder. */
  readonly fsyncSeconds: Histogram;
  /** Log entries written per persist. */
  readonly persistEntries: Histogram;
  /** Sizes of snapshots this node took. */
  readonly snapshotTakenBytes: Histogram;
  /** Sizes of snapshots this node installed from a leader. */
  readonly snapshotInstalledBytes: Histogram;

  /** The metrics, all zero, with nothing to read yet. */
  constructor() {
    const r = this.registry;
    this.proposals = r.counter(
      "dsys_raft_proposals_total",
      "Commands this node appended as leader.",
    );
    this.leaderChanges = r.counter(
      "dsys_raft_leader_changes_total",
      "Times this node learned of a new leader.",
    );
    this.reads = r.labeledCounters(
      "dsys_kv_reads_total",
      "Reads confirmed through Raft: within the leader's lease (lease) or by a round of heartbeats (read_index).",
      "kind",
      READ_KINDS,
    );
    this.fsyncSeconds = r.histogram(
      "dsys_storage_fsync_seconds",
      "Time of one fsync of the data folder's files or the folder itself.",
      FSYNC_BUCKETS_S,
    );
    this.persistEntries = r.histogram(
      "dsys_storage_persist_entries",
      "Log entries written by one persist (0: only the term or vote changed).",
      ENTRIES_BUCKETS,
    );
    this.snapshotTakenBytes = r.histogram(
      "dsys_raft_snapshot_taken_bytes",
      "Size of each snapshot this node took.",
      SNAPSHOT_BUCKETS_BYTES,
    );
    this.snapshotInstalledBytes = r.histogram(
      "dsys_raft_snapshot_installed_bytes",
      "Size of each snapshot this node installed from a leader.",
      SNAPSHOT_BUCKETS_BYTES,
    );
    const directions = ["in", "out"] as const;
    r.readByLabel(
      "counter",
      "dsys_rpc_calls_total",
      "RPC requests received (in) and sent (out), Raft and client calls alike.",
      "direction",
      directions,
      (direction) => direction === "in" ? this.traffic.callsIn : this.traffic.callsOut,
    );
    r.readByLabel(
      "counter",
      "dsys_rpc_bytes_total",
      "Bytes read from (in) and handed to (out) RPC sockets, frame headers included.",
      "direction",
      directions,
      (direction) => direction === "in" ? this.traffic.bytesIn : this.traffic.bytesOut,
    );
  }

  /** Adds the gauges that read a running peer's state. */
  watch(peer: PeerGauges): void {
    const r = this.registry;
    const { node, files } = peer;
    r.readByLabel(
      "gauge",
      "dsys_raft_role",
      "1 for this node's current Raft role, 0 for the others.",
      "role",
      ROLES,
      (role) => node.role === role ? 1 : 0,
    );
    r.gauge("dsys_raft_term", "This node's current Raft term.", () => node.term);
    r.gauge(
      "dsys_raft_leader_id",
      "The id of the leader this node follows; -1 when it knows none.",
      () => node.leaderId,
    );
    r.gauge("dsys_raft_commit_index", "Highest log index known committed.", () => node.commitIndex);
    r.gauge("dsys_raft_applied_index", "Highest log index the service applied.", peer.appliedIndex);
    r.counter(
      "dsys_raft_refused_messages_total",
      "Raft messages refused: another cluster's, or a peer's not in the membership.",
      peer.refusedMessages,
    );
    r.gauge(
      "dsys_storage_raft_state_bytes",
      "Size of the persisted Raft state.",
      () => files.raftStateSize(),
    );
    r.gauge(
      "dsys_storage_log_file_bytes",
      "Size of the log file on disk.",
      () => files.logFileSize(),
    );
  }
}

/** The disk, with each fsync timed into `fsyncSeconds`. */
export class TimedDiskFileSystem extends DiskFileSystem {
  readonly #fsyncSeconds: Histogram;

  /** The disk, timing fsyncs into `fsyncSeconds`. */
  constructor(fsyncSeconds: Histogram) {
    super();
    this.#fsyncSeconds = fsyncSeconds;
  }

  /** Syncs the file, timed. */
  override async syncFile(path: string): Promise<void> {
    const startMs = performance.now();
    await super.syncFile(path);
    this.#observe(startMs);
  }

  /** Syncs the file, timed. */
  override syncFileSync(path: string): void {
    const startMs = performance.now();
    super.syncFileSync(path);
    this.#observe(startMs);
  }

  /** Syncs the folder, timed. */
  override async syncDirectory(path: string): Promise<void> {
    const startMs = performance.now();
    await super.syncDirectory(path);
    this.#observe(startMs);
  }

  /** Syncs the folder, timed. */
  override syncDirectorySync(path: string): void {
    const startMs = performance.now();
    super.syncDirectorySync(path);
    this.#observe(startMs);
  }

  #observe(startMs: number): void {
    this.#fsyncSeconds.observe((performance.now() - startMs) / 1000);
  }
}
