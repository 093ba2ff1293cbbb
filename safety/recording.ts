/**
 * The safety simulation as a recorder (`dsys test sim --trace`) sees it: its time units as
 * virtual milliseconds (a tick is 10 ms, raft_node's default), each peer as `server-<id>`, each
 * message as a call from `end-<from>-<to>` to `server-<to>`, and its links as ends enabled or not.
 *
 * @module
 */
import type { RaftCore } from "../raft/core.ts";
import type { Message } from "../raft/messages.ts";
import type { SimRecorder } from "../sim/recorder.ts";
import { peerStateOf } from "../trace_view/peer_state.ts";
import type { Links } from "./links.ts";
import { TICK_UNITS } from "./profile.ts";

/** Virtual milliseconds in a tick, as a lab peer ticks (raft_node's `DEFAULT_TICK_MS`). */
const TICK_MS = 10;

/** Tells a {@linkcode SimRecorder} what one safety simulation does. */
export class SafetyRecording {
  readonly #recorder: SimRecorder;
  readonly #peers: readonly number[];

  /** Records peers `peers` to `recorder`. */
  constructor(recorder: SimRecorder, peers: readonly number[]) {
    this.#recorder = recorder;
    this.#peers = peers;
  }

  /** `message`, sent at `sentAt` units, was delivered now (or lost, when `delivered` is false). */
  message(nowUnits: number, sentAt: number, message: Message, delivered: boolean): void {
    this.#recorder.networkStep(msOf(nowUnits), {
      outcome: delivered ? "request delivered" : "request dropped",
      endName: `end-${message.from}-${message.to}`,
      serverName: `server-${message.to}`,
      method: message.type,
      sentMs: msOf(sentAt),
      body: message,
    });
  }

  /** A snapshot chunk from `from` reached `to` now (or was lost); drawn as it arrives. */
  chunk(nowUnits: number, from: number, to: number, term: number, delivered: boolean): void {
    this.#recorder.networkStep(msOf(nowUnits), {
      outcome: delivered ? "request delivered" : "request dropped",
      endName: `end-${from}-${to}`,
      serverName: `server-${to}`,
      method: "InstallSnapshotChunk",
      sentMs: msOf(nowUnits),
      body: { type: "InstallSnapshotChunk", term },
    });
  }

  /** Peer `peer` started with `core`, or (core null) crashed. */
  process(nowUnits: number, peer: number, core: RaftCore | null): void {
    this.#recorder.serverChanged(msOf(nowUnits), `server-${peer}`, core !== null);
    if (core !== null) this.#recorder.peer(`server-${peer}`, peerStateOf(core));
  }

  /** The event at `nowUnits` is done: the links as they are now, and every peer's state. */
  settled(nowUnits: number, links: Links): void {
    for (const from of this.#peers) {
      for (const to of this.#peers) {
        if (from === to) continue;
        const end = `end-${from}-${to}`;
        this.#recorder.endEnabled(msOf(nowUnits), end, `server-${to}`, links.allows(from, to));
      }
    }
    this.#recorder.settled(msOf(nowUnits));
  }

  /** The run broke an invariant at `nowUnits`. */
  failed(nowUnits: number, message: string): void {
    this.#recorder.failed(msOf(nowUnits), message);
  }
}

function msOf(units: number): number {
  return units / TICK_UNITS * TICK_MS;
}
