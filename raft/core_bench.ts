/**
 * Throughput of the core alone, with the in-memory test network as driver (no I/O): how much
 * of a real run's time the Raft logic itself can account for.
 */
import type { RaftCore } from "./core.ts";
import type { Entry, Message } from "./messages.ts";
import { drain, loneCore } from "./testing/test_network.ts";

/** Three cores and a bare driver loop (no storage, no checks), peer 0 elected. */
class BareGroup {
  readonly cores: RaftCore[] = [0, 1, 2].map((id) => loneCore({ id, size: 3 }));

  constructor() {
    for (let tick = 0; tick < 10; tick++) this.cores[0].tick();
    this.deliverAll();
  }

  deliverAll(): void {
    const queue: Message[] = [];
    for (const core of this.cores) queue.push(...drain(core).messages);
    // Bounded by the bench's finite proposals: every request yields one reply, replies none.
    for (let position = 0; position < queue.length; position++) {
      const message = queue[position];
      const target = this.cores[message.to];
      target.step(message);
      queue.push(...drain(target).messages);
    }
  }
}

Deno.bench("commit 100 proposals one round trip each, 3 peers", { group: "commit" }, (bench) => {
  const group = new BareGroup();
  bench.start();
  for (let command = 0; command < 100; command++) {
    group.cores[0].propose(command);
    group.deliverAll();
  }
  bench.end();
  if (group.cores[0].commitIndex !== 100) throw new Error("Bench group did not commit");
});

Deno.bench("commit 1000 proposals made at once, 3 peers", { group: "commit" }, (bench) => {
  const group = new BareGroup();
  bench.start();
  for (let command = 0; command < 1000; command++) group.cores[0].propose(command);
  group.deliverAll();
  bench.end();
  if (group.cores[0].commitIndex !== 1000) throw new Error("Bench group did not commit");
});

Deno.bench("follower steps one AppendEntries of 512 entries", (bench) => {
  const core = loneCore({ term: 1 });
  const entries: Entry[] = Array.from({ length: 512 }, (_, position) => ({
    index: position + 1,
    term: 1,
    command: { key: `key ${position}`, value: "x".repeat(32) },
  }));
  bench.start();
  core.step({
    type: "AppendEntries",
    from: 1,
    to: 0,
    term: 1,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries,
    leaderCommit: 512,
  });
  drain(core);
  bench.end();
});
