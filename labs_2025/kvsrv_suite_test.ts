import { registerSuite } from "../labs/register.ts";
import { kvsrvSuite } from "./kvsrv_suite.ts";

registerSuite(kvsrvSuite);
