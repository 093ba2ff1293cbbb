import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { ManualClock } from "../util/testing/manual_clock.ts";
import { type Link, LinkProxy, type LinkStats } from "./link_proxy.ts";

/** A TCP echo server that counts what it received, so a test can tell what got through. */
class EchoServer {
  readonly #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly #connections = new Set<Deno.Conn>();
  readonly #serving: Promise<void>;
  readonly #echoes: Promise<void>[] = [];
  receivedBytes = 0;

  constructor() {
    this.#serving = this.#accept();
  }

  get address(): string {
    return `127.0.0.1:${this.#listener.addr.port}`;
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#serving;
    for (const conn of this.#connections) conn.close();
    await Promise.all(this.#echoes);
  }

  async #accept(): Promise<void> {
    for (let accepted = 0; accepted < 1_000; accepted++) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      this.#connections.add(conn);
      this.#echoes.push(this.#echo(conn));
    }
  }

  async #echo(conn: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(4096);
    try {
      for (let reads = 0; reads < 100_000; reads++) {
        const count = await conn.read(buffer);
        if (count === null) break;
        this.receivedBytes += count;
        await conn.write(buffer.subarray(0, count));
      }
    } catch {
      // Closed by the test or reset by the proxy: this echo is over.
    }
    this.#connections.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already by close().
    }
  }
}

