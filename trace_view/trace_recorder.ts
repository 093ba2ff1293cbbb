/**
 * The recorder `--trace` attaches to a simulation: it keeps the run's events as compact rows for
 * the timeline page ({@linkcode TraceData}), sampling each peer's role, term, indices and log at
 * every network step and after every event, and keeping a row only when something changed.
 *
 * Lanes: a server's lane is its server name; a client end's owner is read from the harnesses'
 * naming of ends (`end-<i>-<j>-<generation>` belongs to `server-<i>`, `clerk-<n>-<j>` and
 * `clerk-<n>` to `clerk-<n>`), so every harness's messages land on the right lanes.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { NetworkStep, PeerState, SimRecorder } from "../sim/recorder.ts";
import { describeBody } from "./message_summary.ts";
import type { TraceData, TraceRow } from "./trace_data.ts";

/** Rows a trace keeps; past it, recording stops and the page says the trace was cut short. */
export const TRACE_ROWS_MAX = 2_000_000;

interface SampledPeer {
  readonly lane: number;
  readonly state: PeerState;
  /** The last sample's role, term, commit, applied, snapshot and last index, joined. */
  last: string;
  /** Term of each index as last recorded; -1 where only a snapshot covers it. */
  readonly terms: number[];
}

/** Records one simulated run for the timeline page. */
export class TraceRecorder implements SimRecorder {
  readonly #rows: TraceRow[] = [];
  readonly #lanes: string[] = [];
  readonly #laneOf = new Map<string, number>();
  readonly #peers = new Map<string, SampledPeer>();
  /** Whether each end is enabled, and which lane to which lane it leads. */
  readonly #ends = new Map<string, { from: number; to: number; enabled: boolean }>();
  /** Enabled ends from lane to lane, keyed `from>to`. */
  readonly #links = new Map<string, number>();
  readonly #servers = new Set<number>();
  readonly #reach = new Map<number, string>();
  readonly #calls = new Map<number, number>();
  #linksChanged = false;
  #callCount = 0;
  #truncated = false;
  #failure: { atMs: number; message: string } | null = null;

