/**
 * A running 64-bit hash of what happened in a simulation, in two 32-bit lanes so that it needs
 * no BigInt: one lane is FNV-1a, the other a multiply-xorshift mix. It only has to tell two runs
 * apart, so speed matters more than cryptographic strength.
 *
 * @module
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const MIX_SEED = 0x9e3779b9;
const MIX_MULTIPLIER = 0x5bd1e995;

/** A running hash that folds in labels and numbers, in order. */
export class TraceHash {
  #fnvLane = FNV_OFFSET_BASIS;
  #mixLane = MIX_SEED;

  /** Folds in one 32-bit word. */
  foldWord(word: number): void {
    this.#fnvLane = Math.imul(this.#fnvLane ^ word, FNV_PRIME);
    const mixed = Math.imul(this.#mixLane ^ word, MIX_MULTIPLIER);
    this.#mixLane = mixed ^ (mixed >>> 15);
  }

  /** Folds in a number: its integer part and its fraction in millionths. */
  foldNumber(value: number): void {
    const whole = Math.floor(value);
    this.foldWord(whole >>> 0);
    this.foldWord(Math.floor(whole / 0x100000000) >>> 0);
    this.foldWord(Math.round((value - whole) * 1e6));
  }

  /** Folds in every UTF-16 code unit of `label`, then an end marker so that "ab"+"c" ≠ "a"+"bc". */
  foldText(label: string): void {
    for (let index = 0; index < label.length; index++) this.foldWord(label.charCodeAt(index));
    this.foldWord(0xffffffff);
    // FNV's multiply only carries upward; spread high bits down once per label.
    this.#fnvLane ^= this.#fnvLane >>> 16;
  }

  /** The hash so far as 16 hex digits. */
  toHex(): string {
    return (this.#fnvLane >>> 0).toString(16).padStart(8, "0") +
      (this.#mixLane >>> 0).toString(16).padStart(8, "0");
  }
}
