/**
 * Which directed links of the simulated network are up: partitions of every shape — random
 * groups, one peer cut off, a minority split from a majority, links that fail one way only.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { Random } from "../util/random.ts";

/** The directed links between `peers` peers (ids 0 … peers - 1), all up at first. */
export class Links {
  /** Group size. */
  readonly peers: number;
  /** `down[from * peers + to]`: messages from `from` to `to` are lost. */
  readonly #down: boolean[];

  /** Creates a fully connected network of `peers` peers. */
  constructor(peers: number) {
    assert(Number.isSafeInteger(peers) && peers > 0, `Cannot link ${peers} peers`);
    this.peers = peers;
    this.#down = new Array(peers * peers).fill(false);
  }

  /** Whether a message from `from` reaches `to`. */
  allows(from: number, to: number): boolean {
    return !this.#down[from * this.peers + to];
  }

  /** How many directed links are down. */
  get downCount(): number {
    return this.#down.filter((down) => down).length;
  }

  /** Brings every link up. */
  healAll(): void {
    this.#down.fill(false);
  }

  /** Splits the peers into groups (`groupOf[peer]`); only links inside a group stay up. */
  split(groupOf: readonly number[]): void {
    assert(
      groupOf.length === this.peers,
      `Cannot split ${this.peers} peers by ${groupOf.length} groups`,
    );
    for (let from = 0; from < this.peers; from++) {
      for (let to = 0; to < this.peers; to++) {
        this.#down[from * this.peers + to] = groupOf[from] !== groupOf[to];
      }
    }
  }

  /** Cuts `peer` off from every other peer, both ways; other links are unchanged. */
  isolate(peer: number): void {
    for (let other = 0; other < this.peers; other++) {
      if (other === peer) continue;
      this.#down[peer * this.peers + other] = true;
      this.#down[other * this.peers + peer] = true;
    }
  }

  /** Takes the one directed link `from` → `to` down. */
  cutOneWay(from: number, to: number): void {
    if (from !== to) this.#down[from * this.peers + to] = true;
  }

  /** A random split into two or three groups of any sizes (a group may be empty). */
  splitRandomly(random: Random): string {
    const groups = 2 + random.int(2);
    const groupOf = Array.from({ length: this.peers }, () => random.int(groups));
    this.split(groupOf);
    return `split into groups ${groupOf.join("")}`;
  }

  /**
   * Splits off a minority (at most half, at least one peer) that holds `inMinority` when given,
   * so a leader can be stranded while the majority elects another.
   */
  splitMinority(random: Random, inMinority?: number): string {
    const minoritySize = 1 + random.int(Math.max(1, Math.floor((this.peers - 1) / 2)));
    const order = shuffled(random, this.peers);
    if (inMinority !== undefined) {
      order.splice(order.indexOf(inMinority), 1);
      order.unshift(inMinority);
    }
    const minority = order.slice(0, minoritySize);
    const groupOf = Array.from(
      { length: this.peers },
      (_, peer) => minority.includes(peer) ? 1 : 0,
    );
    this.split(groupOf);
    return `split minority ${minority.join(",")} from the rest`;
  }

  /** Takes 1 to `peers` random directed links down, one way each. */
  cutRandomOneWay(random: Random): string {
    const cuts: string[] = [];
    const count = 1 + random.int(this.peers);
    for (let cut = 0; cut < count; cut++) {
      const from = random.int(this.peers);
      const to = random.int(this.peers);
      if (from === to) continue;
      this.cutOneWay(from, to);
      cuts.push(`${from}->${to}`);
    }
    return `cut one way ${cuts.join(" ")}`;
  }
}

/** 0 … count - 1 in a random order. */
function shuffled(random: Random, count: number): number[] {
  const order = Array.from({ length: count }, (_, position) => position);
  for (let position = count - 1; position > 0; position--) {
    const other = random.int(position + 1);
    [order[position], order[other]] = [order[other], order[position]];
  }
  return order;
}
