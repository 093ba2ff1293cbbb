import { flakyNetworkTest, partitionTest } from "./cluster_suite.ts";
import { registerSuite } from "../labs/register.ts";

registerSuite([partitionTest, flakyNetworkTest]);
