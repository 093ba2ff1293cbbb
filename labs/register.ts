/**
 * Registers a lab suite with `deno test`, so that the suites run under Deno's own runner (with
 * its sanitizers) as well as under `dsys test`.
 *
 * @module
 */
import { type LabTest, testLabel } from "./suite.ts";

/**
 * The seed `deno test` runs simulated tests with: `DSYS_SEED` when set, else 1, so that CI is
 * reproducible; `dsys test --count` is the tool for exploring many seeds.
 */
export function defaultSeed(): number {
  const text = Deno.env.get("DSYS_SEED");
  if (text === undefined || text === "") return 1;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`DSYS_SEED "${text}" is not a whole number`);
  return seed;
}

/** Registers every test of `tests` with `Deno.test`, under the lab's label. */
export function registerSuite(tests: readonly LabTest[]): void {
  for (const test of tests) {
    Deno.test(testLabel(test), async () => {
      const seed = defaultSeed();
      try {
        await test.run({ seed, log: (line) => console.log(line) });
      } catch (error) {
        console.log(`seed ${seed}: replay with DSYS_SEED=${seed} or dsys test --seed ${seed}`);
        throw error;
      }
    });
  }
}
