/**
 * The events of the safety simulation, and the trace of the last ones that a violation prints:
 * each event with its number, its time and notes on what it did.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Message } from "../raft/messages.ts";
import { describeMessage } from "./message_copy.ts";
import { TICK_UNITS } from "./profile.ts";

/** One event on the simulation's agenda. */
export type SafetySimulationEvent =
  | { readonly kind: "tick"; readonly peer: number; readonly incarnation: number }
  | { readonly kind: "deliver"; readonly message: Message; readonly sentAt: number }
  | { readonly kind: "propose" }
  | { readonly kind: "read" }
  | { readonly kind: "pause ends"; readonly peer: number; readonly pause: number }
  | { readonly kind: "propose at"; readonly peer: number; readonly command: string }
  | { readonly kind: "fault" }
  | { readonly kind: "membership" }
  | { readonly kind: "restart"; readonly peer: number }
  | { readonly kind: "persisted"; readonly peer: number; readonly incarnation: number }
  | { readonly kind: "chunk"; readonly from: number; readonly to: number; readonly term: number };

/** One event run, as the trace shows it. */
export interface TraceLine {
  /** The event's number in the run, from 1. */
  readonly number: number;
  /** When it ran, in units. */
  readonly time: number;
  readonly event: SafetySimulationEvent;
  /** What it did, in words; empty when nothing worth telling. */
  notes: string;
}

/** The trace keeps this many times the printed lines, since quiet ticks are not printed. */
const TRACE_KEPT_FACTOR = 8;

/** The last events run, kept to print with a violation. */
export class Trace {
  readonly #printedLength: number;
  readonly #lines: TraceLine[] = [];

  /** A trace that prints `printedLength` lines. */
  constructor(printedLength: number) {
    assert(
      Number.isSafeInteger(printedLength) && printedLength >= 0,
      `Cannot print ${printedLength} trace lines: not a whole number`,
    );
    this.#printedLength = printedLength;
  }

  /** Records event number `number` run at `time`; returns its line, for notes. */
  add(number: number, time: number, event: SafetySimulationEvent): TraceLine {
    const line = { number, time, event, notes: "" };
    this.#lines.push(line);
    // Quiet ticks are left out of the printed trace, so keep more lines than are printed.
    if (this.#lines.length > TRACE_KEPT_FACTOR * this.#printedLength) this.#lines.shift();
    return line;
  }

  /** Adds `note` to the last event's notes. */
  note(note: string): void {
    const line = this.#lines.at(-1);
    if (line !== undefined) line.notes = line.notes === "" ? note : `${line.notes}; ${note}`;
  }

  /** The last lines, without ticks that changed no role or term, one per line of text. */
  printed(): string {
    const last = this.#lines.at(-1);
    const loud = this.#lines.filter((line) =>
      line === last || line.event.kind !== "tick" || line.notes !== ""
    );
    return loud.slice(-this.#printedLength).map(describeLine).join("\n");
  }
}

function describeLine(line: TraceLine): string {
  const time = (line.time / TICK_UNITS).toFixed(1);
  const notes = line.notes === "" ? "" : ` (${line.notes})`;
  return `  #${line.number} at ${time}: ${describeEvent(line.event)}${notes}`;
}

function describeEvent(event: SafetySimulationEvent): string {
  switch (event.kind) {
    case "tick":
      return `tick peer ${event.peer}`;
    case "deliver":
      return `deliver ${describeMessage(event.message)}`;
    case "propose":
      return "propose";
    case "read":
      return "read";
    case "pause ends":
      return `pause of peer ${event.peer} ends`;
    case "propose at":
      return `propose ${event.command} at peer ${event.peer}`;
    case "fault":
      return "fault";
    case "membership":
      return "membership change";
    case "restart":
      return `restart peer ${event.peer}`;
    case "persisted":
      return `persist of peer ${event.peer} done`;
    case "chunk":
      return `snapshot chunk ${event.from}->${event.to} term ${event.term}`;
  }
}
