/**
 * What a leader knows of one follower's log, and what it has sent that is not yet answered: the
 * follower's replication progress, a small state machine with its invariants written down and
 * asserted on every change (etcd-io/raft's tracker is the model).
 *
 * - **probe**: the leader does not know where the follower's log ends. It sends one append with
 *   entries at a time from `nextIndex` and waits for the answer (or the next heartbeat) before
 *   the next; a rejection moves `nextIndex` back by the follower's hint. A success moves to
 *   replicate. An append without entries does not make it wait: a new leader's first probe is
 *   empty, and the entries proposed right after it should not wait a round trip.
 * - **replicate**: the follower's log is known to match up to `matchIndex`. The leader streams:
 *   `nextIndex` advances as appends are sent, and up to a window of appends (by count and by
 *   bytes, see {@linkcode Inflights}) is in flight at once. A rejection moves back to probe.
 * - **snapshot**: the entries the follower needs are compacted; a snapshot was sent and nothing
 *   else is until it is acknowledged (then replicate) or times out (then probe).
 *
 * The window adapts, as TCP's congestion window does: every acknowledgement that raises
 * `matchIndex` widens it by one append (so it doubles per round trip) up to its bound, and every
 * refusal that sends the follower back to probe halves it. On an ordered link (TCP) refusals are
 * rare and the window stays wide; on a link that reorders messages (the simulated network) a wide
 * burst arrives out of order, the follower refuses whatever lands past a gap, and a window that
 * did not shrink would resend a full burst after every refusal.
 *
 * A follower that answers nothing for a timeout (in heartbeat intervals) in replicate or snapshot
 * goes back to probe: it is unreachable or its messages are lost, and probing sends it one
 * append per interval instead of a window's worth.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { Inflights } from "./inflights.ts";

/** The three ways a leader may be sending to a follower; see the module documentation. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** A read-only view of a follower's progress (for tests and diagnostics). */
export interface FollowerProgress {
  /** How the leader is sending to this follower. */
  readonly state: ProgressState;
  /** Index of the next entry to send. */
  readonly nextIndex: number;
  /** Highest index known to match the leader's log. */
  readonly matchIndex: number;
  /** Whether anything sent is awaiting an answer (a probe, appends, a snapshot). */
  readonly inflight: boolean;
  /** Appends in flight in the replicate state (0 otherwise). */
  readonly inflightAppends: number;
  /** How many appends the window admits now (it adapts; see the module documentation). */
  readonly windowAppends: number;
}

/** The bounds of a follower's window of appends in flight. */
export interface WindowLimits {
  /** At most this many appends in flight. */
  readonly appendsMax: number;
  /** At most about this many bytes of entries in flight (one larger append may go alone). */
  readonly bytesMax: number;
}

/**
 * A leader's state for one follower, from the moment it becomes leader until it steps down.
 *
 * Invariants, asserted after every change:
 * - `0 ≤ matchIndex < nextIndex`: the follower holds the leader's log up to `matchIndex`, and
 *   what is sent next starts after it; `matchIndex` never decreases;
 * - probe: no window in flight; at most one probe awaits its answer (`probeSent`);
 * - replicate: the window's appends lie in `(matchIndex, nextIndex - 1]`;
 * - snapshot: no window in flight, and the snapshot sent lies past `matchIndex`.
 */
export class Progress {
  #state: ProgressState = "probe";
  #nextIndex: number;
  #matchIndex = 0;
  /** In probe: an append was sent and neither its answer nor a heartbeat has come since. */
  #probeSent = false;
  /** In snapshot: the index of the snapshot sent. */
  #pendingSnapshotIndex = 0;
  /**
   * Heartbeat intervals since the follower last answered anything (or since the snapshot was
   * sent): in replicate or snapshot, a timeout of silence drops back to probe.
   */
  #silentHeartbeats = 0;
  readonly #inflights: Inflights;
  readonly #windowAppendsMax: number;
  /** The window's current width in appends, in [1, `#windowAppendsMax`]. */
  #windowAppends: number;

