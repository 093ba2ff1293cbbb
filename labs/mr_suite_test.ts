import { mrSuite } from "./mr_suite.ts";
import { registerSuite } from "./register.ts";

registerSuite(mrSuite);
