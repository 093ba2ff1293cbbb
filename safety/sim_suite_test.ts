/**
 * CI's share of the safety simulation: a fixed set of seeds, in batches so a failure points at
 * a small range (the message names the seed to replay with `dsys test sim --seed S`).
 */
import { checkSeed } from "./sim_suite.ts";

const FIRST_SEED = 1;
const SEEDS = 500;
const SEEDS_PER_TEST = 50;

for (let first = FIRST_SEED; first < FIRST_SEED + SEEDS; first += SEEDS_PER_TEST) {
  const last = first + SEEDS_PER_TEST - 1;
  Deno.test(`sim: seeds ${first} to ${last} keep every invariant`, () => {
    for (let seed = first; seed <= last; seed++) checkSeed({ seed });
  });
}
