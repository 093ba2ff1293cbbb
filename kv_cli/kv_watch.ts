/**
 * `dsys kv watch` and `dsys kv lease grant|keep-alive|revoke`. A watch prints every change of a
 * key or prefix from a revision on, once and in order, and goes on across leader failover and
 * server restarts until interrupted (SIGINT or SIGTERM, exit 0). A lease keep-alive renews the
 * lease three times per time to live until interrupted, or until the lease is gone (exit 1).
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { sleep } from "../util/clock.ts";
import { MAX_LEASE_TTL_MS } from "../kv/command.ts";
import { ERR_LEASE_NOT_FOUND } from "../kv/protocol.ts";
import { prefixEnd } from "../kv/store.ts";
import { WatchCompactedError } from "../kv/watcher.ts";
import type { Operation as ClerkOperation } from "../kv/clerk.ts";
import { examples, integerOption } from "../commands/arguments.ts";
import { Interruption, TcpConnection } from "./kv_connection.ts";
import { type KvCli, type OneShot, runOneShot, sendOrThrow } from "./kv_ops.ts";
import { type Print, printEvent, type WriteOut } from "./kv_output.ts";

/** Keep-alives per time to live, as a session sends them (recipes/session.ts). */
const KEEPALIVES_PER_TTL = 3;

/** Options of {@linkcode runWatch}. */
export interface WatchOptions {
  /** Every key that starts with the key. */
  readonly prefix?: boolean;
  /** The first revision to print; absent: the changes after now. */
  readonly revision?: number;
  /** Looked at after every batch: the watch ends once it holds. */
  readonly stop: () => boolean;
}

/**
 * Prints the changes of `key` (or of every key it prefixes) from the start revision on, until
 * `options.stop()` holds. Throws when the servers' history no longer reaches back to where it
 * stands.
 */
export async function runWatch(
  connection: TcpConnection,
  format: WriteOut,
  print: Print,
  key: string,
  options: WatchOptions,
): Promise<void> {
  const range = options.prefix ? { key, end: prefixEnd(key) } : { key };
  let from = options.revision;
  if (from === undefined) {
    const reply = await connection.makeClerk().send({
      kind: "range",
      key,
      value: "",
      end: range.end ?? "",
      limit: 1,
    });
    from = (reply.revision ?? 0) + 1;
  }
  const watcher = connection.makeWatcher(range, from);
  try {
    // Until stopped: each pass is one poll, which a server holds while nothing changes.
    while (!options.stop()) {
      for (const event of await watcher.next()) printEvent(print, format, event);
    }
  } catch (error) {
    if (options.stop()) return;
    if (error instanceof WatchCompactedError) throw new Error(error.message);
    throw error;
  } finally {
    watcher.close();
  }
}

/** `lease grant TTL`: prints the new lease. */
export async function runLeaseGrant(shot: OneShot, ttlMs: number): Promise<void> {
  const operation: ClerkOperation = { kind: "lease-grant", key: "", value: "", ttlMs };
  const reply = await sendOrThrow(shot, operation);
  if (reply.lease === undefined) {
    throw new Error(`Cannot grant a lease of ${ttlMs / 1000} s: the service answered ${reply.err}`);
  }
  if (shot.format === "json") {
    shot.print(
      JSON.stringify({ type: "lease-grant", lease: reply.lease, ttlMs, revision: reply.revision }),
    );
  } else {
    shot.print(`lease ${reply.lease} granted with TTL(${ttlMs / 1000}s)`);
  }
}

/** `lease revoke ID`: ends the lease and deletes its keys. */
export async function runLeaseRevoke(shot: OneShot, lease: number): Promise<void> {
  const reply = await sendOrThrow(shot, { kind: "lease-revoke", key: "", value: "", lease });
  if (reply.err === ERR_LEASE_NOT_FOUND) {
    throw new Error(`Lease ${lease} does not exist (it expired or was revoked)`);
  }
  if (shot.format === "json") {
    shot.print(
      JSON.stringify({
        type: "lease-revoke",
        lease,
        deleted: reply.deleted ?? 0,
        revision: reply.revision,
      }),
    );
  } else {
    shot.print(`lease ${lease} revoked`);
  }
}

