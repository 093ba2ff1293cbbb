/**
 * Cost of the safety simulation: one run of the default length (5,000 events under faults,
 * then healing), which bounds how many seeds `dsys test sim --count` explores per second.
 */
import { runSafetySimulation } from "./simulation.ts";

let seed = 1;

Deno.bench("one random group, default events", () => {
  runSafetySimulation({ seed: seed++ });
});

Deno.bench("one group of 7 peers, default events", () => {
  runSafetySimulation({ seed: seed++, peers: 7 });
});
