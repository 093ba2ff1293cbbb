/**
 * What a simulation tells an attached recorder (`--trace`): every network step, every change of
 * the network's topology, and the moment after each event when continuations have settled; a
 * harness adds the peers whose state is sampled, its clients' calls and the failure. The
 * simulation holds `null` when nothing records, so recording costs one null check per step.
 *
 * A recorder only reads: it never draws from the random source or sets a timer, so a run
 * replays to the same trace hash whether it is recorded or not.
 *
 * @module
 */

/** What became of one call at one step of the network. */
export type NetworkOutcome =
  | "unreachable"
  | "request dropped"
  | "request delivered"
  | "server dead"
  | "reply dropped"
  | "reply delivered";

/** One step of one call through the simulated network. */
export interface NetworkStep {
  /** What became of the call at this step. */
  readonly outcome: NetworkOutcome;
  /** The client end the call went through (the harness's name, which names its owner). */
  readonly endName: string;
  /** The server the end is connected to, or "" when it is not connected. */
  readonly serverName: string;
  /** The RPC method called. */
  readonly method: string;
  /** When the request (or, for a reply, the handler's answer) left. */
  readonly sentMs: number;
  /** The decoded request or reply, when the step carried one; else undefined. */
  readonly body: unknown;
}

/** The state of one Raft peer, as a recorder samples it: only reads. */
export interface PeerState {
  /** The peer's role: `follower`, `precandidate`, `candidate` or `leader`. */
  readonly role: string;
  /** The latest term the peer has seen. */
  readonly term: number;
  /** The highest index the peer knows to be committed. */
  readonly commitIndex: number;
  /** The highest index the peer has applied. */
  readonly appliedIndex: number;
  /** The last index the peer's snapshot covers; 0 without one. */
  readonly snapshotIndex: number;
  /** The last index in the peer's log. */
  readonly lastIndex: number;
  /** The term of the entry at `index`, for snapshotIndex ≤ index ≤ lastIndex. */
  termAt(index: number): number;
}

/** Receives a simulated run's events; attach one with `Simulation.recorder`. */
export interface SimRecorder {
  /** A call took a step through the network at `nowMs`. */
  networkStep(nowMs: number, step: NetworkStep): void;
  /** End `endName` was enabled or disabled. */
  endEnabled(nowMs: number, endName: string, serverName: string, enabled: boolean): void;
  /** Server `serverName` was added (started) or deleted (crashed). */
  serverChanged(nowMs: number, serverName: string, running: boolean): void;
  /** Every continuation of the event at `nowMs` has settled: sample the peers. */
  settled(nowMs: number): void;
  /** From now on, sample `state` (null: the peer is gone) as the peer on server `serverName`. */
  peer(serverName: string, state: PeerState | null): void;
  /** Client `client` called `operation`; returns a handle for {@linkcode SimRecorder.clientReturn}. */
  clientCall(nowMs: number, client: string, operation: string): number;
  /** The call with handle `call` returned `output`. */
  clientReturn(nowMs: number, call: number, output: string): void;
  /** The run failed at `nowMs` with `message`. */
  failed(nowMs: number, message: string): void;
}
