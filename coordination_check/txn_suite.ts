/**
 * Linearizability tests of the coordination service (part "txn" of `dsys test kv`), on the lab's
 * harness: clerks make random gets, puts, versioned puts, deletes of a key or a prefix and
 * transactions on a handful of keys, and the whole history is checked against the model of
 * `model.ts` — every value, version, revision, count and branch the service answered. On a
 * reliable network; on an unreliable one while servers crash, restart and are cut off; and the
 * same with snapshots. At the end a clerk is abandoned in the middle of a write, so the check
 * meets an operation of unknown outcome, and a last reader reads every key.
 *
 * @module
 */
import type { Clerk } from "../kv/clerk.ts";
import { CHECK_TIMEOUT_MS, type KvConfig, runKvTest } from "../labs/kv_harness.ts";
import { chaos } from "../labs/coordination_suite.ts";
import type { LabTest } from "../labs/suite.ts";
import { CoordinationHistory } from "./history.ts";
import { Workload, WORKLOAD_KEYS } from "./workload.ts";
import { errorText } from "../util/error_text.ts";

/** How long the clerks run. */
const RUN_MS = 6_000;
/** Clerks running at once. */
const CLIENTS = 10;
/** A bound on one clerk's operations (the run's time bounds them first). */
const CLIENT_OPS_MAX = 10_000;
/** How long the abandoned clerk's write may travel before the clerk is deleted. */
const ABANDON_MS = 10;

/** One clerk's run: random requests until `untilMs`, each recorded. */
async function runClient(
  cfg: KvConfig,
  history: CoordinationHistory,
  clerk: Clerk,
  untilMs: number,
): Promise<void> {
  const client = cfg.clientNumber(clerk);
  const workload = new Workload((bound) => cfg.randomInt(bound), client);
  for (let i = 0; i < CLIENT_OPS_MAX && cfg.simulation.now() < untilMs; i++) {
    const request = workload.next();
    workload.learn(request, await history.run(clerk, client, request));
    cfg.countOperation();
  }
}

/**
 * A clerk that sends a transaction and is deleted before it may hear back: the history keeps
 * an operation of unknown outcome, which may or may not have happened.
 */
async function abandonWrite(cfg: KvConfig, history: CoordinationHistory): Promise<void> {
  const clerk = cfg.makeClient(cfg.all());
  const client = cfg.clientNumber(clerk);
  const running = history.run(clerk, client, {
    kind: "txn",
    txn: {
      compare: [{ key: WORKLOAD_KEYS[0], target: "version", op: ">", value: 0 }],
      success: [{ kind: "put", key: WORKLOAD_KEYS[0], value: "abandoned" }],
      failure: [{ kind: "put", key: WORKLOAD_KEYS[1], value: "abandoned" }],
    },
  }).then(() => true, () => false);
  await cfg.sleep(cfg.randomInt(ABANDON_MS));
  cfg.deleteClient(clerk);
  // Deleted, the clerk gives up at its next attempt (or had its reply already).
  await running;
}

/** Checks `history`; a violation or an undecided check fails the test. */
function checkHistory(
  cfg: KvConfig,
  history: CoordinationHistory,
): { operations: number; unknown: number; elapsedMs: number } {
  try {
    return history.check(CHECK_TIMEOUT_MS);
  } catch (error) {
    return cfg.fatal(errorText(error));
  }
}

/** A test of part "txn". */
function txnTest(
  name: string,
  label: string,
  options: { unreliable: boolean; faults: boolean; maxraftstate: number },
): LabTest {
  return {
    name,
    part: "txn",
    run: (context) =>
      runKvTest(context, { servers: 5, ...options }, async (cfg) => {
        cfg.begin(`Test: ${label} (txn)`);
        const history = new CoordinationHistory(cfg.simulation);
        const untilMs = cfg.simulation.now() + RUN_MS;
        const clerks = Array.from({ length: CLIENTS }, () => cfg.makeClient(cfg.all()));
        await Promise.all([
          options.faults ? chaos(cfg, untilMs) : Promise.resolve(),
          ...clerks.map((clerk) => runClient(cfg, history, clerk, untilMs)),
        ]);
        cfg.connectAll();
        await abandonWrite(cfg, history);
        const reader = cfg.makeClient(cfg.all());
        for (const key of WORKLOAD_KEYS) {
          await history.run(reader, cfg.clientNumber(reader), { kind: "get", key });
          cfg.countOperation();
        }
        const checked = checkHistory(cfg, history);
        cfg.log(
          `  history of ${checked.operations} operations (${checked.unknown} of unknown ` +
            `outcome) is linearizable (checked in ${
              checked.elapsedMs.toFixed(0)
            } ms of ${CHECK_TIMEOUT_MS} ms)`,
        );
        cfg.end();
      }),
  };
}

/** The tests of part "txn". */
export const txnTests: readonly LabTest[] = [
  txnTest(
    "random gets, puts, deletes and transactions are linearizable",
    "gets, puts, deletes and transactions",
    { unreliable: false, faults: false, maxraftstate: -1 },
  ),
  txnTest(
    "random gets, puts, deletes and transactions are linearizable across faults",
    "transactions, unreliable, crashes, restarts, partitions",
    { unreliable: true, faults: true, maxraftstate: -1 },
  ),
  txnTest(
    "random gets, puts, deletes and transactions are linearizable across faults and snapshots",
    "transactions, unreliable, crashes, partitions, snapshots",
    { unreliable: true, faults: true, maxraftstate: 1_000 },
  ),
];
