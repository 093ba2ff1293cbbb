/**
 * A recorder's read-only view of a Raft peer, from anything that shows a core's state (a
 * `RaftNode` or a `RaftCore`): read live at every sample, copied nowhere.
 *
 * @module
 */
import type { ReadonlyRaftLog } from "../raft/log.ts";
import type { PeerState } from "../sim/recorder.ts";

/** What a peer shows of its state: `RaftNode` and `RaftCore` both do. */
export interface PeerStateSource {
  readonly role: string;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly log: ReadonlyRaftLog;
}

/** A live view of `source` for a recorder. */
export function peerStateOf(source: PeerStateSource): PeerState {
  return {
    get role() {
      return source.role;
    },
    get term() {
      return source.term;
    },
    get commitIndex() {
      return source.commitIndex;
    },
    get appliedIndex() {
      return source.appliedIndex;
    },
    get snapshotIndex() {
      return source.log.snapshotIndex;
    },
    get lastIndex() {
      return source.log.lastIndex;
    },
    termAt: (index) => source.log.term(index),
  };
}
