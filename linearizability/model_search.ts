/**
 * The search for a linearization of one key's operations under any {@linkcode Model}: Wing &
 * Gong's walk over calls and returns in time order with Lowe's memoisation, as in
 * `partition_search.ts` but without its rules specific to appended strings (those need to know
 * what a value is made of; a model here is only a step function and a fingerprint).
 *
 * An operation that may not have happened makes the model nondeterministic: linearizing it
 * leads to the state it produces or to the state unchanged. The search keeps the set of states
 * the linearized operations may have led to (the subset construction), so that it stays one
 * deterministic walk whose configurations (linearized set, set of states) can be remembered.
 * Such an operation with a finite return must be linearized before it, like any other; one that
 * never returned need not be linearized at all (so linearizing it means it happened).
 *
 * A pure operation that leaves the set of states as it was (a read they all allow) is linearized
 * as soon as it can be, never tried later: if some linearization places it later, moving it
 * right here breaks no real-time order (it was called before every pending return) and changes
 * no state. So when the search backtracks over it, or finds its result remembered, it backtracks
 * further at once. Without this, every subset of concurrent reads would be a configuration of
 * its own.
 *
 * Before a state change, the search looks at the pending pure operations called before the first
 * pending return: each comes after the change, so if the change leaves no state that allows it,
 * some other pending operation called before its return must be able to make it allowed
 * (`Model.mayEnable`), or the change is refused at once rather than found hopeless after
 * exploring everything it leads to.
 *
 * A write of a value nothing observes (`Model.unseenWrites`) is never tried on its own: it must
 * be followed by an overwriting write before anything could tell, so it is placed right before
 * the first overwriting write linearized while it is pending (with every such write pending
 * then, at no cost), or, if none is, when its return comes; one that never returned is never
 * placed (leaving it out is as good). This spares the search every subset of them.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { Bitset } from "./bitset.ts";
import { EventList, HEAD, NONE } from "./event_list.ts";
import { fragmentOf } from "./fingerprint.ts";
import type { Model, ModelOperation } from "./models.ts";
import {
  type SearchLimits,
  type SearchOutcome,
  stopReason,
  type Verdict,
} from "./partition_search.ts";

/** How many entries the search reads looking for an operation that may enable a pure one. */
const MAX_ENABLER_SCAN = 256;

/** What an attempt to linearize a call did. */
type StepResult = typeof LINEARIZED | typeof REFUSED | typeof DEAD_END;
const LINEARIZED = 0;
/** The model refused it, or its result was seen: try the next call. */
const REFUSED = 1;
/** Nothing from here on can work: backtrack. */
const DEAD_END = 2;

/** An unseen write of known outcome, and one that never returned (see the module comment). */
const UNSEEN_RETURNED = 1;
const UNSEEN_UNRETURNED = 2;

/** The states the linearized operations may have led to, and their joint fingerprint. */
interface Configuration<State> {
  readonly states: readonly State[];
  readonly fingerprint: string;
  readonly first: number;
  readonly second: number;
}

/** A remembered configuration. */
interface MemoSlot {
  readonly words: Uint32Array;
  readonly fingerprint: string;
}

/**
 * Searches for a linearization of `operations` (all on one key) under `model`. Reads of
 * unknown outcome should be dropped first: they constrain nothing.
 */
export function searchModel<State>(
  operations: readonly ModelOperation[],
  model: Model<State>,
  limits: SearchLimits,
): SearchOutcome {
  return new ModelSearch(operations, model, limits).run();
}

class ModelSearch<State> {
  readonly #operations: readonly ModelOperation[];
  readonly #model: Model<State>;
  readonly #representative: (state: State) => State;
  readonly #limits: SearchLimits;
  readonly #list: EventList;
  readonly #linearized: Bitset;
  readonly #stackEntry: Int32Array;
  /** 1 for a frame that left the states unchanged: no alternative to it is tried. */
  readonly #stackForced: Uint8Array;
  /** 1 for an unseen write placed right before the frame below it (see the module comment). */
  readonly #stackBundled: Uint8Array;
  readonly #stackConfiguration: Configuration<State>[] = [];
  /** Per operation: 0, or an unseen write that returned (1) or never did (2). */
  readonly #unseen: Uint8Array;
  readonly #overwrites: Uint8Array;
  #configuration: Configuration<State>;
  readonly #memo = new Map<number, MemoSlot[]>();
  #memoEntries = 0;
  #remainingReturned = 0;
  #steps = 0;
  readonly #best: Int32Array;
  readonly #bestBundled: Uint8Array;
  #bestLength = 0;