function dial(link: Link): Promise<Deno.TcpConn> {
  const port = Number(link.address.split(":")[1]);
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Reads exactly `length` bytes, or returns what came before the stream ended. */
async function readBytes(conn: Deno.Conn, length: number): Promise<string> {
  const received = new Uint8Array(length);
  let offset = 0;
  try {
    while (offset < length) {
      const count = await conn.read(received.subarray(offset));
      if (count === null) break;
      offset += count;
    }
  } catch {
    // A reset ends the stream as well.
  }
  return new TextDecoder().decode(received.subarray(0, offset));
}

/** Resolves true when the peer closes the connection (end of stream or reset) before any data. */
async function closedByPeer(conn: Deno.Conn): Promise<boolean> {
  try {
    return (await conn.read(new Uint8Array(16))) === null;
  } catch {
    return true;
  }
}

/** Waits, polling the link's counters, until `ready` holds; bounded at two seconds. */
async function waitForStats(link: Link, ready: (stats: LinkStats) => boolean): Promise<void> {
  for (let poll = 0; poll < 400; poll++) {
    if (ready(link.stats())) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(
    `Link ${link.name} never reached the expected state: ${JSON.stringify(link.stats())}`,
  );
}

const text = (value: string) => new TextEncoder().encode(value);

Deno.test("a link forwards bytes both ways and counts them", async () => {
  const echo = new EchoServer();
  const proxy = new LinkProxy({ random: new SeededRandom(1) });
  const link = proxy.addLink("client->0", echo.address);
  const conn = await dial(link);
  await conn.write(text("hello"));
  assert.equal(await readBytes(conn, 5), "hello");
  await waitForStats(link, (stats) => stats.forwardedBytes === 10);
  assert.equal(link.stats().forwardedConnections, 1);
  assert.equal(link.stats().openConnections, 1);
  conn.close();
  await waitForStats(link, (stats) => stats.openConnections === 0);
  await proxy.close();
  await echo.close();
});

Deno.test("a black-holed link swallows traffic of old and new connections until healed", async () => {
  const echo = new EchoServer();
  const proxy = new LinkProxy({ random: new SeededRandom(1) });
  const link = proxy.addLink("0->1", echo.address);
  const old = await dial(link);
  await old.write(text("a"));
  assert.equal(await readBytes(old, 1), "a");
  link.cut();
  assert.ok(link.isCut);
  await old.write(text("bb"));
  const fresh = await dial(link);
  await fresh.write(text("ccc"));
  await waitForStats(link, (stats) => stats.discardedBytes === 5);
  assert.equal(echo.receivedBytes, 1, "nothing sent after the cut reached the target");
  link.heal();
  assert.ok(await closedByPeer(old), "healing closes a black-holed connection");
  assert.ok(await closedByPeer(fresh), "healing closes a connection made during the cut");
  old.close();
  fresh.close();
  const after = await dial(link);
  await after.write(text("dd"));
  assert.equal(await readBytes(after, 2), "dd");
  after.close();
  await proxy.close();
  await echo.close();
});

Deno.test("a refusing cut closes open connections and every new one", async () => {
  const echo = new EchoServer();
  const proxy = new LinkProxy({ random: new SeededRandom(1) });
  const link = proxy.addLink("0->2", echo.address);
  const old = await dial(link);
  await old.write(text("x"));
  assert.equal(await readBytes(old, 1), "x");
  link.cut("refuse");
  assert.ok(await closedByPeer(old));
  old.close();
  const fresh = await dial(link);
  assert.ok(await closedByPeer(fresh));
  fresh.close();
  await waitForStats(link, (stats) => stats.refusedConnections === 1);
  link.heal();
  const after = await dial(link);
  await after.write(text("y"));
  assert.equal(await readBytes(after, 1), "y");
  after.close();
  await proxy.close();
  await echo.close();
});

Deno.test("a delayed link holds bytes until their delay has passed on its clock", async () => {
  const echo = new EchoServer();
  const clock = new ManualClock();
  const proxy = new LinkProxy({ random: new SeededRandom(1), clock });
  const link = proxy.addLink("1->0", echo.address);
  link.setDelay(300);
  const conn = await dial(link);
  await conn.write(text("late"));
  await waitForStats(link, (stats) => stats.delayedBytes === 4);
  clock.advance(299);
  assert.equal(echo.receivedBytes, 0, "nothing is delivered before the delay");
  clock.advance(1);
  // The echo comes back through the same link and waits out the delay once more.
  await waitForStats(link, (stats) => stats.forwardedBytes === 4 && stats.delayedBytes === 4);
  assert.equal(echo.receivedBytes, 4);
  clock.advance(300);
  assert.equal(await readBytes(conn, 4), "late");
  conn.close();
  await proxy.close();
  await echo.close();
});

Deno.test("a delayed link keeps the order of bytes", async () => {
  const echo = new EchoServer();
  const clock = new ManualClock();
  const proxy = new LinkProxy({ random: new SeededRandom(1), clock });
  const link = proxy.addLink("2->0", echo.address);
  link.setDelay(100);
  const conn = await dial(link);
  for (const part of ["one ", "two ", "three"]) {
    const before = link.stats().delayedBytes;
    await conn.write(text(part));
    await waitForStats(link, (stats) => stats.delayedBytes === before + part.length);
    clock.advance(10);
  }
  clock.advance(100);
  await waitForStats(link, (stats) => stats.forwardedBytes === 13 && stats.delayedBytes === 13);
  clock.advance(100);
  assert.equal(await readBytes(conn, 13), "one two three");
  conn.close();
  await proxy.close();
  await echo.close();
});

Deno.test("a fully lossy link drops every connection; healing restores it", async () => {
  const echo = new EchoServer();
  const proxy = new LinkProxy({ random: new SeededRandom(7) });
  const link = proxy.addLink("client->1", echo.address);
  link.setLoss(1);
  for (let attempt = 0; attempt < 3; attempt++) {
    const conn = await dial(link);
    assert.ok(await closedByPeer(conn));
    conn.close();
  }
  await waitForStats(link, (stats) => stats.droppedConnections === 3);
  link.heal();
  const conn = await dial(link);
  await conn.write(text("ok"));
  assert.equal(await readBytes(conn, 2), "ok");
  conn.close();
  await proxy.close();
  await echo.close();
});

Deno.test("a partly lossy link drops some connections and forwards the rest", async () => {
  const echo = new EchoServer();
  const proxy = new LinkProxy({ random: new SeededRandom(3) });
  const link = proxy.addLink("client->2", echo.address);
  link.setLoss(0.5);
  const attempts = 40;
  let answered = 0;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const conn = await dial(link);
    try {
      await conn.write(text("p"));
    } catch {
      // Dropped on arrival: the write may meet the reset.
    }
    if (await readBytes(conn, 1) === "p") answered++;
    conn.close();
  }
  await waitForStats(link, (stats) => stats.openConnections === 0);
  const stats = link.stats();
  assert.equal(stats.acceptedConnections, attempts);
  assert.equal(answered + stats.droppedConnections, attempts);
  assert.ok(answered > 0 && stats.droppedConnections > 0, JSON.stringify(stats));
  await proxy.close();
  await echo.close();
});

Deno.test("a link whose target is down closes connections on arrival", async () => {
  const echo = new EchoServer();
  const target = echo.address;
  await echo.close();
  const proxy = new LinkProxy({ random: new SeededRandom(1) });
  const link = proxy.addLink("0->3", target);
  const conn = await dial(link);
  assert.ok(await closedByPeer(conn));
  conn.close();
  await waitForStats(link, (stats) => stats.refusedConnections === 1);
  await proxy.close();
});

Deno.test("dropping a link's connections lets the sender reconnect", async () => {
  const echo = new EchoServer();
  const proxy = new LinkProxy({ random: new SeededRandom(1) });
  const link = proxy.addLink("3->0", echo.address);
  const first = await dial(link);
  await first.write(text("1"));
  assert.equal(await readBytes(first, 1), "1");
  link.dropConnections();
  assert.ok(await closedByPeer(first));
  first.close();
  const second = await dial(link);
  await second.write(text("2"));
  assert.equal(await readBytes(second, 1), "2");
  second.close();
  await proxy.close();
  await echo.close();
});

Deno.test("a proxy refuses a second link of one name and names unknown links", async () => {
  const proxy = new LinkProxy({ random: new SeededRandom(1) });
  proxy.addLink("0->1", "127.0.0.1:1");
  assert.throws(() => proxy.addLink("0->1", "127.0.0.1:1"), /already has it/);
  assert.throws(() => proxy.link("9->9"), /no link called 9->9/);
  assert.deepEqual(proxy.links().map((link) => link.name), ["0->1"]);
  await proxy.close();
});
