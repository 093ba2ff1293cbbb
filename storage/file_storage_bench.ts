/**
 * Persists per second on the real disk, each one synced, so the gain of group commit shows as
 * the ratio between a persist of 64 entries and a persist of one (entries of 100 bytes). A
 * persist that also changes the hard state shows what its two extra fsyncs cost.
 */
import { FileStorage } from "./file_storage.ts";
import type { Entry } from "../raft/messages.ts";

const root = await Deno.makeTempDir({ prefix: "file_storage_bench" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

const COMMAND = "x".repeat(100);

/** A fresh peer folder with a term to append in, and the next index to use. */
async function openPeer(name: string): Promise<{ storage: FileStorage; next: number }> {
  const storage = new FileStorage({ dir: `${root}/${name}`, id: 0 });
  storage.load();
  await storage.persist({ hardState: { term: 1, votedFor: 0 } });
  return { storage, next: 1 };
}

function batch(first: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, offset) => ({
    index: first + offset,
    term,
    command: COMMAND,
  }));
}

const single = await openPeer("single");
const grouped = await openPeer("grouped");
const voting = await openPeer("voting");

Deno.bench("persist 1 entry of 100 bytes (one fsync)", {
  group: "persist",
  baseline: true,
}, async () => {
  await single.storage.persist({ logChange: { append: batch(single.next, 1, 1) } });
  single.next += 1;
});

Deno.bench("persist 64 entries of 100 bytes (one fsync)", { group: "persist" }, async () => {
  await grouped.storage.persist({ logChange: { append: batch(grouped.next, 64, 1) } });
  grouped.next += 64;
});

let term = 1;
Deno.bench("persist a new term and 1 entry (three fsyncs)", { group: "persist" }, async () => {
  term++;
  await voting.storage.persist({
    hardState: { term, votedFor: 0 },
    logChange: { append: batch(voting.next, 1, term) },
  });
  voting.next += 1;
});
