/**
 * The built-in MapReduce applications, by the names the lab gives them.
 *
 * @module
 */
import type { MapReduceApp } from "./app.ts";
import * as crash from "./crash.ts";
import * as earlyExit from "./early_exit.ts";
import * as indexer from "./indexer.ts";
import * as jobcount from "./jobcount.ts";
import * as mtiming from "./mtiming.ts";
import * as nocrash from "./nocrash.ts";
import * as rtiming from "./rtiming.ts";
import * as wc from "./wc.ts";

/** Every built-in application, by name; statically imported so compiled binaries carry them. */
export const builtInApps: Readonly<Record<string, MapReduceApp>> = Object.freeze({
  wc: { name: "wc", map: wc.map, reduce: wc.reduce },
  indexer: { name: "indexer", map: indexer.map, reduce: indexer.reduce },
  mtiming: { name: "mtiming", map: mtiming.map, reduce: mtiming.reduce },
  rtiming: { name: "rtiming", map: rtiming.map, reduce: rtiming.reduce },
  jobcount: { name: "jobcount", map: jobcount.map, reduce: jobcount.reduce },
  early_exit: { name: "early_exit", map: earlyExit.map, reduce: earlyExit.reduce },
  crash: { name: "crash", map: crash.map, reduce: crash.reduce },
  nocrash: { name: "nocrash", map: nocrash.map, reduce: nocrash.reduce },
});

/** The built-in names, in the lab's order. */
export const builtInAppNames: readonly string[] = Object.freeze(Object.keys(builtInApps));
