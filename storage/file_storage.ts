/**
 * Crash-safe {@linkcode RaftStorage} on files: one folder per peer holding
 *
 * - `raft-identity`: the cluster and peer the folder belongs to, written when it is created;
 * - `raft-state`: term and vote, replaced atomically when they change;
 * - `raft-snapshot`: the latest snapshot, replaced atomically;
 * - `raft-log`: the append-only log (format in raft/log_file.ts), rewritten without its dead
 *   records when they outweigh the live ones.
 *
 * Every file names the cluster and peer, so a file copied from another folder is refused. One
 * persist costs one fsync when only the log changes (group commit: every entry of a Ready in
 * one frame), plus two for each of the hard state and the snapshot when they change (temporary
 * file and folder). They are written in the core's order — hard state, snapshot, log — and
 * each is durable before the next starts, so a crash between them leaves a state the core
 * accepts: a newer term with an older log, or a newer snapshot with a log not yet told about
 * it, which loading reconciles as InstallSnapshot would (Figure 13).
 *
 * @module
 */
import { resolve } from "node:path";
import { assert } from "../util/assert.ts";
import { decode, encode } from "../rpc/codec.ts";
import { errorText } from "../util/error_text.ts";
import {
  BLOCK_OVERHEAD_BYTES,
  CorruptFileError,
  encodeBlock,
  readBlock,
  readBlockFile,
  replaceFile,
  replaceFileSync,
  TEMPORARY_SUFFIX,
} from "./atomic_file.ts";
import type { HardState, Snapshot } from "../raft/ready.ts";
import { EntrySizes } from "./entry_sizes.ts";
import { DiskFileSystem, type FileSystem } from "./file_system.ts";
import {
  decodeRecords,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrames,
  encodeRecord,
  type Frame,
  liveRecords,
  LOG_MAGIC,
  LogReplay,
  scanFrames,
  type ScanSource,
} from "./log_file.ts";
import type { Entry } from "../raft/messages.ts";
import { type Membership, membershipProblem } from "../raft/membership.ts";
import type { PersistRequest, RaftStorage, RestoredState } from "../raft/storage.ts";
import { concatBytes } from "../util/bytes.ts";

/** The identity file's name in a peer's folder. */
export const IDENTITY_FILE = "raft-identity";
/** The hard state file's name. */
export const STATE_FILE = "raft-state";
/** The snapshot file's name. */
export const SNAPSHOT_FILE = "raft-snapshot";
/** The log file's name. */
export const LOG_FILE = "raft-log";

/** Cluster id of a folder made without one. */
export const DEFAULT_CLUSTER_ID = "dsys";

/** Dead log bytes below which the log is never rewritten (4 MiB). */
export const DEFAULT_MIN_REWRITE_BYTES = 4 * 1024 * 1024;

const IDENTITY_MAGIC = "DSYSIDEN";
const STATE_MAGIC = "DSYSHARD";
const SNAPSHOT_MAGIC = "DSYSSNAP";
const MAX_CLUSTER_ID_LENGTH = 256;
const START = "Cannot start";

/** How to open a peer's folder. */
export interface FileStorageOptions {
  /** The peer's data folder; created when missing. */
  readonly dir: string;
  /** The cluster the folder belongs to. Default {@linkcode DEFAULT_CLUSTER_ID}. */
  readonly clusterId?: string;
  /** The peer's id. */
  readonly id: number;
  /**
   * The addresses of the cluster's peers by id, as given to bootstrap it. Recorded in the
   * identity file when the folder is created; on every later start a different list is refused,
   * since a peer list that changed under a folder's feet (a typo, a peer left out, another order)
   * would let a peer count a quorum of the wrong group. Absent: nothing is recorded or checked.
   */
  readonly peers?: readonly string[];
  /** The file system. Default: the disk ({@linkcode DiskFileSystem}). */
  readonly files?: FileSystem;
  /** Where to say what recovery did (a torn write dropped). Default `console.error`. */
  readonly log?: (line: string) => void;
  /** Bound on a log frame's payload, hence on one entry. Default 64 MiB. */
  readonly maxFrameBytes?: number;
  /** Dead log bytes below which the log is never rewritten. Default 4 MiB. */
  readonly minRewriteBytes?: number;
}

/** The cluster and peer a file belongs to. */
interface Identity {
  readonly clusterId: string;
  readonly id: number;
}

