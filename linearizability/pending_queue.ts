/**
 * Operations in a fixed order (say, by return time) with quick access to the first ones not yet
 * linearized. The search linearizes operations roughly in time order and undoes the latest
 * first, so a cursor below which everything is linearized makes finding them cheap: it moves
 * forward lazily and jumps back when an operation below it is undone.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Bitset } from "./bitset.ts";

/** A fixed sequence of operations, read while skipping the linearized ones. */
export class PendingQueue {
  readonly #operations: Int32Array;
  readonly #positionOf: Int32Array;
  // Every operation at a position below the cursor is linearized.
  #cursor = 0;

  /** Creates the queue of `operations` (in the order to read them) out of `operationCount`. */
  constructor(operations: readonly number[], operationCount: number) {
    this.#operations = Int32Array.from(operations);
    this.#positionOf = new Int32Array(operationCount).fill(-1);
    for (let position = 0; position < operations.length; position++) {
      assert(
        this.#positionOf[operations[position]] === -1,
        `Operation ${operations[position]} is queued twice`,
      );
      this.#positionOf[operations[position]] = position;
    }
  }

  /** How many operations the queue holds, linearized or not. */
  get length(): number {
    return this.#operations.length;
  }

  /** The operation at `position`. */
  at(position: number): number {
    return this.#operations[position];
  }

  /** The position of the first operation not in `linearized` (or `length` if none). */
  first(linearized: Bitset): number {
    while (
      this.#cursor < this.#operations.length && linearized.has(this.#operations[this.#cursor])
    ) {
      this.#cursor++;
    }
    return this.#cursor;
  }

  /** Notes that `operation` is no longer linearized; operations not queued are ignored. */
  restore(operation: number): void {
    const position = this.#positionOf[operation];
    if (position !== -1 && position < this.#cursor) this.#cursor = position;
  }
}
