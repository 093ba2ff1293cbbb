import { pauseLeaderTest } from "./pause_leader.ts";
import { registerSuite } from "../labs/register.ts";

registerSuite([pauseLeaderTest]);
