/**
 * `dsys kv lock NAME [COMMAND ARGS…]` and `dsys kv elect NAME [PROPOSAL]`, on the recipes'
 * lock and election, each in a session whose lease is revoked when the run ends.
 *
 * `lock` waits for the lock, then runs COMMAND with `DSYS_LOCK_KEY` (the lock's key) and
 * `DSYS_LOCK_REV` (its fencing token: the key's create revision) in its environment, releases
 * the lock once COMMAND exits, and exits with COMMAND's status. Without COMMAND it prints the key
 * and holds the lock until interrupted. If the session's lease ends meanwhile (the cluster was
 * unreachable for longer than `--ttl`), COMMAND gets SIGTERM and the run exits 1: another holder
 * may have the lock, and writes guarded by the token are refused.
 *
 * `elect` campaigns with PROPOSAL, prints the leader's key and proposal once elected, and leads
 * until interrupted (then resigns). Without PROPOSAL it prints each leader as it changes.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { errorText } from "../util/error_text.ts";
import type { Clerk } from "../kv/clerk.ts";
import { Session } from "../recipes/session.ts";
import { Mutex } from "../recipes/mutex.ts";
import { Election, type Leader } from "../recipes/election.ts";
import type { Turn } from "../recipes/turns.ts";
import { examples, secondsFlag } from "../commands/arguments.ts";
import { Interruption, signalExitCode, TcpConnection } from "./kv_connection.ts";
import type { KvCli } from "./kv_ops.ts";
import type { Print, WriteOut } from "./kv_output.ts";

/** Default time to live of a lock's or a candidate's session: a dead holder's lock lasts this. */
export const DEFAULT_SESSION_TTL_MS = 10_000;

/** What a lock or election run works with. */
export interface CoordinationRun {
  readonly connection: TcpConnection;
  readonly format: WriteOut;
  readonly print: Print;
  /** Prints an error line (standard error). */
  readonly printError: Print;
  /** The session's time to live. */
  readonly ttlMs: number;
  /** How long releasing may take at the end before the lease is left to expire. */
  readonly releaseTimeoutMs: number;
  readonly interruption: Interruption;
}

/** `promise`'s outcome, or "interrupted" if a signal comes first (`promise` is abandoned). */
async function unlessInterrupted<T>(
  run: CoordinationRun,
  promise: Promise<T>,
): Promise<T | "interrupted"> {
  // An abandoned wait rejects once the connection closes; nobody needs that error.
  promise.catch(() => {});
  return await Promise.race([
    promise,
    run.interruption.signalled.then(() => "interrupted" as const),
  ]);
}

/** Runs `release` for at most the run's release timeout; the lease ends by itself otherwise. */
async function releaseWithin(run: CoordinationRun, release: () => Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => timer = setTimeout(resolve, run.releaseTimeoutMs));
  const releasing = release().catch((error) =>
    run.printError(`dsys: could not release: ${errorText(error)} (the lease will expire)`)
  );
  await Promise.race([releasing, late]);
  clearTimeout(timer);
}

/**
 * `lock NAME [COMMAND ARGS…]`: returns the exit code (COMMAND's; 0 when interrupted holding the
 * lock without COMMAND; 128 + the signal when interrupted while waiting; 1 when the lock was lost).
 */
export async function runLock(
  run: CoordinationRun,
  name: string,
  command: readonly string[],
): Promise<number> {
  const clerk = run.connection.makeClerk();
  const session = await unlessInterrupted(run, Session.start(run.connection, clerk, run.ttlMs));
  if (session === "interrupted") return signalExitCode(run.interruption.signal!);
  const mutex = new Mutex(run.connection, session, name);
  try {
    const hold = await unlessInterrupted(run, mutex.lock());
    if (hold === "interrupted") return signalExitCode(run.interruption.signal!);
    if (run.format === "json") {
      run.print(JSON.stringify({ type: "lock", key: hold.key, revision: hold.revision }));
    } else if (command.length === 0) {
      run.print(hold.key);
    }
    const code = command.length === 0
      ? await holdUntilInterrupted(run, session)
      : await runHolding(run, session, hold, command);
    await releaseWithin(run, () => mutex.unlock());
    return code;
  } finally {
    await releaseWithin(run, () => session.close(clerk));
    mutex.close();
  }
}

/** Waits for a signal (exit 0) or the session's end (exit 1, said on standard error). */
async function holdUntilInterrupted(run: CoordinationRun, session: Session): Promise<number> {
  const ended = await Promise.race([session.ended, run.interruption.signalled]);
  if (typeof ended === "string") return 0;
  run.printError(`dsys: lost it: ${ended.message}`);
  return 1;
}