  /** Progress of a follower whose log is not yet known: probing from the leader's end. */
  constructor(nextIndex: number, limits: WindowLimits) {
    assert(
      Number.isSafeInteger(nextIndex) && nextIndex >= 1,
      `Cannot track a follower from entry ${nextIndex}: not a log index`,
    );
    this.#nextIndex = nextIndex;
    this.#inflights = new Inflights(limits.appendsMax, limits.bytesMax);
    this.#windowAppendsMax = limits.appendsMax;
    this.#windowAppends = limits.appendsMax;
    this.#checkInvariants();
  }

  /** How the leader is sending to this follower. */
  get state(): ProgressState {
    return this.#state;
  }

  /** Index of the next entry to send. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** Highest index known to match the leader's log. */
  get matchIndex(): number {
    return this.#matchIndex;
  }

  /** Appends in flight (only in replicate; 0 otherwise). */
  get inflightAppends(): number {
    return this.#inflights.count;
  }

  /** A copy of the progress for diagnostics. */
  view(): FollowerProgress {
    const inflightAppends = this.#inflights.count;
    const inflight = this.#state === "snapshot" || this.#probeSent || inflightAppends > 0;
    return {
      state: this.#state,
      nextIndex: this.#nextIndex,
      matchIndex: this.#matchIndex,
      inflight,
      inflightAppends,
      windowAppends: this.#windowAppends,
    };
  }

  /**
   * Whether the leader must hold back appends with entries: a probe awaits its answer, the
   * window is full, or a snapshot is on its way.
   */
  isPaused(): boolean {
    switch (this.#state) {
      case "probe":
        return this.#probeSent;
      case "replicate":
        return this.#inflights.full() || this.#inflights.count >= this.#windowAppends;
      case "snapshot":
        return true;
    }
  }

  /**
   * An append with entries up to `lastIndex` (about `sizeBytes` bytes), starting at
   * `nextIndex`, was sent. In replicate `nextIndex` moves past it at once (the window holds it);
   * in probe the leader waits for its answer.
   */
  sentEntries(lastIndex: number, sizeBytes: number): void {
    assert(!this.isPaused(), `Cannot send entries up to ${lastIndex}: the follower is paused`);
    assert(
      lastIndex >= this.#nextIndex,
      `Cannot send entries up to ${lastIndex}: the follower's next entry is ${this.#nextIndex}`,
    );
    if (this.#state === "replicate") {
      this.#inflights.add(lastIndex, sizeBytes);
      this.#nextIndex = lastIndex + 1;
    } else {
      this.#probeSent = true;
    }
    this.#checkInvariants();
  }

  /** The snapshot up to `index` was sent, since the entries from `nextIndex` are compacted. */
  sentSnapshot(index: number): void {
    assert(
      index >= this.#nextIndex,
      `Cannot send snapshot ${index}: the follower's next entry ${this.#nextIndex} is not in it`,
    );
    this.#state = "snapshot";
    this.#pendingSnapshotIndex = index;
    this.#silentHeartbeats = 0;
    this.#probeSent = false;
    this.#inflights.reset();
    this.#checkInvariants();
  }

