/**
 * The audit of a fault test's appends against the values they left: every acknowledged append is
 * present exactly once, nothing appears that no client appended, and each client's acknowledged
 * appends to a key keep the order it issued them in. Appends of unknown outcome (timed out) may
 * appear once or not at all, in any place.
 *
 * Appended values are `client.sequence;` tokens, so a final value splits back into the appends
 * that made it.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** Ends every appended value, so a key's value splits back into appends. */
export const APPEND_SEPARATOR = ";";

/** One append a client issued, and whether it was acknowledged. */
export interface IssuedAppend {
  /** The client's index in the test (not the clerk id). */
  readonly client: number;
  /** Its place among the client's operations; increasing in issue order. */
  readonly sequence: number;
  /** The key appended to. */
  readonly key: string;
  /** The value appended: {@linkcode appendValue} of client and sequence. */
  readonly value: string;
  /** True when the service said it was applied; false when the outcome is unknown. */
  readonly acknowledged: boolean;
}

/** What the audit counted. */
export interface AppendAudit {
  /** Acknowledged appends, all present once. */
  readonly acknowledged: number;
  /** Appends of unknown outcome that took effect. */
  readonly unknownApplied: number;
  /** Appends of unknown outcome that did not. */
  readonly unknownLost: number;
}

/** The unique value client `client` appends as its operation `sequence`. */
export function appendValue(client: number, sequence: number): string {
  return `${client}.${sequence}${APPEND_SEPARATOR}`;
}

/**
 * Checks `finalValues` (key to value read at the end) against `issued`; throws a message naming
 * the first violation: an unknown token, a token twice, a lost acknowledged append, or a
 * client's acknowledged appends out of order.
 */
export function auditAppends(
  issued: readonly IssuedAppend[],
  finalValues: ReadonlyMap<string, string>,
): AppendAudit {
  const byValue = new Map<string, IssuedAppend>();
  for (const append of issued) {
    assert(append.value.endsWith(APPEND_SEPARATOR), `Append ${append.value} lacks its separator`);
    assert(!byValue.has(`${append.key} ${append.value}`), `Append ${append.value} issued twice`);
    byValue.set(`${append.key} ${append.value}`, append);
  }
  const position = new Map<IssuedAppend, number>();
  for (const [key, value] of finalValues) {
    const tokens = value.split(APPEND_SEPARATOR);
    if (tokens.pop() !== "") throw new Error(`Key ${key} ends in a partial append: ${value}`);
    tokens.forEach((token, index) => {
      const append = byValue.get(`${key} ${token}${APPEND_SEPARATOR}`);
      if (append === undefined) {
        throw new Error(`Key ${key} holds ${token}, which no client appended`);
      }
      if (position.has(append)) throw new Error(`Key ${key} holds append ${token} twice`);
      position.set(append, index);
    });
  }
  let acknowledged = 0;
  let unknownApplied = 0;
  for (const append of issued) {
    if (!append.acknowledged) {
      if (position.has(append)) unknownApplied++;
      continue;
    }
    acknowledged++;
    if (!position.has(append)) {
      throw new Error(
        `Acknowledged append ${append.value} of client ${append.client} to key ${append.key} is lost`,
      );
    }
  }
  assertClientOrder(issued, position);
  return {
    acknowledged,
    unknownApplied,
    unknownLost: issued.length - acknowledged - unknownApplied,
  };
}

/** Each client's acknowledged appends to one key must sit in the value in issue order. */
function assertClientOrder(
  issued: readonly IssuedAppend[],
  position: ReadonlyMap<IssuedAppend, number>,
): void {
  const last = new Map<string, IssuedAppend>();
  const ordered = issued.filter((append) => append.acknowledged)
    .sort((first, second) => first.sequence - second.sequence);
  for (const append of ordered) {
    const stream = `${append.client} ${append.key}`;
    const previous = last.get(stream);
    if (previous !== undefined && position.get(previous)! > position.get(append)!) {
      throw new Error(
        `Client ${append.client}'s acknowledged appends to key ${append.key} are out of order: ` +
          `${append.value} (issued later) comes before ${previous.value}`,
      );
    }
    last.set(stream, append);
  }
}
