/**
 * The search for a linearization of the operations on one key, after Wing & Gong with Lowe's
 * memoisation (the structure of the porcupine checker):
 *
 * - calls and returns of all operations form one doubly linked list in time order;
 * - walking the list from the front, a call whose operation the model accepts in the current
 *   state is linearized: its call and return leave the list and the walk starts again;
 * - reaching a return means that operation's call was not linearized before it returned, so
 *   the last linearized operation is undone (backtracking) and the walk resumes after it;
 * - every configuration reached (set of linearized operations, model state) is remembered, and
 *   a step that leads to a configuration seen before is not taken again.
 *
 * The model is one key's value: Get must read the current string ("" when never written), Put
 * replaces it, Append concatenates. An operation of unknown outcome returns at +infinity, so it
 * may be linearized at any point after its call; the search succeeds as soon as every operation
 * of known outcome is linearized, which leaves the unknown ones free never to have happened.
 *
 * Concurrent appends would make the search try every order of them. Rules specific to this
 * model cut those orders without losing a linearization:
 *
 * - Guides. Everything linearized before a pending get G has its call before G's return. A write
 *   linearized now comes before G, so G reads the value it leaves followed by later appends,
 *   unless a later put replaces it. So unless one of the puts called before G's return writes a
 *   start of G's output, a write linearized now must leave a value G's output starts with.
 * - Tokens. When written values have markers (see {@linkcode TokenIndex}), G's output tells which
 *   writes it contains; a write linearized now whose value it contains must leave a value G's
 *   output starts with, whatever puts are pending: no put can come between it and G.
 * - Unseen writes. When values have markers, a write whose value no get read (and that is not a
 *   put of "") cannot have been followed by a get before the next put. One of unknown outcome is
 *   taken never to have happened. One that returned is placed as late as it can be: when it
 *   must come next (its return is the first pending one), by a "wipe" right before the latest
 *   put linearized, where it changes nothing a get saw, or else right there. This spares the
 *   search every subset of unseen writes it could otherwise place before each put.
 * - Dead values. Until the next put, only gets called before the first return of a pending put
 *   (a seen one: unseen ones may be wiped back) can be linearized; if none of their outputs
 *   starts with the value a write leaves, no get will ever read that value or its extensions.
 *   Such a value is replaced by a "dead" marker, so that every order of appends that a put will
 *   erase reaches one remembered configuration.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { Bitset } from "./bitset.ts";
import { EventList, HEAD, NONE } from "./event_list.ts";
import { EMPTY_FRAGMENT, type Fragment, fragmentOf, joinFirst, joinSecond } from "./fingerprint.ts";
import { isUnknownOutcome, type Operation } from "./history.ts";
import { PendingQueue } from "./pending_queue.ts";
import { TokenIndex } from "./token_index.ts";

/** What a check concluded. */
export type Verdict = "ok" | "illegal" | "timeout";

/** Bounds on one search. */
export interface SearchLimits {
  /** Stop with "timeout" once `now()` passes this. */
  readonly deadlineMs: number;
  /** Stop with "timeout" once the memo holds this many configurations. */
  readonly maxMemoEntries: number;
  /** The wall clock, in milliseconds (`performance.now` outside tests). */
  readonly now: () => number;
}

/** How often (in steps, a power of two) a search looks at the wall clock. */
const STEPS_PER_CLOCK_CHECK = 1024;

/**
 * Why a search at step `steps`, holding `memoEntries` configurations, must stop now, or "" if it
 * may go on; it looks at the limits once every {@linkcode STEPS_PER_CLOCK_CHECK} steps.
 */
export function stopReason(steps: number, limits: SearchLimits, memoEntries: number): string {
  if ((steps & (STEPS_PER_CLOCK_CHECK - 1)) !== 0) return "";
  if (memoEntries >= limits.maxMemoEntries) {
    return `the memo reached its limit of ${limits.maxMemoEntries} configurations`;
  }
  if (limits.now() > limits.deadlineMs) return "the time budget ran out";
  return "";
}