  /**
   * The follower holds the leader's log up to `matchIndex` (a success or a snapshot's answer).
   * Returns whether that raised `matchIndex`. A probe that succeeded, or a snapshot now held,
   * moves to replicate; in replicate the acknowledged appends leave the window.
   */
  acknowledge(matchIndex: number): boolean {
    this.#silentHeartbeats = 0;
    const raised = matchIndex > this.#matchIndex;
    if (raised) {
      this.#matchIndex = matchIndex;
      this.#windowAppends = Math.min(this.#windowAppends + 1, this.#windowAppendsMax);
    }
    this.#nextIndex = Math.max(this.#nextIndex, this.#matchIndex + 1);
    switch (this.#state) {
      case "probe":
        // The follower's log matches right up to where the next append starts: stream from here.
        if (this.#matchIndex + 1 === this.#nextIndex) this.#becomeReplicate();
        break;
      case "replicate":
        this.#inflights.freeUpTo(this.#matchIndex);
        break;
      case "snapshot":
        if (this.#matchIndex >= this.#pendingSnapshotIndex) this.#becomeReplicate();
        break;
    }
    this.#checkInvariants();
    return raised;
  }

  /**
   * The follower refused the append whose `prevLogIndex` was `rejectedIndex`, hinting that its
   * log may match below `hintIndex`. Returns false, changing nothing, for a stale rejection:
   * in replicate one at or below `matchIndex` (the follower has since acknowledged more), in
   * probe one that does not answer the probe at `nextIndex - 1`, in snapshot any (no append
   * was sent). Otherwise moves to probe from the hint (never to `matchIndex` or below, never
   * past `rejectedIndex`) and returns true: the caller sends the next probe.
   */
  rejected(rejectedIndex: number, hintIndex: number): boolean {
    this.#silentHeartbeats = 0;
    switch (this.#state) {
      case "replicate":
        if (rejectedIndex <= this.#matchIndex) return false;
        this.#windowAppends = Math.max(1, Math.floor(this.#windowAppends / 2));
        this.#becomeProbe();
        break;
      case "probe":
        if (rejectedIndex !== this.#nextIndex - 1) return false;
        break;
      case "snapshot":
        return false;
    }
    this.#nextIndex = Math.max(Math.min(hintIndex, rejectedIndex), this.#matchIndex + 1);
    this.#probeSent = false;
    this.#checkInvariants();
    return true;
  }

  /**
   * A heartbeat interval passed. A waiting probe may be sent again (it or its answer may be
   * lost). A follower silent for `timeoutHeartbeats` intervals in replicate (unreachable: what is
   * in flight is likely lost) or in snapshot (the snapshot or its answer is lost) goes back to
   * probe, which sends one append (or the snapshot again) per interval until it answers.
   */
  heartbeat(timeoutHeartbeats: number): void {
    assert(timeoutHeartbeats > 0, `A timeout of ${timeoutHeartbeats} heartbeats is too short`);
    if (this.#state === "probe") {
      this.#probeSent = false;
    } else {
      this.#silentHeartbeats++;
      if (this.#silentHeartbeats >= timeoutHeartbeats) this.#becomeProbe();
    }
    this.#checkInvariants();
  }

  #becomeProbe(): void {
    this.#state = "probe";
    this.#silentHeartbeats = 0;
    this.#nextIndex = this.#matchIndex + 1;
    this.#probeSent = false;
    this.#inflights.reset();
  }

  #becomeReplicate(): void {
    this.#state = "replicate";
    this.#silentHeartbeats = 0;
    this.#nextIndex = this.#matchIndex + 1;
    this.#probeSent = false;
    this.#inflights.reset();
  }

  #checkInvariants(): void {
    assert(
      0 <= this.#matchIndex && this.#matchIndex < this.#nextIndex,
      `Progress breaks 0 <= match ${this.#matchIndex} < next ${this.#nextIndex}`,
    );
    const window = this.#inflights;
    assert(
      1 <= this.#windowAppends && this.#windowAppends <= this.#windowAppendsMax,
      `Progress has a window of ${this.#windowAppends} appends, outside 1 to ${this.#windowAppendsMax}`,
    );
    if (this.#state === "replicate") {
      assert(
        window.count === 0 || window.lastIndex <= this.#nextIndex - 1,
        `Progress has appends up to ${window.lastIndex} in flight past next ${this.#nextIndex}`,
      );
      assert(!this.#probeSent, "Progress in replicate awaits a probe");
    } else {
      assert(
        window.count === 0,
        `Progress in ${this.#state} has ${window.count} appends in flight`,
      );
    }
    if (this.#state === "snapshot") {
      assert(
        this.#pendingSnapshotIndex > this.#matchIndex,
        `Progress awaits snapshot ${this.#pendingSnapshotIndex}, yet match is ${this.#matchIndex}`,
      );
    }
  }
}