/** {@linkcode RaftStorage} in a folder of files; see the module documentation. */
export class FileStorage implements RaftStorage {
  /** The peer's folder, absolute. */
  readonly dir: string;
  readonly #identity: Identity;
  readonly #peers: readonly string[] | undefined;
  readonly #files: FileSystem;
  readonly #log: (line: string) => void;
  readonly #maxFrameBytes: number;
  readonly #minRewriteBytes: number;
  readonly #logPath: string;
  readonly #logHeader: Uint8Array;
  #restored: RestoredState | null;
  #entries: EntrySizes;
  /** Records owed to the log file before anything else (a snapshot it has not heard of). */
  #owedRecords: Uint8Array[] = [];
  #logFileBytes = 0;
  #stateFileBytes = 0;
  #failed = false;
  #closed = false;
  #persisting = false;

  /**
   * Opens the folder, creating it for this peer when it is new, and recovers its state: drops
   * a torn write at the end of the log (saying so through `log`) and refuses, by throwing, a
   * folder of another cluster or peer and any damaged file.
   */
  constructor(options: FileStorageOptions) {
    const clusterId = options.clusterId ?? DEFAULT_CLUSTER_ID;
    assert(
      clusterId.length > 0 && clusterId.length <= MAX_CLUSTER_ID_LENGTH,
      `Cluster id ${JSON.stringify(clusterId)} must have 1 to ${MAX_CLUSTER_ID_LENGTH} characters`,
    );
    assert(
      Number.isSafeInteger(options.id) && options.id >= 0,
      `Peer id ${options.id} is not valid`,
    );
    this.dir = resolve(options.dir);
    this.#identity = { clusterId, id: options.id };
    this.#peers = options.peers === undefined ? undefined : [...options.peers];
    // An empty list: the peer joins a running cluster, and learns its members from the leader.
    assert(
      this.#peers === undefined || this.#peers.length === 0 || options.id < this.#peers.length,
      `Peer ${options.id} is not in the peer list ${this.#peers?.join(",")}`,
    );
    this.#files = options.files ?? new DiskFileSystem();
    this.#log = options.log ?? ((line) => console.error(line));
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#minRewriteBytes = options.minRewriteBytes ?? DEFAULT_MIN_REWRITE_BYTES;
    assert(this.#maxFrameBytes > 0, `Frame bound of ${this.#maxFrameBytes} bytes is not positive`);
    this.#logPath = this.#path(LOG_FILE);
    this.#logHeader = encodeBlock(LOG_MAGIC, encode(this.#identity));
    this.#entries = new EntrySizes(0, 0);
    try {
      this.#restored = this.#open();
    } catch (error) {
      // A refused folder leaves nothing open behind.
      this.#files.close();
      throw error;
    }
  }

  /** The state found on disk. Called once: the storage keeps no copy of the entries after. */
  load(): RestoredState {
    const restored = this.#restored;
    assert(restored !== null, `Cannot load ${this.dir} twice: its state was handed over`);
    this.#restored = null;
    return restored;
  }

  /**
   * Makes `request` durable: the hard state file and the snapshot file are replaced when they
   * change, then the log's records for the request are appended as one frame and synced.
   * After a failure the storage refuses further calls: what is on disk is no longer known.
   */
  async persist(request: PersistRequest): Promise<void> {
    assert(!this.#closed, `Cannot persist to ${this.dir}: the storage is closed`);
    assert(!this.#failed, `Cannot persist to ${this.dir}: an earlier persist failed`);
    assert(!this.#persisting, `Cannot persist to ${this.dir}: another persist is running`);
    this.#persisting = true;
    try {
      if (request.hardState !== undefined) await this.#writeHardState(request.hardState);
      if (request.snapshot !== undefined) await this.#writeSnapshot(request.snapshot);
      await this.#appendRecords(this.#recordsOf(request));
      if (this.#shouldRewrite()) await this.#rewriteLog();
    } catch (error) {
      this.#failed = true;
      throw error;
    } finally {
      this.#persisting = false;
    }
  }

  /**
   * Bytes of persisted Raft state that count toward the service's `maxraftstate`: the hard
   * state file, the log's header and the records of live entries (records a snapshot or a
   * truncation made void are not counted, though they stay in the file until a rewrite).
   */
  raftStateSize(): number {
    return this.#stateFileBytes + this.#logHeader.byteLength + this.#entries.totalBytes;
  }

  /** Bytes the log file has on disk, dead records included. */
  logFileSize(): number {
    return this.#logFileBytes;
  }

  /** Releases open files. Calls to `persist` after this fail. */
  close(): void {
    this.#closed = true;
    this.#files.close();
  }

  #path(name: string): string {
    return `${this.dir}/${name}`;
  }

  /** Checks or creates the folder's identity, then reads every file. */
  #open(): RestoredState {
    const files = this.#files;
    files.makeDirectorySync(this.dir);
    const identityPath = this.#path(IDENTITY_FILE);
    const identityBody = readBlockFile(files, identityPath, IDENTITY_MAGIC, START);
    if (identityBody === null) this.#create(identityPath);
    else this.#checkPeers(identityPath, this.#checkIdentity(identityPath, identityBody));
    for (const name of [STATE_FILE, SNAPSHOT_FILE, LOG_FILE, IDENTITY_FILE]) {
      // A crash during a replacement leaves its temporary file behind; it was never renamed in.
      files.removeSync(this.#path(name + TEMPORARY_SUFFIX));
    }
    const hardState = this.#readHardState();
    const snapshot = this.#readSnapshot();
    if (files.readFileSync(this.#logPath) === null) {
      if (hardState !== undefined || snapshot !== undefined) {
        throw new Error(`${START}: ${this.#logPath} is missing but ${this.dir} holds Raft state`);
      }
      // The folder's creation stopped between its identity and its log.
      replaceFileSync(files, this.#logPath, this.#logHeader);
    }
    const replay = this.#readLog();
    return this.#reconcile(hardState, snapshot, replay);
  }

  #create(identityPath: string): void {
    for (const name of [STATE_FILE, SNAPSHOT_FILE, LOG_FILE]) {
      const path = this.#path(name);
      if (this.#files.readFileSync(path) !== null) {
        throw new Error(`${START}: ${identityPath} is missing but ${path} exists`);
      }
    }
    // Identity first: a folder with an identity and no log is a creation that stopped halfway.
    const identity = this.#peers === undefined
      ? this.#identity
      : { ...this.#identity, peers: this.#peers };
    replaceFileSync(this.#files, identityPath, encodeBlock(IDENTITY_MAGIC, encode(identity)));
    replaceFileSync(this.#files, this.#logPath, this.#logHeader);
  }

  /** Refuses a peer list other than the one the folder was created with (see `peers`). */
  #checkPeers(path: string, fields: Record<string, unknown>): void {
    const recorded = fields.peers;
    if (recorded === undefined) {
      if (this.#peers !== undefined) {
        this.#log(`${path} records no peer list (made by an older dsys): not checked`);
      }
      return;
    }
    if (!Array.isArray(recorded) || !recorded.every((peer) => typeof peer === "string")) {
      throw new CorruptFileError(`${START}: ${path} is corrupt: its peer list is not a list`, path);
    }
    const given = this.#peers;
    if (given === undefined || recorded.join(",") === given.join(",")) return;
    if (recorded.length === 0 || given.length === 0) {
      const joined = "joined a running cluster (no peer list)";
      const bootstrapped = (peers: readonly unknown[]) =>
        `bootstrapped with peers ${peers.join(",")}`;
      throw new Error(
        `${START}: ${this.dir} belongs to a peer that ${
          recorded.length === 0 ? joined : bootstrapped(recorded)
        }, not one that ${given.length === 0 ? joined : bootstrapped(given)}`,
      );
    }
    throw new Error(
      `${START}: ${this.dir} belongs to a cluster of peers ${recorded.join(",")}, not ${
        given.join(",")
      } (a peer list only sets up a new cluster)`,
    );
  }

  /** Decodes a file's MessagePack body and checks it names this peer; returns its fields. */
  #checkIdentity(path: string, body: Uint8Array): Record<string, unknown> {
    let value: unknown;
    try {
      value = decode(body);
    } catch (error) {
      throw new CorruptFileError(`${START}: ${path} is corrupt: ${errorText(error)}`, path);
    }
    const fields = value as Record<string, unknown> | null;
    if (
      typeof fields !== "object" || fields === null || typeof fields.clusterId !== "string" ||
      !Number.isSafeInteger(fields.id)
    ) {
      throw new CorruptFileError(
        `${START}: ${path} is corrupt: it names no cluster and peer`,
        path,
      );
    }
    const { clusterId, id } = this.#identity;
    if (fields.clusterId !== clusterId || fields.id !== id) {
      throw new Error(
        `${START}: ${path} belongs to peer ${fields.id} of cluster ${
          JSON.stringify(fields.clusterId)
        }, not to peer ${id} of cluster ${JSON.stringify(clusterId)}`,
      );
    }
    return fields;
  }

  #readHardState(): HardState | undefined {
    const path = this.#path(STATE_FILE);
    const body = readBlockFile(this.#files, path, STATE_MAGIC, START);
    if (body === null) return undefined;
    this.#stateFileBytes = BLOCK_OVERHEAD_BYTES + body.byteLength;
    const fields = this.#checkIdentity(path, body);
    const { term, votedFor } = fields;
    if (!isWhole(term) || !(isWhole(votedFor) || votedFor === -1)) {
      throw new CorruptFileError(`${START}: ${path} is corrupt: it holds no term and vote`, path);
    }
    return { term: term as number, votedFor: votedFor as number };
  }

  #readSnapshot(): Snapshot | undefined {
    const path = this.#path(SNAPSHOT_FILE);
    const body = readBlockFile(this.#files, path, SNAPSHOT_MAGIC, START);
    if (body === null) return undefined;
    const { index, term, data, membership } = this.#checkIdentity(path, body);
    if (!isWhole(index) || !isWhole(term) || !(data instanceof Uint8Array)) {
      throw new CorruptFileError(`${START}: ${path} is corrupt: it holds no snapshot`, path);
    }
    const snapshot = { index: index as number, term: term as number, data };
    // Absent in snapshots written before memberships were recorded: the bootstrap one holds.
    if (membership === undefined) return snapshot;
    const problem = membershipProblem(membership);
    if (problem !== null) {
      throw new CorruptFileError(`${START}: ${path} is corrupt: ${problem}`, path);
    }
    return { ...snapshot, membership: membership as Membership };
  }

  /** Reads the log, dropping a torn last write, and replays its records. */
  #readLog(): LogReplay {
    const path = this.#logPath;
    const bytes = this.#files.readFileSync(path);
    assert(bytes !== null, `Log ${path} vanished while the peer started`);
    const source: ScanSource = { path, purpose: START, maxFrameBytes: this.#maxFrameBytes };
    const { body, endOffset } = readBlock(bytes, LOG_MAGIC, source);
    this.#checkIdentity(path, body);
    const { frames, torn } = scanFrames(bytes, endOffset, source);
    const replay = replayFrames(frames, source);
    this.#logFileBytes = bytes.byteLength;
    if (torn !== null) {
      this.#log(
        `${path}: dropped a torn write at byte ${torn.offset} (frame ${torn.frameNumber}, ${torn.lengthBytes} bytes): ${torn.reason}; the file now ends at byte ${torn.offset}`,
      );
      this.#files.truncateSync(path, torn.offset);
      this.#files.syncFileSync(path);
      this.#logFileBytes = torn.offset;
    }
    return replay;
  }

  /** Checks the files against each other and builds the state to restore. */
  #reconcile(
    hardState: HardState | undefined,
    snapshot: Snapshot | undefined,
    replay: LogReplay,
  ): RestoredState {
    const snapshotIndex = snapshot?.index ?? 0;
    if (replay.compactedIndex > snapshotIndex) {
      throw new Error(
        `${START}: ${this.#logPath} was compacted up to entry ${replay.compactedIndex} but the snapshot in ${this.dir} covers only up to ${snapshotIndex}`,
      );
    }
    if (snapshot !== undefined) {
      const before = { index: replay.compactedIndex, term: replay.compactedTerm };
      // A crash between the snapshot file and the log's compact record: replay the record now
      // and owe it to the file, so the log on disk agrees with what was restored.
      replay.apply({
        record: { kind: "compact", index: snapshot.index, term: snapshot.term },
        bytes: new Uint8Array(0),
      });
      if (before.index !== snapshot.index || before.term !== snapshot.term) {
        this.#owedRecords.push(
          encodeRecord({ kind: "compact", index: snapshot.index, term: snapshot.term }),
        );
      }
    }
    const term = hardState?.term ?? 0;
    const highestTerm = Math.max(replay.lastTerm, snapshot?.term ?? 0);
    if (highestTerm > term) {
      throw new Error(
        `${START}: ${
          this.#path(STATE_FILE)
        } holds term ${term} but ${this.dir} holds entries of term ${highestTerm}`,
      );
    }
    this.#entries = new EntrySizes(replay.compactedIndex, replay.compactedTerm);
    const entries: Entry[] = [];
    for (const live of replay.entries) {
      this.#entries.push(live.entry.term, live.recordBytes.byteLength);
      entries.push(live.entry);
    }
    const restored: { -readonly [Field in keyof RestoredState]: RestoredState[Field] } = {
      entries,
    };
    if (hardState !== undefined) restored.hardState = hardState;
    if (snapshot !== undefined) restored.snapshot = snapshot;
    return restored;
  }

  async #writeHardState(hardState: HardState): Promise<void> {
    const block = encodeBlock(STATE_MAGIC, encode({ ...this.#identity, ...hardState }));
    await replaceFile(this.#files, this.#path(STATE_FILE), block);
    this.#stateFileBytes = block.byteLength;
  }

  async #writeSnapshot(snapshot: Snapshot): Promise<void> {
    assert(
      snapshot.index >= this.#entries.compactedIndex,
      `Cannot persist snapshot ${snapshot.index}: snapshot ${this.#entries.compactedIndex} is newer`,
    );
    const { index, term, data, membership } = snapshot;
    const fields = membership === undefined
      ? { ...this.#identity, index, term, data }
      : { ...this.#identity, index, term, data, membership };
    const block = encodeBlock(SNAPSHOT_MAGIC, encode(fields));
    await replaceFile(this.#files, this.#path(SNAPSHOT_FILE), block);
  }

  /** The log records `request` asks for, in the core's order; updates the entry sizes. */
  #recordsOf(request: PersistRequest): Uint8Array[] {
    const records = this.#owedRecords;
    this.#owedRecords = [];
    const truncateAfter = request.logChange?.truncateAfter;
    if (truncateAfter !== undefined) {
      this.#entries.truncateAfter(truncateAfter);
      records.push(encodeRecord({ kind: "truncate", after: truncateAfter }));
    }
    const snapshot = request.snapshot;
    if (snapshot !== undefined) {
      this.#entries.compact(snapshot.index, snapshot.term);
      records.push(encodeRecord({ kind: "compact", index: snapshot.index, term: snapshot.term }));
    }
    for (const entry of request.logChange?.append ?? []) {
      assert(
        entry.index === this.#entries.lastIndex + 1,
        `Cannot persist entry ${entry.index}: the persisted log ends at ${this.#entries.lastIndex}`,
      );
      const record = encodeRecord({ kind: "append", entry });
      this.#entries.push(entry.term, record.byteLength);
      records.push(record);
    }
    return records;
  }

  /** Appends `records` as frames, each synced before the next, so only the last can tear. */
  async #appendRecords(records: readonly Uint8Array[]): Promise<void> {
    if (records.length === 0) return;
    for (const frame of encodeFrames(records, this.#maxFrameBytes)) {
      await this.#files.appendFile(this.#logPath, frame);
      await this.#files.syncFile(this.#logPath);
      this.#logFileBytes += frame.byteLength;
    }
  }

  #shouldRewrite(): boolean {
    const liveBytes = this.#logHeader.byteLength + this.#entries.totalBytes;
    const deadBytes = this.#logFileBytes - liveBytes;
    return deadBytes >= this.#minRewriteBytes && deadBytes > liveBytes;
  }

  /**
   * Replaces the log by one holding only its live records. Runs after the persist that made
   * the records void, hence after the snapshot that covers the dropped prefix is durable.
   */
  async #rewriteLog(): Promise<void> {
    const path = this.#logPath;
    const bytes = await this.#files.readFile(path);
    const purpose = "Cannot rewrite the log";
    const source: ScanSource = { path, purpose, maxFrameBytes: this.#maxFrameBytes };
    const { endOffset } = readBlock(bytes, LOG_MAGIC, source);
    const { frames, torn } = scanFrames(bytes, endOffset, source);
    assert(torn === null, `Log ${path} ends in a torn write while the peer runs`);
    const replay = replayFrames(frames, source);
    assert(
      replay.compactedIndex === this.#entries.compactedIndex &&
        replay.lastIndex === this.#entries.lastIndex,
      `Log ${path} replays to entries ${replay.compactedIndex + 1}..${replay.lastIndex}, not ${
        this.#entries.compactedIndex + 1
      }..${this.#entries.lastIndex}`,
    );
    const frameBytes = encodeFrames(liveRecords(replay), this.#maxFrameBytes);
    const rewritten = concatBytes([this.#logHeader, ...frameBytes]);
    await replaceFile(this.#files, path, rewritten);
    this.#logFileBytes = rewritten.byteLength;
  }
}

/** Replays every record of `frames`; a record that contradicts the log is damage. */
function replayFrames(frames: readonly Frame[], source: ScanSource): LogReplay {
  const replay = new LogReplay();
  frames.forEach((frame, position) => {
    for (const found of decodeRecords(frame, position + 1, source)) {
      const problem = replay.apply(found);
      if (problem !== null) {
        throw new CorruptFileError(
          `${source.purpose}: ${source.path} is corrupt in frame ${
            position + 1
          } at byte ${frame.offset}: ${problem}`,
          source.path,
        );
      }
    }
  });
  return replay;
}

function isWhole(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
