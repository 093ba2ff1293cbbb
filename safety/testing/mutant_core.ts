/**
 * Planted bugs in the Raft core's private logic, for tests that the safety simulation catches
 * them: a copy of raft/core.ts with passages replaced, loaded as a module of its own. A subclass
 * plants bugs at the core's public surface (what it hands the driver); a bug in how it keeps
 * its membership lives in private state no subclass reaches.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import type { RaftCore } from "../../raft/core.ts";

/** One passage of raft/core.ts to replace, found exactly once. */
export interface Mutation {
  /** The passage as it stands in raft/core.ts. */
  readonly find: string;
  /** What stands there instead. */
  readonly replace: string;
}

const CORE_URL = new URL("../../raft/core.ts", import.meta.url);
const RELATIVE_IMPORT = /(\bfrom\s*")(\.{1,2}\/[^"]+)(")/g;

/**
 * The `RaftCore` class of raft/core.ts with `mutations` made; throws naming a passage that is
 * not in the core exactly once (the core changed: the mutation must follow it). The copy imports
 * the very modules the core imports, so it works with everything else unchanged.
 */
export async function mutantCore(mutations: readonly Mutation[]): Promise<typeof RaftCore> {
  let source = await Deno.readTextFile(CORE_URL);
  for (const { find, replace } of mutations) {
    const found = source.split(find).length - 1;
    assert(
      found === 1,
      `The passage to mutate is in raft/core.ts ${found} times, not once: ${find}`,
    );
    source = source.replace(find, () => replace);
  }
  source = source.replaceAll(
    RELATIVE_IMPORT,
    (_, before, path, after) => `${before}${new URL(path, CORE_URL).href}${after}`,
  );
  const module = await import(`data:application/typescript;base64,${base64(source)}`);
  return module.RaftCore as typeof RaftCore;
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  // Bounded by the source's length.
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