/**
 * `lease keep-alive ID`: renews the lease three times per time to live, printing each renewal,
 * until `stop()` holds; throws once the lease is gone.
 */
export async function runKeepAlive(
  connection: TcpConnection,
  format: WriteOut,
  print: Print,
  lease: number,
  stop: () => boolean,
): Promise<void> {
  const clerk = connection.makeClerk();
  // Until stopped or the lease is gone: each pass renews it once and sleeps.
  while (!stop()) {
    const ttlMs = await clerk.leaseKeepAlive(lease);
    if (ttlMs === null) throw new Error(`Lease ${lease} is gone: it expired or was revoked`);
    if (format === "json") print(JSON.stringify({ type: "lease-keepalive", lease, ttlMs }));
    else print(`lease ${lease} keepalived with TTL(${ttlMs / 1000})`);
    await sleep(connection.clock, ttlMs / KEEPALIVES_PER_TTL);
  }
}

/** Runs `body` on a connection to `cli`'s servers until it ends or SIGINT/SIGTERM ends it. */
export async function untilInterrupted(
  cli: KvCli,
  body: (connection: TcpConnection, stop: () => boolean) => Promise<void>,
): Promise<void> {
  const connection = new TcpConnection(await cli.servers(), await cli.security());
  const interruption = new Interruption(true);
  // What the body waits for (a watch poll, a sleep) is not worth waiting out: exit at once.
  void interruption.signalled.then(() => {
    connection.close();
    Deno.exit(0);
  });
  try {
    await body(connection, () => interruption.signal !== null);
  } finally {
    interruption.dispose();
    connection.close();
  }
}

/** Adds watch and lease to `kv`. */
export function addWatchCommands(kv: Command, cli: KvCli): void {
  kv.command("watch").description(
    "Print every change of a key (or with --prefix of every key it starts) from --rev on (default: from now), once and in order, across failover, until interrupted.",
  )
    .argument("<key>")
    .option("--prefix", "every key that starts with KEY")
    .option("--rev <revision>", "the first revision to print", integerOption(1))
    .addHelpText(
      "after",
      examples(
        "dsys kv watch city",
        "dsys kv -w json watch config/ --prefix --rev 1",
      ),
    )
    .action((key, options) =>
      untilInterrupted(
        cli,
        (connection, stop) =>
          runWatch(connection, cli.format(), (line) => console.log(line), key, {
            prefix: options.prefix,
            revision: options.rev,
            stop,
          }),
      )
    );
  const lease = kv.command("lease").description("Grant, keep alive and revoke leases.")
    .addHelpText(
      "after",
      examples(
        "dsys kv lease grant 10",
        "dsys kv lease keep-alive 7",
      ),
    );
  lease.command("grant").description(
    "Grant a lease of TTL seconds; keys put with --lease ID go when it ends.",
  )
    .argument("<ttl>", "seconds", integerOption(1, MAX_LEASE_TTL_MS / 1000))
    .addHelpText("after", examples("dsys kv lease grant 10"))
    .action((ttl) => runOneShot(cli, (shot) => runLeaseGrant(shot, ttl * 1000)));
  lease.command("keep-alive").description(
    "Keep a lease alive until interrupted; exit 1 once it is gone.",
  )
    .argument("<id>", "the lease", integerOption(1))
    .addHelpText("after", examples("dsys kv lease keep-alive 7"))
    .action((id) =>
      untilInterrupted(
        cli,
        (connection, stop) =>
          runKeepAlive(connection, cli.format(), (line) => console.log(line), id, stop),
      )
    );
  lease.command("revoke").description("End a lease now and delete its keys.")
    .argument("<id>", "the lease", integerOption(1))
    .addHelpText("after", examples("dsys kv lease revoke 7"))
    .action((id) => runOneShot(cli, (shot) => runLeaseRevoke(shot, id)));
}
