import { flakyNetworkTest, partitionTest } from "./cluster_suite.ts";
import { registerSuite } from "./register.ts";

registerSuite([partitionTest, flakyNetworkTest]);