  networkStep(nowMs: number, step: NetworkStep): void {
    this.#flush(nowMs);
    const client = this.#lane(ownerOfEnd(step.endName));
    const server = step.serverName === "" ? client : this.#lane(step.serverName);
    const isReply = step.outcome === "reply delivered" || step.outcome === "reply dropped";
    const summary = describeBody(step.method, step.body, isReply);
    const outcome = OUTCOME_CODES[step.outcome];
    this.#push([
      "m",
      nowMs,
      step.sentMs,
      isReply ? server : client,
      isReply ? client : server,
      summary.kind,
      summary.term,
      summary.entries,
      summary.success,
      outcome,
    ]);
  }

  endEnabled(_nowMs: number, endName: string, serverName: string, enabled: boolean): void {
    if (serverName === "") return;
    let end = this.#ends.get(endName);
    if (end === undefined) {
      end = { from: this.#lane(ownerOfEnd(endName)), to: this.#lane(serverName), enabled: false };
      this.#ends.set(endName, end);
    }
    if (end.enabled === enabled) return;
    end.enabled = enabled;
    const key = `${end.from}>${end.to}`;
    this.#links.set(key, (this.#links.get(key) ?? 0) + (enabled ? 1 : -1));
    this.#linksChanged = true;
  }

  serverChanged(nowMs: number, serverName: string, running: boolean): void {
    this.#flush(nowMs);
    const lane = this.#lane(serverName);
    this.#servers.add(lane);
    if (!running) this.#peers.delete(serverName);
    this.#push(["c", nowMs, lane, running ? 1 : 0]);
  }

  settled(nowMs: number): void {
    this.#flush(nowMs);
  }

  peer(serverName: string, state: PeerState): void {
    const lane = this.#lane(serverName);
    const old = this.#peers.get(serverName);
    this.#peers.set(serverName, { lane, state, last: "", terms: old?.terms ?? [0] });
  }

  clientCall(nowMs: number, client: string, operation: string): number {
    const call = this.#callCount++;
    const lane = this.#lane(client);
    this.#calls.set(call, lane);
    this.#push(["o", nowMs, lane, call, operation]);
    return call;
  }

  clientReturn(nowMs: number, call: number, output: string): void {
    const lane = this.#calls.get(call);
    assert(lane !== undefined, `Cannot return client call ${call}: it was never made`);
    this.#calls.delete(call);
    this.#push(["r", nowMs, lane, call, output.length > 60 ? `${output.slice(0, 57)}...` : output]);
  }

  failed(nowMs: number, message: string): void {
    this.#flush(nowMs);
    if (this.#failure === null) this.#failure = { atMs: nowMs, message };
  }

  /** The run recorded so far, for {@linkcode tracePage}. */
  data(header: Pick<TraceData, "title" | "seed" | "replay">): TraceData {
    return {
      ...header,
      lanes: [...this.#lanes],
      rows: this.#rows,
      failure: this.#failure,
      truncated: this.#truncated,
    };
  }

  #lane(name: string): number {
    let lane = this.#laneOf.get(name);
    if (lane === undefined) {
      lane = this.#lanes.length;
      this.#lanes.push(name);
      this.#laneOf.set(name, lane);
    }
    return lane;
  }

  #push(row: TraceRow): void {
    if (this.#rows.length >= TRACE_ROWS_MAX) {
      this.#truncated = true;
      return;
    }
    this.#rows.push(row);
  }

  /** Records every peer whose state changed, and the partitions, if the links changed. */
  #flush(nowMs: number): void {
    for (const peer of this.#peers.values()) this.#sample(nowMs, peer);
    if (this.#linksChanged) this.#recordReach(nowMs);
  }

  #sample(nowMs: number, peer: SampledPeer): void {
    const state = peer.state;
    const key = `${state.role} ${state.term} ${state.commitIndex} ${state.appliedIndex} ` +
      `${state.snapshotIndex} ${state.lastIndex} ${
        state.lastIndex > state.snapshotIndex ? state.termAt(state.lastIndex) : 0
      }`;
    if (key === peer.last) return;
    peer.last = key;
    this.#push([
      "s",
      nowMs,
      peer.lane,
      state.role,
      state.term,
      state.commitIndex,
      state.appliedIndex,
      state.snapshotIndex,
    ]);
    this.#recordLog(nowMs, peer);
  }

  /**
   * Records the log's new tail. The search back from the end stops at the first index whose term
   * matches what was recorded: by Raft's log matching, everything before it matches too.
   */
  #recordLog(nowMs: number, peer: SampledPeer): void {
    const state = peer.state;
    const terms = peer.terms;
    const snapshotIndex = state.snapshotIndex;
    let index = Math.min(state.lastIndex, terms.length - 1);
    while (index > snapshotIndex && state.termAt(index) !== terms[index]) index--;
    const from = index + 1;
    if (from > state.lastIndex && terms.length - 1 === state.lastIndex) return;
    while (terms.length <= snapshotIndex) terms.push(-1);
    terms.length = Math.max(from, snapshotIndex + 1);
    const tail: number[] = [];
    for (let at = terms.length; at <= state.lastIndex; at++) {
      tail.push(state.termAt(at));
      terms.push(state.termAt(at));
    }
    this.#push(["l", nowMs, peer.lane, terms.length - tail.length, tail, terms.length - 1]);
  }

  /** For each server, the servers it reaches both ways; a row for each server whose set changed. */
  #recordReach(nowMs: number): void {
    this.#linksChanged = false;
    for (const lane of this.#servers) {
      const reach: number[] = [];
      for (const other of this.#servers) {
        if (other === lane) continue;
        const out = this.#links.get(`${lane}>${other}`) ?? 0;
        const back = this.#links.get(`${other}>${lane}`) ?? 0;
        if (out > 0 && back > 0) reach.push(other);
      }
      const text = reach.join(",");
      if (this.#reach.get(lane) === text) continue;
      this.#reach.set(lane, text);
      this.#push(["p", nowMs, lane, reach]);
    }
  }
}

const OUTCOME_CODES = {
  "unreachable": "u",
  "request dropped": "x",
  "request delivered": "d",
  "server dead": "k",
  "reply dropped": "x",
  "reply delivered": "d",
} as const;

/** The lane that owns client end `endName`, by the harnesses' naming of ends. */
export function ownerOfEnd(endName: string): string {
  const peerEnd = /^end-(\d+)-/.exec(endName);
  if (peerEnd !== null) return `server-${peerEnd[1]}`;
  const clientEnd = /^([a-z]+-\d+)/.exec(endName);
  return clientEnd === null ? endName : clientEnd[1];
}