/** How to search. */
export interface SearchOptions {
  /**
   * Whether guides prune writes (see the module comment). They never change the verdict, but
   * they cut branches before they fail, so the longest prefix reached explains less.
   */
  readonly guides: boolean;
  /**
   * Indices of operations to linearize first, in order, never undone: a linearizable prefix
   * found by an earlier search, that this one tries to extend. The verdict is then about
   * extensions of this prefix only.
   */
  readonly prefix: readonly number[];
}

/** The usual options: guides on, no prefix. */
export const DEFAULT_SEARCH_OPTIONS: SearchOptions = { guides: true, prefix: [] };

/** What one search found. */
export interface SearchOutcome {
  /** "ok": a linearization exists; "illegal": none does; "timeout": the limits stopped it. */
  readonly verdict: Verdict;
  /**
   * Indices (into the searched operations) in linearization order: all of them that were needed
   * when "ok", otherwise the longest linearizable prefix the search reached.
   */
  readonly linearization: readonly number[];
  /** Search steps taken. */
  readonly steps: number;
  /** Configurations remembered. */
  readonly memoEntries: number;
  /** Why the search stopped early; empty unless the verdict is "timeout". */
  readonly reason: string;
}

/** Bounds on the scans that collect guiding gets and the gets that may read a value. */
const MAX_SCANNED_PUTS = 64;
const MAX_GUIDES_BY_RETURN = 8;
const MAX_GUIDES_BY_CALL = 4;
const MAX_GUIDES = MAX_GUIDES_BY_RETURN + MAX_GUIDES_BY_CALL;
const MAX_READERS = 64;
/** Whether a guide starts with the current value: not yet compared, yes, no. */
const UNKNOWN = 0;
const YES = 1;
const NO = 2;
/** The fingerprint of the dead marker; the dead flag, not these, tells it apart. */
const DEAD_FIRST = 0x0dead;
const DEAD_SECOND = 0x0dead;
const GET = 0;
const PUT = 1;
const APPEND = 2;

/** A remembered configuration: the linearized set and the state it produced. */
interface MemoSlot {
  readonly words: Uint32Array;
  readonly text: string;
  readonly dead: boolean;
  /** The latest call a write may have to be wiped before the latest put (see #wipe). */
  readonly wipeLimitMs: number;
}

/** A model state: the key's value (or the dead marker) and its fingerprint. */
interface State {
  readonly text: string;
  readonly first: number;
  readonly second: number;
  readonly dead: boolean;
  /** Gets whose output is known to start with `text`, so that long values are compared once. */
  startOf?: number[];
}

/**
 * Searches for a linearization of `operations`, which must all touch one key; operations of
 * unknown outcome must be puts or appends (drop unknown gets first: they constrain nothing).
 */
export function searchPartition(
  operations: readonly Operation[],
  limits: SearchLimits,
  options: SearchOptions = DEFAULT_SEARCH_OPTIONS,
): SearchOutcome {
  return new PartitionSearch(operations, limits, options.guides).run(options.prefix);
}

