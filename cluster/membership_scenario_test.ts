import { membershipScenarioTest } from "./membership_scenario.ts";
import { registerSuite } from "../labs/register.ts";

registerSuite([membershipScenarioTest]);
