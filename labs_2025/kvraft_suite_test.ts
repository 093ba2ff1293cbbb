import { registerSuite } from "../labs/register.ts";
import { kvraftSuite } from "./kvraft_suite.ts";

registerSuite(kvraftSuite);
