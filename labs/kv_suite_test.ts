import { kvSuite } from "./kv_suite.ts";
import { registerSuite } from "./register.ts";

registerSuite(kvSuite);
