/**
 * Pauses in the safety simulation: a peer's process stops for a while (SIGSTOP, a long garbage
 * collection, a virtual machine migrated) and goes on where it stopped, keeping all its state,
 * unlike a crash. While paused it runs no ticks and steps nothing: messages that reach it wait
 * in order, as a socket buffers them, and a persist under way ends but is noticed only once it
 * resumes. On resume it learns of the persist, steps the held messages, and only then does its
 * tick timer fire, late: the core catches its ticks up with the clock (as raft_node/node.ts
 * does), so until then it has not noticed the pause. A leader whose lease ended meanwhile must
 * not answer a read from it.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Message } from "../raft/messages.ts";

/** Messages a paused peer holds at most; later ones are lost, as a full socket buffer drops. */
export const HELD_MESSAGES_MAX = 10_000;

/** What a paused peer holds back until it resumes. */
export interface Pause {
  /** The pause's number: the event that ends it names it, so a stale end does nothing. */
  readonly id: number;
  /** Messages that reached the peer, oldest first. */
  readonly held: Message[];
  /** Whether its tick timer fired meanwhile (it fires once the peer resumes). */
  tickDue: boolean;
  /** Whether its slow persist ended meanwhile (the peer learns of it once it resumes). */
  persistDone: boolean;
}

/** The peers paused now, by id. */
export class Pauses {
  readonly #pauses = new Map<number, Pause>();
  #nextId = 1;

  /** Whether `peer` is paused. */
  isPaused(peer: number): boolean {
    return this.#pauses.has(peer);
  }

  /** Whether `peer` is in pause `id` (not resumed from it, nor crashed in it). */
  isCurrent(peer: number, id: number): boolean {
    return this.#pauses.get(peer)?.id === id;
  }

  /** The peers paused now, each with its pause's id. */
  current(): { peer: number; id: number }[] {
    return [...this.#pauses].map(([peer, pause]) => ({ peer, id: pause.id }));
  }

  /** Pauses `peer`; returns the pause's id, for the event that ends it. */
  start(peer: number): number {
    assert(!this.#pauses.has(peer), `Peer ${peer} cannot pause: it is paused already`);
    const id = this.#nextId++;
    this.#pauses.set(peer, { id, held: [], tickDue: false, persistDone: false });
    return id;
  }

  /** Holds `message` for its paused receiver; false when its buffer is full (then it is lost). */
  hold(message: Message): boolean {
    const pause = this.#pause(message.to);
    if (pause.held.length >= HELD_MESSAGES_MAX) return false;
    pause.held.push(message);
    return true;
  }

  /** `peer`'s tick timer fired while it was paused. */
  holdTick(peer: number): void {
    this.#pause(peer).tickDue = true;
  }

  /** `peer`'s slow persist ended while it was paused. */
  holdPersistEnd(peer: number): void {
    this.#pause(peer).persistDone = true;
  }

  /** Ends `peer`'s pause; returns what it held. */
  end(peer: number): Pause {
    const pause = this.#pause(peer);
    this.#pauses.delete(peer);
    return pause;
  }

  /** `peer` crashed: its pause ends with it; returns how many held messages are lost. */
  crashed(peer: number): number {
    const lost = this.#pauses.get(peer)?.held.length ?? 0;
    this.#pauses.delete(peer);
    return lost;
  }

  #pause(peer: number): Pause {
    const pause = this.#pauses.get(peer);
    assert(pause !== undefined, `Peer ${peer} is not paused`);
    return pause;
  }
}
