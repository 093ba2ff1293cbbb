import { crashLoopTest, tlsCrashLoopTest } from "./cluster_suite.ts";
import { registerSuite } from "../labs/register.ts";

// Kill/restart cycles come from DSYS_CRASH_CYCLES (default 50); `dsys test cluster --run crash
// --count N` runs more.
registerSuite([crashLoopTest, tlsCrashLoopTest]);