class PartitionSearch {
  readonly #limits: SearchLimits;
  readonly #useGuides: boolean;
  readonly #list: EventList;
  // Per operation: kind, whether it returned, the text it read (get) or wrote, its fingerprint,
  // whether a get may have seen it (writes), call and return times.
  readonly #kind: Uint8Array;
  readonly #known: Uint8Array;
  readonly #seen: Uint8Array;
  readonly #callMs: Float64Array;
  readonly #returnMs: Float64Array;
  readonly #text: string[];
  readonly #fragment: (Fragment | undefined)[];
  // The linearized calls, with the state before each; a wiped write's frame holds the depth of
  // the put it was placed before, other frames -1. For wipes: the depth of the latest put and
  // the latest call a write may have to be placed before it (both as before each frame).
  readonly #stackEntry: Int32Array;
  readonly #stackState: State[] = [];
  readonly #stackWipedBefore: Int32Array;
  readonly #stackLastPut: Int32Array;
  readonly #stackWipeLimitMs: Float64Array;
  #lastPutDepth = -1;
  #wipeLimitMs = -Infinity;
  #state: State = {
    text: "",
    first: EMPTY_FRAGMENT.first,
    second: EMPTY_FRAGMENT.second,
    dead: false,
  };
  // The state a step would produce, set by #apply.
  #candidate: State = this.#state;
  readonly #linearized: Bitset;
  readonly #memo = new Map<number, MemoSlot[]>();
  #memoEntries = 0;
  #remainingKnown = 0;
  #steps = 0;
  // The longest prefix seen; stack positions below #unchangedDepth still match it.
  readonly #best: Int32Array;
  readonly #bestWipedBefore: Int32Array;
  #bestLength = 0;
  #unchangedDepth = 0;
  // Guides and readers (see the module comment), valid for one version of the list.
  readonly #getsByReturn: PendingQueue;
  readonly #getsByCall: PendingQueue;
  readonly #knownPutsByCall: PendingQueue;
  readonly #unknownPutsByCall: PendingQueue;
  readonly #emptyPutsByCall: PendingQueue;
  readonly #seenPutsByReturn: PendingQueue;
  #guideVersion = -1;
  readonly #guides: number[] = [];
  readonly #guideRescued = new Uint8Array(MAX_GUIDES);
  readonly #guideExtends = new Uint8Array(MAX_GUIDES);
  // Which writes each get's output is made of, when values have markers.
  readonly #tokens: TokenIndex | null;
  readonly #writersOf: (Set<number> | undefined)[];
  #firstReturnVersion = -1;
  #firstReturnEntry = NONE;
  #readerVersion = -1;
  #readerWrittenPut = -1;
  #readers: string[] | null = [];

  constructor(operations: readonly Operation[], limits: SearchLimits, useGuides: boolean) {
    const count = operations.length;
    this.#limits = limits;
    this.#useGuides = useGuides;
    this.#kind = new Uint8Array(count);
    this.#known = new Uint8Array(count);
    this.#callMs = Float64Array.from(operations, (operation) => operation.callMs);
    this.#returnMs = Float64Array.from(operations, (operation) => operation.returnMs);
    this.#text = new Array<string>(count);
    this.#fragment = new Array<Fragment | undefined>(count);
    for (let index = 0; index < count; index++) this.#describe(index, operations[index]);
    const list = new EventList(operations);
    this.#list = list;
    this.#tokens = TokenIndex.build(
      this.#text.map((text, index) => this.#kind[index] === GET ? null : text),
    );
    this.#writersOf = new Array(count);
    const indices = Array.from({ length: count }, (_, index) => index);
    const gets = indices.filter((index) => this.#kind[index] === GET);
    const puts = indices.filter((index) => this.#kind[index] === PUT);
    // Puts of "" start every output: they are rescuers of their own (see #somePutStarts).
    const emptyPuts = puts.filter((index) => this.#text[index] === "");
    const knownPuts = puts.filter((index) => this.#known[index] === 1 && this.#text[index] !== "");
    const byCall = (left: number, right: number) =>
      list.callEntryOf[left] - list.callEntryOf[right];
    const byReturn = (left: number, right: number) =>
      list.returnEntryOf[left] - list.returnEntryOf[right];
    this.#getsByReturn = new PendingQueue(gets.sort(byReturn), count);
    this.#seen = this.#findSeenWrites();
    this.#getsByCall = new PendingQueue([...gets].sort(byCall), count);
    const unknownPuts = puts.filter((index) =>
      this.#known[index] === 0 && this.#text[index] !== ""
    );
    this.#emptyPutsByCall = new PendingQueue(emptyPuts.sort(byCall), count);
    this.#knownPutsByCall = new PendingQueue([...knownPuts].sort(byCall), count);
    this.#unknownPutsByCall = new PendingQueue(unknownPuts.sort(byCall), count);
    // An unseen put may be wiped back before an earlier put: it does not end a value's reign.
    const seenPuts = puts.filter((index) => this.#known[index] === 1 && this.#seen[index] === 1);
    this.#seenPutsByReturn = new PendingQueue(seenPuts.sort(byReturn), count);
    this.#stackEntry = new Int32Array(count);
    this.#stackWipedBefore = new Int32Array(count);
    this.#stackLastPut = new Int32Array(count);
    this.#stackWipeLimitMs = new Float64Array(count);
    this.#linearized = new Bitset(count);
    this.#best = new Int32Array(count);
    this.#bestWipedBefore = new Int32Array(count);
  }

  /**
   * Which writes a get may have seen: all of them, unless values have markers; then those found
   * in some get's output, and puts of "" (what they do is seen, though their value is not).
   */
  #findSeenWrites(): Uint8Array {
    const count = this.#kind.length;
    const seen = new Uint8Array(count);
    const tokens = this.#tokens;
    if (tokens === null) return seen.fill(1);
    for (let operation = 0; operation < count; operation++) {
      if (this.#kind[operation] === PUT && this.#text[operation] === "") seen[operation] = 1;
    }
    // Outputs mostly extend the one read before them: read only what is new, so that a long
    // history of appends costs the length of its outputs' differences, not of all outputs.
    let previous = "";
    const markSeen = (writer: number) => seen[writer] = 1;
    for (let position = 0; position < this.#getsByReturn.length; position++) {
      const output = this.#text[this.#getsByReturn.at(position)];
      const extendsPrevious = output.length >= previous.length && output.startsWith(previous) &&
        (output.length === previous.length || tokens.isMarkerAt(output, previous.length));
      if (!extendsPrevious) tokens.forEachWriterIn(output, 0, markSeen);
      else if (output.length > previous.length) {
        tokens.forEachWriterIn(output, previous.length, markSeen);
      }
      previous = output;
    }
    return seen;
  }

  /** The writes the output of `get` is made of; values must have markers. */
  #writersIn(get: number): Set<number> {
    assert(this.#tokens !== null, "Cannot split outputs: the values have no markers");
    let writers = this.#writersOf[get];
    if (writers === undefined) {
      writers = this.#tokens.writersIn(this.#text[get]);
      this.#writersOf[get] = writers;
    }
    return writers;
  }

  #describe(index: number, operation: Operation): void {
    const known = !isUnknownOutcome(operation);
    assert(
      known || operation.kind !== "get",
      `Operation ${index} is a get of unknown outcome; drop it before the search`,
    );
    this.#known[index] = known ? 1 : 0;
    const kind = operation.kind === "get" ? GET : operation.kind === "put" ? PUT : APPEND;
    this.#remainingKnown += known ? 1 : 0;
    this.#kind[index] = kind;
    this.#text[index] = kind === GET ? operation.output : operation.value;
    // A get's output is fingerprinted when first needed: outputs can be long, and most gets
    // are decided by length and by what the state is known to start.
    if (kind !== GET) this.#fragment[index] = fragmentOf(this.#text[index]);
  }

  run(prefix: readonly number[]): SearchOutcome {
    const list = this.#list;
    for (const operation of prefix) this.#linearizeGiven(operation);
    // Backtracking stops at the given prefix: the search is for its extensions.
    const floorDepth = prefix.length;
    let entry = list.next[HEAD];
    while (this.#remainingKnown > 0) {
      const reason = stopReason(++this.#steps, this.#limits, this.#memoEntries);
      if (reason !== "") return this.#outcome("timeout", reason);
      // The last entry is always a return, so the walk meets one before the end of the list.
      assert(entry !== NONE, `Walked off the event list with ${this.#remainingKnown} left`);
      if (list.isCall[entry] === 1) {
        entry = this.#tryLinearize(entry, false) ? list.next[HEAD] : list.next[entry];
      } else if (this.#tryWipe(list.operationOf[entry])) {
        entry = list.next[HEAD];
      } else if (this.#stackState.length === floorDepth) {
        return this.#outcome("illegal", "");
      } else {
        entry = list.next[this.#undo()];
      }
    }
    return this.#outcome("ok", "");
  }

  #outcome(verdict: Verdict, reason: string): SearchOutcome {
    let linearization: number[];
    if (verdict === "ok") {
      const depth = this.#stackState.length;
      const operations = Array.from(
        { length: depth },
        (_, position) => this.#list.operationOf[this.#stackEntry[position]],
      );
      linearization = inOrder(operations, this.#stackWipedBefore.subarray(0, depth));
    } else {
      const length = this.#bestLength;
      linearization = inOrder(
        Array.from(this.#best.subarray(0, length)),
        this.#bestWipedBefore.subarray(0, length),
      );
    }
    return { verdict, linearization, steps: this.#steps, memoEntries: this.#memoEntries, reason };
  }

  /** Linearizes `operation`, which must be legal now: the next of a given prefix. */
  #linearizeGiven(operation: number): void {
    const list = this.#list;
    let entry = list.next[HEAD];
    while (entry !== NONE && list.isCall[entry] === 1 && list.operationOf[entry] !== operation) {
      entry = list.next[entry];
    }
    assert(
      entry !== NONE && list.isCall[entry] === 1,
      `Operation ${operation} of the given prefix cannot come next: an operation returned before its call`,
    );
    assert(
      this.#tryLinearize(entry, true),
      `Operation ${operation} of the given prefix is not legal next`,
    );
  }

  /**
   * Linearizes the call at `entry` if the model accepts it and the result is new. An unseen
   * write waits until it must come next, unless it is `given`.
   */
  #tryLinearize(entry: number, given: boolean): boolean {
    const operation = this.#list.operationOf[entry];
    if (!given && this.#kind[operation] !== GET && this.#seen[operation] === 0) {
      if (this.#known[operation] === 0) return false;
      if (this.#firstReturn() !== this.#list.returnEntryOf[operation]) return false;
      // Where a wipe is possible it does all that placing the write here could: a put must
      // erase it before any get anyway, as no get saw it.
      if (this.#canWipe(operation)) return false;
    }
    if (!this.#apply(operation)) return false;
    if (this.#kind[operation] !== GET) {
      if (this.#useGuides && !this.#guidesAllow(operation)) return false;
      const value = this.#candidate.text;
      if (!this.#candidate.dead && !this.#someReaderStartsWith(operation, value)) {
        this.#candidate = { text: "", first: DEAD_FIRST, second: DEAD_SECOND, dead: true };
      }
    }
    return this.#push(entry, -1);
  }

  /**
   * Wipes `operation`, an unseen write that must come next: places it right before the latest
   * put linearized, which erases its effect before any get could see it. That is only possible
   * if it was called before that put and everything after it returned.
   */
  #tryWipe(operation: number): boolean {
    if (this.#kind[operation] === GET || this.#seen[operation] === 1) return false;
    if (!this.#canWipe(operation)) return false;
    this.#candidate = this.#state;
    return this.#push(this.#list.callEntryOf[operation], this.#lastPutDepth);
  }

  /** Whether `operation` could be placed right before the latest put without breaking time. */
  #canWipe(operation: number): boolean {
    return this.#lastPutDepth >= 0 && this.#callMs[operation] <= this.#wipeLimitMs;
  }

  /**
   * Pushes the call at `entry`, leading to #candidate, unless that configuration was seen;
   * `wipedBefore` is the depth of the put it is wiped before, or -1.
   */
  #push(entry: number, wipedBefore: number): boolean {
    const operation = this.#list.operationOf[entry];
    const isPut = wipedBefore === -1 && this.#kind[operation] === PUT;
    const wipeLimitMs = wipedBefore !== -1
      ? this.#wipeLimitMs
      : isPut
      ? this.#returnMs[operation]
      : Math.min(this.#wipeLimitMs, this.#returnMs[operation]);
    this.#linearized.add(operation);
    if (!this.#remember(wipeLimitMs)) {
      this.#linearized.delete(operation);
      return false;
    }
    const depth = this.#stackState.length;
    assert(depth < this.#stackEntry.length, `Cannot linearize past ${depth} operations`);
    this.#stackEntry[depth] = entry;
    this.#stackState.push(this.#state);
    this.#stackWipedBefore[depth] = wipedBefore;
    this.#stackLastPut[depth] = this.#lastPutDepth;
    this.#stackWipeLimitMs[depth] = this.#wipeLimitMs;
    this.#state = this.#candidate;
    if (isPut) this.#lastPutDepth = depth;
    this.#wipeLimitMs = wipeLimitMs;
    this.#list.lift(entry);
    this.#remainingKnown -= this.#known[operation];
    if (depth + 1 > this.#bestLength) this.#recordBest();
    return true;
  }

  /** Undoes the last linearization; returns the entry of the call it undid. */
  #undo(): number {
    const state = this.#stackState.pop();
    assert(state !== undefined, "Cannot undo a linearization: none is left");
    const depth = this.#stackState.length;
    const entry = this.#stackEntry[depth];
    const operation = this.#list.operationOf[entry];
    this.#state = state;
    this.#lastPutDepth = this.#stackLastPut[depth];
    this.#wipeLimitMs = this.#stackWipeLimitMs[depth];
    this.#linearized.delete(operation);
    this.#list.unlift(entry);
    this.#remainingKnown += this.#known[operation];
    this.#getsByReturn.restore(operation);
    this.#getsByCall.restore(operation);
    this.#knownPutsByCall.restore(operation);
    this.#unknownPutsByCall.restore(operation);
    this.#emptyPutsByCall.restore(operation);
    this.#seenPutsByReturn.restore(operation);
    if (depth < this.#unchangedDepth) this.#unchangedDepth = depth;
    return entry;
  }

  /** The first return entry in the list: its operation must be linearized before going on. */
  #firstReturn(): number {
    const list = this.#list;
    if (this.#firstReturnVersion === list.version) return this.#firstReturnEntry;
    this.#firstReturnVersion = list.version;
    let entry = list.next[HEAD];
    while (entry !== NONE && list.isCall[entry] === 1) entry = list.next[entry];
    this.#firstReturnEntry = entry;
    return entry;
  }

  #recordBest(): void {
    const depth = this.#stackState.length;
    for (let position = this.#unchangedDepth; position < depth; position++) {
      this.#best[position] = this.#list.operationOf[this.#stackEntry[position]];
      this.#bestWipedBefore[position] = this.#stackWipedBefore[position];
    }
    this.#bestLength = depth;
    this.#unchangedDepth = depth;
  }

  /** Runs the model: whether `operation` may happen now, and (in #candidate) the state after. */
  #apply(operation: number): boolean {
    const text = this.#text[operation];
    const state = this.#state;
    if (this.#kind[operation] === GET) {
      this.#candidate = state;
      if (state.dead || state.text.length !== text.length) return false;
      // Equal length and known to start the output: equal, without comparing long strings.
      if (state.startOf !== undefined && state.startOf.includes(operation)) return true;
      let fragment = this.#fragment[operation];
      if (fragment === undefined) {
        fragment = fragmentOf(text);
        this.#fragment[operation] = fragment;
      }
      if (state.first !== fragment.first || state.second !== fragment.second) return false;
      return state.text === text;
    }
    const fragment = this.#fragment[operation];
    assert(fragment !== undefined, `Write ${operation} has no fingerprint`);
    if (this.#kind[operation] === PUT) {
      this.#candidate = { text, first: fragment.first, second: fragment.second, dead: false };
    } else {
      this.#candidate = state.dead ? state : {
        text: state.text + text,
        first: joinFirst(state.first, fragment),
        second: joinSecond(state.second, fragment),
        dead: false,
      };
    }
    return true;
  }

  /** Whether every guiding get allows the write `operation` to be linearized now. */
  #guidesAllow(operation: number): boolean {
    const guides = this.#collectGuides();
    const written = this.#text[operation];
    const isPut = this.#kind[operation] === PUT;
    const stateLength = this.#state.text.length;
    const startOf: number[] = [];
    for (let index = 0; index < guides.length; index++) {
      if (!this.#guideApplies(index, operation)) continue;
      const output = this.#text[guides[index]];
      startOf.push(guides[index]);
      if (isPut) {
        if (!output.startsWith(written)) return false;
        continue;
      }
      // The guide will read what this append leaves, followed by later appends; no get reads
      // a dead value. Compare the appended part first (short, and it usually decides), then the
      // old value, whose comparison every candidate of this step shares.
      if (this.#state.dead) return false;
      if (output.length < stateLength + written.length) return false;
      if (!output.startsWith(written, stateLength)) return false;
      if (!this.#guideExtendsState(index)) return false;
    }
    // The candidate is a fresh state: tell it which outputs it was found to start.
    if (startOf.length > 0 && !this.#candidate.dead) this.#candidate.startOf = startOf;
    return true;
  }

  /**
   * Whether guide `index` will read what the write `operation`, linearized now, leaves: yes if
   * no put called before the guide returns could replace it, or if its value is in the guide's
   * output and values have markers (see {@linkcode TokenIndex}).
   */
  #guideApplies(index: number, operation: number): boolean {
    if (this.#guideRescued[index] === 0) return true;
    if (this.#tokens === null) return false;
    return this.#writersIn(this.#guides[index]).has(operation);
  }

  /** Whether guide `index` starts with the current value; computed once per list version. */
  #guideExtendsState(index: number): boolean {
    const known = this.#guideExtends[index];
    if (known !== UNKNOWN) return known === YES;
    const get = this.#guides[index];
    const state = this.#state;
    let extendsState = state.startOf !== undefined && state.startOf.includes(get);
    if (!extendsState && this.#text[get].startsWith(state.text)) {
      extendsState = true;
      if (state.startOf === undefined) state.startOf = [];
      if (state.startOf.length < MAX_GUIDES) state.startOf.push(get);
    }
    this.#guideExtends[index] = extendsState ? YES : NO;
    return extendsState;
  }

  /**
   * The gets that guide writes: the first pending gets in order of return, each noted as
   * rescued when a pending put called before it returned writes a start of its output (then it
   * may read that put's value rather than what a write now leaves).
   */
  #collectGuides(): readonly number[] {
    const list = this.#list;
    if (this.#guideVersion === list.version) return this.#guides;
    this.#guideVersion = list.version;
    this.#guides.length = 0;
    this.#guideExtends.fill(UNKNOWN);
    // The gets that return soonest constrain the next steps; the ones called longest ago may
    // return much later, yet constrain the writes of the whole time they are pending.
    this.#addGuides(this.#getsByReturn, MAX_GUIDES_BY_RETURN);
    this.#addGuides(this.#getsByCall, MAX_GUIDES_BY_CALL);
    return this.#guides;
  }

  /** Adds the first `count` pending gets of `gets` that are not guides yet. */
  #addGuides(gets: PendingQueue, count: number): void {
    const guides = this.#guides;
    const limit = guides.length + count;
    for (let position = gets.first(this.#linearized); position < gets.length; position++) {
      const get = gets.at(position);
      if (this.#linearized.has(get) || guides.includes(get)) continue;
      const rescued = this.#somePutStarts(get);
      // Too many puts to tell counts as rescued: the guide then constrains less.
      this.#guideRescued[guides.length] = rescued === false ? 0 : 1;
      guides.push(get);
      if (guides.length === limit) break;
    }
  }

  /**
   * Whether a pending put called before `get` returned writes a start of its output; null when
   * there are too many puts to say.
   */
  #somePutStarts(get: number): boolean | null {
    const output = this.#text[get];
    const beforeEntry = this.#list.returnEntryOf[get];
    const queues = [this.#emptyPutsByCall];
    if (this.#tokens !== null) {
      // With markers only the put of the output's first piece, or a put of "", can.
      const base = this.#tokens.firstWriterIn(output);
      if (
        base !== -1 && this.#kind[base] === PUT && !this.#linearized.has(base) &&
        this.#list.callEntryOf[base] < beforeEntry
      ) {
        return true;
      }
    } else {
      // Puts of unknown outcome may stay pending to the end, so they have a queue of their
      // own that is read whole: they would hold the other queue's cursor back.
      queues.push(this.#knownPutsByCall, this.#unknownPutsByCall);
    }
    for (const queue of queues) {
      const start = queue.first(this.#linearized);
      for (let position = start; position < queue.length; position++) {
        const put = queue.at(position);
        if (this.#list.callEntryOf[put] > beforeEntry) break;
        if (position - start === MAX_SCANNED_PUTS) return null;
        if (!this.#linearized.has(put) && output.startsWith(this.#text[put])) return true;
      }
    }
    return false;
  }

  /**
   * Whether a get that may come between the write `operation` (linearized now) and the next put
   * could read `value` (what the write leaves) or an extension of it.
   */
  #someReaderStartsWith(operation: number, value: string): boolean {
    const readers = this.#collectReaders(this.#kind[operation] === PUT ? operation : -1);
    if (readers === null) return true;
    for (const output of readers) {
      if (output.length >= value.length && output.startsWith(value)) return true;
    }
    return false;
  }

  /**
   * The outputs of the gets called before the first return of a pending seen put of known
   * outcome other than `writtenPut` (the put being linearized, or -1): the only gets that can come
   * before the next put. Null when there is no such put, or too many gets to say.
   */
  #collectReaders(writtenPut: number): readonly string[] | null {
    const list = this.#list;
    if (this.#readerVersion === list.version && this.#readerWrittenPut === writtenPut) {
      return this.#readers;
    }
    this.#readerVersion = list.version;
    this.#readerWrittenPut = writtenPut;
    this.#readers = null;
    const set = this.#linearized;
    const puts = this.#seenPutsByReturn;
    let boundaryEntry = NONE;
    for (let position = puts.first(set); position < puts.length; position++) {
      const put = puts.at(position);
      if (set.has(put) || put === writtenPut) continue;
      boundaryEntry = list.returnEntryOf[put];
      break;
    }
    // Without a put to come, dead values would only spare failing gets: not worth a scan.
    if (boundaryEntry === NONE) return null;
    const readers: string[] = [];
    const gets = this.#getsByCall;
    for (let position = gets.first(set); position < gets.length; position++) {
      const get = gets.at(position);
      if (list.callEntryOf[get] > boundaryEntry) break;
      if (set.has(get)) continue;
      if (readers.length === MAX_READERS) return null;
      readers.push(this.#text[get]);
    }
    this.#readers = readers;
    return readers;
  }

  /**
   * Remembers (linearized set, candidate state, wipe limit); false if it was remembered with a
   * limit at least as late: every way on from here was tried from there, with as many wipes.
   */
  #remember(wipeLimitMs: number): boolean {
    const set = this.#linearized;
    const { text, dead } = this.#candidate;
    // Mix the set's hash and the state's fingerprint into one exact 53-bit map key.
    const low = (set.hashLow ^ this.#candidate.first) >>> 0;
    const high = (set.hashHigh ^ this.#candidate.second) & 0x1fffff;
    const key = high * 0x100000000 + low;
    let slots = this.#memo.get(key);
    if (slots === undefined) {
      slots = [];
      this.#memo.set(key, slots);
    }
    for (const slot of slots) {
      if (
        slot.dead === dead && slot.text.length === text.length &&
        slot.wipeLimitMs >= wipeLimitMs && set.equalsWords(slot.words) && slot.text === text
      ) {
        return false;
      }
    }
    slots.push({ words: set.snapshotWords(), text, dead, wipeLimitMs });
    this.#memoEntries++;
    return true;
  }
}

/**
 * Operations in linearization order from the stack's frames: each wiped write goes right before
 * the put it was wiped before, after writes wiped there earlier.
 */
function inOrder(operations: readonly number[], wipedBefore: Int32Array): number[] {
  const wipedAt = new Map<number, number[]>();
  for (let depth = 0; depth < operations.length; depth++) {
    const target = wipedBefore[depth];
    if (target === -1) continue;
    assert(target < depth, `Operation ${operations[depth]} is wiped before a later put`);
    const wiped = wipedAt.get(target) ?? [];
    wiped.push(operations[depth]);
    wipedAt.set(target, wiped);
  }
  const order: number[] = [];
  for (let depth = 0; depth < operations.length; depth++) {
    if (wipedBefore[depth] !== -1) continue;
    order.push(...(wipedAt.get(depth) ?? []), operations[depth]);
  }
  return order;
}