/** Runs COMMAND while holding `hold`; forwards a signal to it; stops it if the session ends. */
async function runHolding(
  run: CoordinationRun,
  session: Session,
  hold: Turn,
  command: readonly string[],
): Promise<number> {
  const [program, ...args] = command;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      env: { DSYS_LOCK_KEY: hold.key, DSYS_LOCK_REV: String(hold.revision) },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    throw new Error(`Cannot run ${program}: ${errorText(error)}`);
  }
  const stopChild = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // It exited meanwhile.
    }
  };
  void run.interruption.signalled.then(stopChild);
  let lost = false;
  void session.ended.then((error) => {
    lost = true;
    run.printError(`dsys: lost the lock while ${program} ran: ${error.message}`);
    stopChild("SIGTERM");
  });
  const status = await child.status;
  return lost ? 1 : status.code;
}

/**
 * `elect NAME PROPOSAL`: campaigns, prints the leader's key and proposal once elected, and
 * leads until interrupted (exit 0, after resigning) or until the session ends (exit 1).
 */
export async function runCampaign(
  run: CoordinationRun,
  name: string,
  proposal: string,
): Promise<number> {
  const clerk: Clerk = run.connection.makeClerk();
  const session = await unlessInterrupted(run, Session.start(run.connection, clerk, run.ttlMs));
  if (session === "interrupted") return signalExitCode(run.interruption.signal!);
  const election = new Election(run.connection, name);
  try {
    const turn = await unlessInterrupted(run, election.campaign(session, proposal));
    if (turn === "interrupted") return signalExitCode(run.interruption.signal!);
    printLeader(run, { key: turn.key, value: proposal, revision: turn.revision });
    const code = await holdUntilInterrupted(run, session);
    await releaseWithin(run, () => election.resign());
    return code;
  } finally {
    await releaseWithin(run, () => session.close(clerk));
    election.close();
  }
}

/** `elect NAME`: prints each leader as it changes, until interrupted. */
export async function runObserve(run: CoordinationRun, name: string): Promise<number> {
  const election = new Election(run.connection, name);
  try {
    const observing = election.observe(
      (leader) => printLeader(run, leader),
      () => run.interruption.signal !== null,
    );
    await unlessInterrupted(run, observing);
    return 0;
  } finally {
    election.close();
  }
}

function printLeader(run: CoordinationRun, leader: Leader): void {
  if (run.format === "json") {
    run.print(JSON.stringify({ type: "leader", ...leader }));
  } else {
    run.print(leader.key);
    run.print(leader.value);
  }
}

/** Runs `body` on a connection to `cli`'s servers, listening for signals; sets the exit code. */
async function coordinate(
  cli: KvCli,
  ttlMs: number,
  body: (run: CoordinationRun) => Promise<number>,
): Promise<void> {
  const connection = new TcpConnection(await cli.servers(), await cli.security());
  const interruption = new Interruption(true);
  try {
    Deno.exitCode = await body({
      connection,
      format: cli.format(),
      print: (line) => console.log(line),
      printError: (line) => console.error(line),
      ttlMs,
      releaseTimeoutMs: cli.timeoutMs(),
      interruption,
    });
  } finally {
    interruption.dispose();
    connection.close();
  }
}

const ttlFlag = () =>
  secondsFlag(
    "--ttl <seconds>",
    "the session's time to live: how long the lock or leadership outlives a holder cut off or dead",
    DEFAULT_SESSION_TTL_MS,
  );

/** Adds lock and elect to `kv`. */
export function addLockCommands(kv: Command, cli: KvCli): void {
  kv.command("lock").description(
    "Wait for lock NAME, run COMMAND holding it (DSYS_LOCK_KEY: the lock's key, DSYS_LOCK_REV: its fencing token) and exit with its status; without COMMAND, print the key and hold the lock until interrupted.",
  )
    .argument("<name>").argument("[command...]")
    .addOption(ttlFlag())
    .passThroughOptions()
    .addHelpText(
      "after",
      examples(
        "dsys kv lock deploy ./deploy.sh --fast",
        "dsys kv lock deploy sh -c 'echo token $DSYS_LOCK_REV'",
      ),
    )
    .action((name, command, options) =>
      coordinate(cli, options.ttl, (run) => runLock(run, name, command))
    );
  kv.command("elect").description(
    "Campaign in election NAME with PROPOSAL, print the leader's key and proposal once elected, and lead until interrupted; without PROPOSAL, print each leader as it changes.",
  )
    .argument("<name>").argument("[proposal]")
    .addOption(ttlFlag())
    .addHelpText(
      "after",
      examples(
        "dsys kv elect scheduler host-a",
        "dsys kv elect scheduler",
      ),
    )
    .action((name, proposal, options) =>
      coordinate(
        cli,
        options.ttl,
        (run) => proposal === undefined ? runObserve(run, name) : runCampaign(run, name, proposal),
      )
    );
}
