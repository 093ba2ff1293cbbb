/**
 * The suites `dsys test` knows, by name.
 *
 * @module
 */
import { clusterSuite } from "../cluster/cluster_suite.ts";
import { kvSuite } from "../labs/kv_suite.ts";
import { mrSuite } from "../labs/mr_suite.ts";
import { raftSuite } from "../labs/raft_suite.ts";
import { simSuite } from "../safety/sim_suite.ts";
import type { LabTest } from "../labs/suite.ts";

/** Every suite by the name `dsys test` takes. */
export const SUITES: Readonly<Record<string, readonly LabTest[]>> = {
  cluster: clusterSuite,
  kv: kvSuite,
  mr: mrSuite,
  raft: raftSuite,
  sim: simSuite,
};

/** Names `dsys test` accepts: each suite, and `all`. */
export const SUITE_NAMES: readonly string[] = [...Object.keys(SUITES), "all"];

/** The tests of suite `name` (`all` joins every suite); throws naming the choices otherwise. */
export function suiteTests(name: string): readonly LabTest[] {
  if (name === "all") return Object.values(SUITES).flat();
  const tests = SUITES[name];
  if (tests === undefined) {
    throw new Error(`Unknown suite "${name}": choose one of ${SUITE_NAMES.join(", ")}`);
  }
  return tests;
}