  constructor(operations: readonly ModelOperation[], model: Model<State>, limits: SearchLimits) {
    const count = operations.length;
    this.#operations = operations;
    this.#model = model;
    this.#representative = model.representative?.(operations) ?? ((state) => state);
    this.#limits = limits;
    this.#list = new EventList(operations);
    this.#linearized = new Bitset(count);
    this.#stackEntry = new Int32Array(count);
    this.#stackForced = new Uint8Array(count);
    this.#stackBundled = new Uint8Array(count);
    this.#best = new Int32Array(count);
    this.#bestBundled = new Uint8Array(count);
    // An operation that returned yet may not have happened leaves two branches, and placing
    // unseen writes before it suits only one: such histories keep the plain walk.
    const skippable = (operation: ModelOperation) =>
      operation.maybe && operation.returnMs !== Infinity;
    const isUnseen = operations.some(skippable)
      ? () => false
      : model.unseenWrites?.(operations) ?? (() => false);
    this.#unseen = Uint8Array.from(operations, (operation) => {
      if (!isUnseen(operation)) return 0;
      return operation.returnMs === Infinity ? UNSEEN_UNRETURNED : UNSEEN_RETURNED;
    });
    this.#overwrites = Uint8Array.from(
      operations,
      (operation) => model.overwrites?.(operation) ? 1 : 0,
    );
    for (const operation of operations) {
      assert(
        operation.returnMs >= operation.callMs,
        `Operation at ${operation.source} returns before its call`,
      );
      if (operation.returnMs !== Infinity) this.#remainingReturned++;
    }
    this.#configuration = this.#configurationOf([model.initial]);
  }

  run(): SearchOutcome {
    const list = this.#list;
    let entry = list.next[HEAD];
    while (this.#remainingReturned > 0) {
      const reason = stopReason(++this.#steps, this.#limits, this.#memoEntries);
      if (reason !== "") return this.#outcome("timeout", reason);
      // The last entry is a return of a returned operation while any is left to linearize.
      assert(entry !== NONE, `Walked off the event list with ${this.#remainingReturned} left`);
      const step = list.isCall[entry] === 1
        ? this.#tryLinearize(entry)
        : this.#unseen[list.operationOf[entry]] === UNSEEN_RETURNED
        ? this.#placeUnseen(list.match[entry])
        : DEAD_END;
      if (step === LINEARIZED) entry = list.next[HEAD];
      else if (step === REFUSED) entry = list.next[entry];
      else {
        entry = this.#backtrack();
        if (entry === NONE) return this.#outcome("illegal", "");
      }
    }
    return this.#outcome("ok", "");
  }

  /**
   * Linearizes the call at `entry` unless the model refuses it or the result was seen; a
   * forced step (see the module comment) whose result was seen is a dead end.
   */
  #tryLinearize(entry: number): StepResult {
    const index = this.#list.operationOf[entry];
    if (this.#unseen[index] !== 0) return REFUSED;
    const operation = this.#operations[index];
    const next = this.#apply(operation);
    if (next === null) return REFUSED;
    const pure = this.#model.isPure(operation);
    const forced = pure && next.fingerprint === this.#configuration.fingerprint;
    if (!pure && !this.#pendingPureMayFollow(index, next)) return REFUSED;
    const bundle = this.#overwrites[index] === 1 ? this.#pendingUnseen() : [];
    this.#linearized.add(index);
    for (const unseen of bundle) this.#linearized.add(unseen);
    if (!this.#remember(next)) {
      this.#linearized.delete(index);
      for (const unseen of bundle) this.#linearized.delete(unseen);
      return forced ? DEAD_END : REFUSED;
    }
    this.#push(entry, next, forced, false);
    for (const unseen of bundle) this.#push(this.#list.callEntryOf[unseen], next, true, true);
    return LINEARIZED;
  }

  /** Places the unseen write called at `entry` now: its return has come (module comment). */
  #placeUnseen(entry: number): StepResult {
    const index = this.#list.operationOf[entry];
    const next = this.#apply(this.#operations[index]);
    assert(next !== null, `The unseen write ${index} was refused`);
    this.#linearized.add(index);
    if (!this.#remember(next)) {
      this.#linearized.delete(index);
      return DEAD_END;
    }
    this.#push(entry, next, true, false);
    return LINEARIZED;
  }

  /** The unseen writes that returned and are pending before the first pending return. */
  #pendingUnseen(): number[] {
    const list = this.#list;
    const found: number[] = [];
    for (let entry = list.next[HEAD]; entry !== NONE; entry = list.next[entry]) {
      if (list.isCall[entry] === 0) break;
      const index = list.operationOf[entry];
      if (this.#unseen[index] === UNSEEN_RETURNED) found.push(index);
    }
    return found;
  }

  /** Pushes a frame for the call at `entry`, which leads to `next`; its set is already added. */
  #push(entry: number, next: Configuration<State>, forced: boolean, bundled: boolean): void {
    const depth = this.#stackConfiguration.length;
    assert(depth < this.#stackEntry.length, `Cannot linearize past ${depth} operations`);
    this.#stackEntry[depth] = entry;
    this.#stackForced[depth] = forced ? 1 : 0;
    this.#stackBundled[depth] = bundled ? 1 : 0;
    this.#stackConfiguration.push(this.#configuration);
    this.#configuration = next;
    this.#list.lift(entry);
    const index = this.#list.operationOf[entry];
    if (this.#operations[index].returnMs !== Infinity) this.#remainingReturned--;
    // The longest prefix only grows, so copying it whole costs at most n² steps in all.
    if (depth + 1 > this.#bestLength) {
      for (let position = 0; position <= depth; position++) {
        this.#best[position] = this.#list.operationOf[this.#stackEntry[position]];
        this.#bestBundled[position] = this.#stackBundled[position];
      }
      this.#bestLength = depth + 1;
    }
  }

  /**
   * Whether every pending pure operation called before the first pending return can still be
   * linearized after `index` leads to `next`: `next` allows it, or another pending operation
   * called before its return may make it allowed (see the module comment).
   */
  #pendingPureMayFollow(index: number, next: Configuration<State>): boolean {
    const model = this.#model;
    if (model.mayEnable === undefined) return true;
    const list = this.#list;
    for (let entry = list.next[HEAD]; entry !== NONE; entry = list.next[entry]) {
      if (list.isCall[entry] === 0) return true;
      const pending = list.operationOf[entry];
      const operation = this.#operations[pending];
      if (pending === index || !model.isPure(operation)) continue;
      if (next.states.some((state) => model.step(state, operation) !== undefined)) continue;
      if (!this.#someMayEnable(index, pending)) return false;
    }
    return true;
  }

  /** Whether a pending operation other than `index`, called before `pure` returns, may enable it. */
  #someMayEnable(index: number, pure: number): boolean {
    const list = this.#list;
    const returnEntry = list.match[list.callEntryOf[pure]];
    let scanned = 0;
    for (let entry = list.next[HEAD]; entry !== returnEntry; entry = list.next[entry]) {
      // Too far to look: assume one may, which only costs pruning.
      if (scanned++ === MAX_ENABLER_SCAN) return true;
      const other = list.operationOf[entry];
      if (list.isCall[entry] === 0 || other === index) continue;
      if (this.#model.mayEnable!(this.#operations[other], this.#operations[pure])) return true;
    }
    return false;
  }

  /**
   * Undoes linearizations up to and including the latest one that was not forced; returns the
   * entry to go on from (the one after its call), or NONE when nothing is left to undo.
   */
  #backtrack(): number {
    for (;;) {
      const depth = this.#stackConfiguration.length;
      if (depth === 0) return NONE;
      const forced = this.#stackForced[depth - 1] === 1;
      const entry = this.#undo();
      if (!forced) return this.#list.next[entry];
    }
  }

  /** Undoes the last linearization; returns the entry of the call it undid. */
  #undo(): number {
    const configuration = this.#stackConfiguration.pop();
    assert(configuration !== undefined, "Cannot undo a linearization: none is left");
    const depth = this.#stackConfiguration.length;
    const entry = this.#stackEntry[depth];
    const index = this.#list.operationOf[entry];
    this.#configuration = configuration;
    this.#linearized.delete(index);
    this.#list.unlift(entry);
    if (this.#operations[index].returnMs !== Infinity) this.#remainingReturned++;
    return entry;
  }

  /** The states after `operation` from every current state; null if it fits none. */
  #apply(operation: ModelOperation): Configuration<State> | null {
    const model = this.#model;
    const current = this.#configuration.states;
    // One that never returned need not be linearized at all: linearized, it happened.
    const mayBeSkipped = operation.maybe && operation.returnMs !== Infinity;
    if (current.length === 1 && !mayBeSkipped) {
      const after = model.step(current[0], operation);
      return after === undefined ? null : this.#configurationOf([after]);
    }
    const after: State[] = [];
    for (const state of current) {
      const stepped = model.step(state, operation);
      if (stepped !== undefined) after.push(stepped);
      // One that may not have happened may also leave the state as it was.
      if (mayBeSkipped) after.push(state);
    }
    return after.length === 0 ? null : this.#configurationOf(after);
  }

  /** The configuration of `states`, duplicates dropped and fingerprints sorted. */
  #configurationOf(states: readonly State[]): Configuration<State> {
    const byFingerprint = new Map<string, State>();
    for (const state of states) {
      const representative = this.#representative(state);
      byFingerprint.set(this.#model.fingerprint(representative), representative);
    }
    const fingerprints = [...byFingerprint.keys()].sort();
    const fingerprint = fingerprints.join("\n");
    const fragment = fragmentOf(fingerprint);
    return {
      states: fingerprints.map((key) => byFingerprint.get(key)!),
      fingerprint,
      first: fragment.first,
      second: fragment.second,
    };
  }

  /** Remembers (linearized set, `next`); false if it was remembered before. */
  #remember(next: Configuration<State>): boolean {
    const set = this.#linearized;
    const low = (set.hashLow ^ next.first) >>> 0;
    const high = (set.hashHigh ^ next.second) & 0x1fffff;
    const key = high * 0x100000000 + low;
    let slots = this.#memo.get(key);
    if (slots === undefined) {
      slots = [];
      this.#memo.set(key, slots);
    }
    for (const slot of slots) {
      if (slot.fingerprint === next.fingerprint && set.equalsWords(slot.words)) return false;
    }
    slots.push({ words: set.snapshotWords(), fingerprint: next.fingerprint });
    this.#memoEntries++;
    return true;
  }

  #outcome(verdict: Verdict, reason: string): SearchOutcome {
    const depth = this.#stackConfiguration.length;
    const linearization = verdict === "ok"
      ? inOrder(
        Array.from(this.#stackEntry.subarray(0, depth), (entry) => this.#list.operationOf[entry]),
        this.#stackBundled,
      )
      : inOrder(Array.from(this.#best.subarray(0, this.#bestLength)), this.#bestBundled);
    return {
      verdict,
      linearization,
      steps: this.#steps,
      memoEntries: this.#memoEntries,
      reason,
    };
  }
}

/** Operations of frames in linearization order: a bundled one goes before its write. */
function inOrder(operations: readonly number[], bundled: Uint8Array): number[] {
  const order: number[] = [];
  let writeAt = 0;
  for (let depth = 0; depth < operations.length; depth++) {
    if (bundled[depth] === 1) {
      order.splice(writeAt, 0, operations[depth]);
      writeAt++;
    } else {
      writeAt = order.length;
      order.push(operations[depth]);
    }
  }
  return order;
}
