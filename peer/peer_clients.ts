/**
 * The connections of a real peer to the other members of its group. The membership changes, so
 * they are made on demand: the first message to a member dials the address the membership gives
 * it (or the bootstrap peer list), and a member whose address changed is dialled again.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import type { RpcClient } from "../rpc/types.ts";
import { MEMBERS_MAX } from "../raft/membership.ts";

/** One member's connection and the address it was dialled at. */
interface Dialled {
  readonly address: string;
  readonly client: RpcClient;
}

/**
 * Connections to other members by id, made when first needed. A peer that is no longer a member
 * (its address is unknown) loses its connection when next asked for, so at most `MEMBERS_MAX`
 * are ever open.
 */
export class PeerClients {
  readonly #dial: (address: string) => RpcClient;
  readonly #addressOf: (id: number) => string | undefined;
  readonly #dialled = new Map<number, Dialled>();
  #closed = false;

  /**
   * Clients made with `dial`, for the members whose address `addressOf` knows (undefined: not a
   * member, or a member whose address the log has not brought yet).
   */
  constructor(dial: (address: string) => RpcClient, addressOf: (id: number) => string | undefined) {
    this.#dial = dial;
    this.#addressOf = addressOf;
  }

  /** The client of member `id`, dialled now if need be; undefined when its address is unknown. */
  clientOf(id: number): RpcClient | undefined {
    if (this.#closed) return undefined;
    const address = this.#addressOf(id);
    const known = this.#dialled.get(id);
    if (known !== undefined && known.address === address) return known.client;
    known?.client.close();
    this.#dialled.delete(id);
    if (address === undefined) return undefined;
    if (this.#dialled.size >= MEMBERS_MAX) this.#dropFormerMembers();
    assert(
      this.#dialled.size < MEMBERS_MAX,
      `Cannot dial member ${id} at ${address}: ${MEMBERS_MAX} members are connected already`,
    );
    const client = this.#dial(address);
    this.#dialled.set(id, { address, client });
    return client;
  }

  /** Closes the connections of peers that are no longer members. */
  #dropFormerMembers(): void {
    for (const [id, { address, client }] of [...this.#dialled]) {
      if (this.#addressOf(id) === address) continue;
      client.close();
      this.#dialled.delete(id);
    }
  }

  /** Closes every connection; no client is handed out afterwards. */
  close(): void {
    this.#closed = true;
    for (const { client } of this.#dialled.values()) client.close();
    this.#dialled.clear();
  }
}
