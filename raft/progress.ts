/**
 * What a leader knows of one follower's log, and what it has sent that is not yet answered: the
 * follower's replication progress, with its invariants written down and asserted on every change.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** A read-only view of a follower's progress (for tests and diagnostics). */
export interface FollowerProgress {
  /** Index of the next entry to send. */
  readonly nextIndex: number;
  /** Highest index known to match the leader's log. */
  readonly matchIndex: number;
  /** Whether entries or a snapshot were sent and are not yet acknowledged. */
  readonly inflight: boolean;
}

/**
 * A leader's state for one follower, from the moment it becomes leader until it steps down.
 *
 * Invariants, asserted after every change:
 * - `0 ≤ matchIndex < nextIndex`: the follower holds the leader's log up to `matchIndex`, and
 *   what is sent next starts after it;
 * - while `inflight`, `matchIndex < inflightLastIndex`: something is outstanding only while it
 *   is not yet acknowledged (an acknowledgement up to it clears the flag).
 *
 * `matchIndex` never decreases: acknowledgements only raise it, and a rejection moves only
 * `nextIndex` back, never below `matchIndex + 1`.
 */
export class Progress {
  #nextIndex: number;
  #matchIndex = 0;
  #inflight = false;
  #inflightLastIndex = 0;

  /** Progress of a follower whose log is not yet known: the leader starts at its own end. */
  constructor(nextIndex: number) {
    assert(
      Number.isSafeInteger(nextIndex) && nextIndex >= 1,
      `Cannot track a follower from entry ${nextIndex}: not a log index`,
    );
    this.#nextIndex = nextIndex;
    this.#checkInvariants();
  }

  /** Index of the next entry to send. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** Highest index known to match the leader's log. */
  get matchIndex(): number {
    return this.#matchIndex;
  }

  /** Whether entries or a snapshot were sent and are not yet acknowledged. */
  get inflight(): boolean {
    return this.#inflight;
  }

  /** A copy of the progress for diagnostics. */
  view(): FollowerProgress {
    return { nextIndex: this.#nextIndex, matchIndex: this.#matchIndex, inflight: this.#inflight };
  }

  /** Entries up to `lastIndex` were sent, starting at `nextIndex`. */
  sentEntries(lastIndex: number): void {
    assert(
      lastIndex >= this.#nextIndex,
      `Cannot send entries up to ${lastIndex}: the follower's next entry is ${this.#nextIndex}`,
    );
    this.#inflight = true;
    this.#inflightLastIndex = lastIndex;
    this.#checkInvariants();
  }

  /** The snapshot up to `index` was sent, since the entries from `nextIndex` are compacted. */
  sentSnapshot(index: number): void {
    assert(
      index >= this.#nextIndex,
      `Cannot send snapshot ${index}: the follower's next entry ${this.#nextIndex} is not in it`,
    );
    this.#inflight = true;
    this.#inflightLastIndex = index;
    this.#checkInvariants();
  }

  /**
   * The follower holds the leader's log up to `matchIndex`. Returns whether that raised
   * `matchIndex` (a late or repeated acknowledgement does not).
   */
  acknowledge(matchIndex: number): boolean {
    const raised = matchIndex > this.#matchIndex;
    if (raised) this.#matchIndex = matchIndex;
    this.#nextIndex = Math.max(this.#nextIndex, this.#matchIndex + 1);
    if (this.#inflight && this.#matchIndex >= this.#inflightLastIndex) this.#inflight = false;
    this.#checkInvariants();
    return raised;
  }

  /**
   * The follower refused an append, hinting that its log may match up to `hintIndex - 1`.
   * Moves `nextIndex` back to the hint (never to `matchIndex` or below) and forgets what was in
   * flight. Returns false, changing nothing, when the hint does not move `nextIndex` back: it
   * answers an older request, and the current one stands.
   */
  rejected(hintIndex: number): boolean {
    const nextIndex = Math.max(hintIndex, this.#matchIndex + 1);
    if (nextIndex >= this.#nextIndex) return false;
    this.#nextIndex = nextIndex;
    this.#inflight = false;
    this.#checkInvariants();
    return true;
  }

  #checkInvariants(): void {
    assert(
      0 <= this.#matchIndex && this.#matchIndex < this.#nextIndex,
      `Progress breaks 0 <= match ${this.#matchIndex} < next ${this.#nextIndex}`,
    );
    assert(
      !this.#inflight || this.#matchIndex < this.#inflightLastIndex,
      `Progress has entries up to ${this.#inflightLastIndex} in flight, yet match is ${this.#matchIndex}`,
    );
  }
}
