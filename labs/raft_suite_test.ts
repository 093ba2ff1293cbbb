import { raftSuite } from "./raft_suite.ts";
import { registerSuite } from "./register.ts";

registerSuite(raftSuite);
