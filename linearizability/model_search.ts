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
 * never returned need not be linearized at all.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { Bitset } from "./bitset.ts";
import { EventList, HEAD, NONE } from "./event_list.ts";
import { fragmentOf } from "./fingerprint.ts";
import type { Model, ModelOperation } from "./models.ts";
import type { SearchLimits, SearchOutcome, Verdict } from "./partition_search.ts";

/** How often (in steps, a power of two) the search looks at the wall clock. */
const STEPS_PER_CLOCK_CHECK = 1024;

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
  readonly #limits: SearchLimits;
  readonly #list: EventList;
  readonly #linearized: Bitset;
  readonly #stackEntry: Int32Array;
  readonly #stackConfiguration: Configuration<State>[] = [];
  #configuration: Configuration<State>;
  readonly #memo = new Map<number, MemoSlot[]>();
  #memoEntries = 0;
  #remainingReturned = 0;
  #steps = 0;
  readonly #best: Int32Array;
  #bestLength = 0;

  constructor(operations: readonly ModelOperation[], model: Model<State>, limits: SearchLimits) {
    const count = operations.length;
    this.#operations = operations;
    this.#model = model;
    this.#limits = limits;
    this.#list = new EventList(operations);
    this.#linearized = new Bitset(count);
    this.#stackEntry = new Int32Array(count);
    this.#best = new Int32Array(count);
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
      this.#steps++;
      if ((this.#steps & (STEPS_PER_CLOCK_CHECK - 1)) === 0) {
        const reason = this.#exhaustedLimit();
        if (reason !== "") return this.#outcome("timeout", reason);
      }
      // The last entry is a return of a returned operation while any is left to linearize.
      assert(entry !== NONE, `Walked off the event list with ${this.#remainingReturned} left`);
      if (list.isCall[entry] === 1) {
        entry = this.#tryLinearize(entry) ? list.next[HEAD] : list.next[entry];
      } else if (this.#stackConfiguration.length === 0) {
        return this.#outcome("illegal", "");
      } else {
        entry = list.next[this.#undo()];
      }
    }
    return this.#outcome("ok", "");
  }

  #exhaustedLimit(): string {
    if (this.#memoEntries >= this.#limits.maxMemoEntries) {
      return `the memo reached its limit of ${this.#limits.maxMemoEntries} configurations`;
    }
    if (this.#limits.now() > this.#limits.deadlineMs) return "the time budget ran out";
    return "";
  }

  /** Linearizes the call at `entry` unless the model refuses it or the result was seen. */
  #tryLinearize(entry: number): boolean {
    const index = this.#list.operationOf[entry];
    const operation = this.#operations[index];
    const next = this.#apply(operation);
    if (next === null) return false;
    this.#linearized.add(index);
    if (!this.#remember(next)) {
      this.#linearized.delete(index);
      return false;
    }
    const depth = this.#stackConfiguration.length;
    assert(depth < this.#stackEntry.length, `Cannot linearize past ${depth} operations`);
    this.#stackEntry[depth] = entry;
    this.#stackConfiguration.push(this.#configuration);
    this.#configuration = next;
    this.#list.lift(entry);
    if (operation.returnMs !== Infinity) this.#remainingReturned--;
    // The longest prefix only grows, so copying it whole costs at most n² steps in all.
    if (depth + 1 > this.#bestLength) {
      for (let position = 0; position <= depth; position++) {
        this.#best[position] = this.#list.operationOf[this.#stackEntry[position]];
      }
      this.#bestLength = depth + 1;
    }
    return true;
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
    if (current.length === 1 && !operation.maybe) {
      const after = model.step(current[0], operation);
      return after === undefined ? null : this.#configurationOf([after]);
    }
    const after: State[] = [];
    for (const state of current) {
      const stepped = model.step(state, operation);
      if (stepped !== undefined) after.push(stepped);
      // One that may not have happened may also leave the state as it was.
      if (operation.maybe) after.push(state);
    }
    return after.length === 0 ? null : this.#configurationOf(after);
  }

  /** The configuration of `states`, duplicates dropped and fingerprints sorted. */
  #configurationOf(states: readonly State[]): Configuration<State> {
    const byFingerprint = new Map<string, State>();
    for (const state of states) byFingerprint.set(this.#model.fingerprint(state), state);
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
    const linearization = verdict === "ok"
      ? Array.from(
        this.#stackEntry.subarray(0, this.#stackConfiguration.length),
        (entry) => this.#list.operationOf[entry],
      )
      : Array.from(this.#best.subarray(0, this.#bestLength));
    return {
      verdict,
      linearization,
      steps: this.#steps,
      memoEntries: this.#memoEntries,
      reason,
    };
  }
}
