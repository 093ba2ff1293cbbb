/**
 * The lab's Raft interface (`Make`, `Start`, `GetState`, `Snapshot`, `Kill` and the apply
 * stream), as a thin layer over a {@linkcode RaftNode} with {@linkcode PersisterStorage}, so the
 * lab's test suites and services read like the originals.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Random } from "../util/random.ts";
import type { RpcClient, RpcHandlers } from "../rpc/types.ts";
import { type ApplyMessage, RaftNode } from "../raft_node/node.ts";
import type { Persister } from "./persister.ts";
import type { PeerState } from "../sim/recorder.ts";
import { peerStateOf } from "../trace_view/peer_state.ts";
import { PersisterStorage } from "./persister_storage.ts";

/** What `start` answers (the lab's `index, term, isLeader`). */
export interface StartResult {
  /** The index the command will have if it is ever committed; -1 when not leader. */
  readonly index: number;
  /** The current term. */
  readonly term: number;
  /** Whether this peer believed it was leader. */
  readonly isLeader: boolean;
}

/** What `getState` answers (the lab's `term, isLeader`). */
export interface RaftState {
  /** The current term. */
  readonly term: number;
  /** Whether this peer believes it is the leader. */
  readonly isLeader: boolean;
}

/** One lab Raft peer. */
export interface LabRaft {
  /** Starts agreement on `command` (any value the codec encodes) if this peer leads. */
  start(command: unknown): StartResult;
  /**
   * Not in the lab's API: a read index for a read without a log entry (see
   * {@linkcode RaftNode.readIndex}).
   */
  readIndex(lease: boolean): Promise<number>;
  /** The current term and whether this peer believes it leads. */
  getState(): RaftState;
  /** The service's state up to and including `index` is in `snapshot`: trim the log. */
  snapshot(index: number, snapshot: Uint8Array): void;
  /** Stops the peer for good; it never applies or persists again. */
  kill(): void;
  /** The RPC methods to register on this peer's server. */
  readonly handlers: RpcHandlers;
  /** The peer's state, read live, for a trace (`--trace`) to sample. */
  readonly state: PeerState;
}

export type { ApplyMessage, CommandMessage, SnapshotMessage } from "../raft_node/node.ts";

/**
 * The lab's `Make`: a Raft peer `me` of `peers` (a client per peer, indexed by peer id),
 * restored from `persister`, that hands committed commands and leader snapshots to `apply`.
 * It does not apply the snapshot it restarts from: the service reads that from the persister.
 * `onFatal` hears of a broken invariant that stopped the peer (default: the process ends).
 */
export function make(
  peers: readonly RpcClient[],
  me: number,
  persister: Persister,
  apply: (message: ApplyMessage) => void,
  clock: Clock,
  random: Random,
  onFatal?: (error: unknown) => void,
): LabRaft {
  const node = new RaftNode({
    id: me,
    peers,
    storage: new PersisterStorage(persister),
    clock,
    random,
    apply,
    onFatal,
  });
  return {
    start: (command) => node.propose(command),
    readIndex: (lease) => node.readIndex(lease),
    getState: () => ({ term: node.term, isLeader: node.role === "leader" && !node.killed }),
    snapshot: (index, bytes) => node.snapshot(index, bytes),
    kill: () => node.kill(),
    handlers: node.handlers,
    state: peerStateOf(node),
  };
}
