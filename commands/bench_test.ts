import assert from "node:assert/strict";
import { runDsys } from "../cluster/testing/run_dsys.ts";
import { parseClientCounts, parseConsistencies, parseReadShares } from "./bench.ts";
import { MAX_BENCH_CLIENTS } from "../bench/kv.ts";

Deno.test("parseReadShares and parseConsistencies read lists and name what is wrong", () => {
  assert.deepEqual(parseReadShares("0, 0.5,1"), [0, 0.5, 1]);
  assert.throws(() => parseReadShares("0,1.5"), /"1.5" is not a share of gets from 0 to 1/);
  assert.throws(() => parseReadShares("0,"), /"" is not a share of gets/);
  assert.deepEqual(parseConsistencies("lease, serializable"), ["lease", "serializable"]);
  assert.throws(
    () => parseConsistencies("strong"),
    /"strong" is not a consistency: use linearizable, lease, serializable/,
  );
});

Deno.test("parseClientCounts reads a comma-separated list and refuses counts out of range", () => {
  assert.deepEqual(parseClientCounts("1, 16,64"), [1, 16, 64]);
  assert.throws(() => parseClientCounts("1,0"), /"0" is not a client count/);
  assert.throws(() => parseClientCounts(`${MAX_BENCH_CLIENTS + 1}`), /is not a client count/);
  assert.throws(() => parseClientCounts("8,x"), /"x" is not a client count/);
});

Deno.test("dsys bench kv --coordination prints puts/s, then puts, txns and watch events per second of one cluster", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "dsys-bench-" });
  try {
    const args = ["--clients", "2", "--seconds", "1", "--coordination", "--watchers", "3"];
    const run = await runDsys(["bench", "kv", ...args], { cwd });
    assert.equal(run.code, 0, run.stderr);
    const perSecond = (level: string) => {
      const row = new RegExp(`^${level}\\s+(\\d+)`, "m").exec(run.stdout);
      assert.ok(row !== null, `no row "${level}" in:\n${run.stdout}`);
      return Number(row[1]);
    };
    assert.match(run.stdout, /^nodes\s+clients/m);
    const puts = perSecond("puts, 2 clients");
    assert.ok(puts > 0 && perSecond("txns, 2 clients") > 0, run.stdout);
    // Three watchers hear the fan-out level's puts: at least as many events as puts, short of
    // the batches still in flight when the level ends.
    const fanOut = /watch events, 3 watchers\s+(\d+)\s+(\d+) puts\/s watched by each/.exec(
      run.stdout,
    );
    assert.ok(fanOut !== null, run.stdout);
    assert.ok(Number(fanOut[2]) > 0 && Number(fanOut[1]) >= Number(fanOut[2]), run.stdout);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
