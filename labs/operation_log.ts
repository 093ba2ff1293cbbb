/**
 * The client operations of a test, recorded on a clock (virtual in simulation) as they are
 * called and as they return, for a linearizability check. Each call and return also goes to the
 * simulation's trace recorder when it has one (`--trace`), so a page shows what clients asked
 * and heard. An operation that never returns keeps an unknown outcome.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Clock } from "../util/clock.ts";
import type { SimRecorder } from "../sim/recorder.ts";
import type { ModelOperation } from "../linearizability/models.ts";

/** The history's clock, and the simulation's recorder (`--trace`) if it has one. */
export type HistoryClock = Pick<Clock, "now"> & { readonly recorder?: SimRecorder | null };

/** Operations recorded in the order they were called; at most a bounded number. */
export class OperationLog {
  readonly #clock: HistoryClock;
  readonly #operationsMax: number;
  readonly #operations: ModelOperation[] = [];
  /** Trace recorder handles of the operations in flight, by index; empty unless traced. */
  readonly #calls = new Map<number, number>();

  /** A log on `clock` that refuses to hold more than `operationsMax` operations. */
  constructor(clock: HistoryClock, operationsMax: number) {
    assert(operationsMax > 0, `Cannot record at most ${operationsMax} operations`);
    this.#clock = clock;
    this.#operationsMax = operationsMax;
  }

  /** Operations recorded so far. */
  get length(): number {
    return this.#operations.length;
  }

  /** The history so far; operations that have not returned have unknown outcome. */
  history(): ModelOperation[] {
    return [...this.#operations];
  }

  /**
   * Records a call now: `operation` with its call time set, no return (it may or may not
   * happen until it returns); `text` names it on a trace page. Returns its index.
   */
  begin(
    operation: Omit<ModelOperation, "callMs" | "returnMs" | "maybe" | "source">,
    text: string,
  ): number {
    const index = this.#operations.length;
    assert(
      index < this.#operationsMax,
      `Cannot record operation ${index}: the history holds at most ${this.#operationsMax}`,
    );
    const callMs = this.#clock.now();
    const source = `operation ${index}`;
    this.#operations.push({ ...operation, callMs, returnMs: Infinity, maybe: true, source });
    const recorder = this.#clock.recorder ?? null;
    if (recorder !== null) {
      this.#calls.set(index, recorder.clientCall(callMs, `clerk-${operation.clientId}`, text));
    }
    return index;
  }

  /**
   * Records that operation `index` returned now, as `fields` say (it happened, unless they say
   * it may not have); `describe` gives its reply's text on a trace page.
   */
  end(
    index: number,
    fields: Partial<ModelOperation>,
    describe: (operation: ModelOperation) => string,
  ): void {
    const operation = this.#operations[index];
    assert(operation.returnMs === Infinity, `Operation ${index} already returned`);
    const returnMs = this.#clock.now();
    const returned = { ...operation, maybe: false, ...fields, returnMs };
    this.#operations[index] = returned;
    const call = this.#calls.get(index);
    if (call === undefined) return;
    this.#calls.delete(index);
    this.#clock.recorder?.clientReturn(returnMs, call, describe(returned));
  }
}
