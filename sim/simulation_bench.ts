import { Simulation } from "./simulation.ts";
import { SimNetwork } from "./network.ts";
import type { RpcClient } from "../rpc/types.ts";

const EVENT_COUNT = 100_000;
const RPC_COUNT = 50_000;

Deno.bench({
  name: `${EVENT_COUNT} timer events, each with a continuation`,
  n: 5,
  warmup: 1,
  async fn(context) {
    const simulation = new Simulation(1);
    let fired = 0;
    const tick = () => {
      fired += 1;
      if (fired < EVENT_COUNT) simulation.setTimeout(tick, 1 + simulation.random.int(10));
    };
    for (let timer = 0; timer < 10; timer++) simulation.setTimeout(tick, timer);
    context.start();
    await simulation.run(async () => {
      while (fired < EVENT_COUNT) await simulation.sleep(1000);
    });
    context.end();
  },
});

/** `RPC_COUNT` calls from 5 clients to 5 servers on a network configured by `configure`. */
async function rpcWorkload(configure: (network: SimNetwork) => void, context: Deno.BenchContext) {
  const simulation = new Simulation(1);
  const network = new SimNetwork(simulation);
  configure(network);
  const clients: RpcClient[] = [];
  for (let server = 0; server < 5; server++) {
    network.addServer(`server-${server}`, {
      "Raft.AppendEntries": (args) => ({ term: (args as { term: number }).term, success: true }),
    });
    const endName = `end-${server}`;
    clients.push(network.makeEnd(endName));
    network.connect(endName, `server-${server}`);
    network.enable(endName, true);
  }
  const args = { term: 3, leaderId: 0, prevLogIndex: 10, prevLogTerm: 2, entries: [], commit: 9 };
  context.start();
  await simulation.run(async () => {
    const workers = clients.map(async (client) => {
      for (let call = 0; call < RPC_COUNT / clients.length; call++) {
        await client.call("Raft.AppendEntries", args).catch(() => null);
        if (call % 10 === 0) await simulation.sleep(1);
      }
    });
    await Promise.all(workers);
    // Sequential calls whose replies wait up to 2.2 s each need hours of virtual time.
  }, { maxVirtualMs: Number.MAX_SAFE_INTEGER });
  context.end();
}

Deno.bench({
  name: `${RPC_COUNT} RPCs, reliable network`,
  n: 5,
  warmup: 1,
  // Declared async: the bench runner awaits only functions it sees are async.
  async fn(context) {
    await rpcWorkload(() => {}, context);
  },
});

Deno.bench({
  name: `${RPC_COUNT} RPCs, unreliable network with long reordering`,
  n: 5,
  warmup: 1,
  async fn(context) {
    await rpcWorkload((network) => {
      network.setReliable(false);
      network.setLongReordering(true);
    }, context);
  },
});
