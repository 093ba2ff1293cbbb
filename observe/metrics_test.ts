import assert from "node:assert/strict";
import { formatValue, MetricsRegistry } from "./metrics.ts";
import { assertPromtoolAccepts } from "./testing/promtool.ts";

function sampleRegistry(): MetricsRegistry {
  const registry = new MetricsRegistry();
  const proposals = registry.counter("dsys_raft_proposals_total", "Commands proposed.");
  proposals.inc();
  proposals.inc(2);
  registry.gauge("dsys_raft_term", "Current term.", () => 7);
  const roles = ["follower", "leader"] as const;
  registry.readByLabel(
    "gauge",
    "dsys_raft_role",
    "1 for the current role.",
    "role",
    roles,
    (role) => role === "leader" ? 1 : 0,
  );
  const reads = registry.labeledCounters("dsys_kv_reads_total", "Reads.", "kind", [
    "lease",
    "read_index",
  ]);
  reads.lease.inc(4);
  const fsync = registry.histogram("dsys_storage_fsync_seconds", "Fsync time.", [0.001, 0.01]);
  fsync.observe(0.0005);
  fsync.observe(0.001);
  fsync.observe(0.5);
  return registry;
}

const SAMPLE_TEXT = [
  "# HELP dsys_raft_proposals_total Commands proposed.",
  "# TYPE dsys_raft_proposals_total counter",
  "dsys_raft_proposals_total 3",
  "# HELP dsys_raft_term Current term.",
  "# TYPE dsys_raft_term gauge",
  "dsys_raft_term 7",
  "# HELP dsys_raft_role 1 for the current role.",
  "# TYPE dsys_raft_role gauge",
  'dsys_raft_role{role="follower"} 0',
  'dsys_raft_role{role="leader"} 1',
  "# HELP dsys_kv_reads_total Reads.",
  "# TYPE dsys_kv_reads_total counter",
  'dsys_kv_reads_total{kind="lease"} 4',
  'dsys_kv_reads_total{kind="read_index"} 0',
  "# HELP dsys_storage_fsync_seconds Fsync time.",
  "# TYPE dsys_storage_fsync_seconds histogram",
  'dsys_storage_fsync_seconds_bucket{le="0.001"} 2',
  'dsys_storage_fsync_seconds_bucket{le="0.01"} 2',
  'dsys_storage_fsync_seconds_bucket{le="+Inf"} 3',
  "dsys_storage_fsync_seconds_sum 0.5015",
  "dsys_storage_fsync_seconds_count 3",
  "",
].join("\n");

Deno.test("the registry writes HELP, TYPE and samples in the 0.0.4 text format, exactly", () => {
  assert.equal(sampleRegistry().text(), SAMPLE_TEXT);
});

Deno.test("promtool accepts the registry's text with no lint problem", async () => {
  await assertPromtoolAccepts(sampleRegistry().text());
});

Deno.test("promtool's check is real: it refuses a counter without _total", async () => {
  const bad = "# HELP bad Bad.\n# TYPE bad counter\nbad 1\n";
  await assert.rejects(() => assertPromtoolAccepts(bad), /should have "_total" suffix/);
});

Deno.test("a missing promtool fails the check, saying how to install it", async () => {
  await assert.rejects(
    () => assertPromtoolAccepts("", "/nonexistent/promtool"),
    /\/nonexistent\/promtool is not installed: install Debian's prometheus package/,
  );
});

Deno.test("help and label values are escaped; special values are spelled as the format says", () => {
  const registry = new MetricsRegistry();
  registry.readByLabel(
    "gauge",
    "odd",
    'Back\\slash and\nbreak "quoted".',
    "name",
    ['a"b\\c\nd'],
    () => NaN,
  );
  assert.equal(
    registry.text(),
    '# HELP odd Back\\\\slash and\\nbreak "quoted".\n# TYPE odd gauge\n' +
      'odd{name="a\\"b\\\\c\\nd"} NaN\n',
  );
  assert.deepEqual([Infinity, -Infinity, 0.25, 12].map(formatValue), [
    "+Inf",
    "-Inf",
    "0.25",
    "12",
  ]);
});

Deno.test("the registry refuses bad names, duplicates and counters without _total", () => {
  const registry = new MetricsRegistry();
  registry.gauge("dsys_up", "Up.");
  assert.throws(() => registry.gauge("dsys_up", "Again."), /Metric dsys_up exists/);
  assert.throws(() => registry.gauge("9lives", "Bad."), /Metric name "9lives" is not valid/);
  assert.throws(() => registry.counter("dsys_things", "Things."), /does not end with _total/);
  assert.throws(
    () => registry.histogram("dsys_h", "H.", [2, 1]),
    /Bucket bound 1 does not increase/,
  );
  assert.throws(() => registry.counter("dsys_n_total", "N.").inc(-1), /A counter cannot go down/);
});

Deno.test("collect hooks run once before each text", () => {
  const registry = new MetricsRegistry();
  let reads = 0;
  let snapshot = 0;
  registry.onCollect(() => {
    reads++;
    snapshot = reads * 10;
  });
  registry.gauge("dsys_a", "A.", () => snapshot);
  registry.gauge("dsys_b", "B.", () => snapshot + 1);
  assert.equal(
    registry.text().split("\n").filter((line) => !line.startsWith("#")).join(" "),
    "dsys_a 10 dsys_b 11 ",
  );
  assert.equal(reads, 1);
});

Deno.test("series may carry several labels; a reserved or bad label name is refused", async () => {
  const registry = new MetricsRegistry();
  registry.readSeries("gauge", "dsys_mr_tasks", "Tasks by kind and state.", [
    { labels: { kind: "map", state: "idle" }, read: () => 2 },
    { labels: { kind: "reduce", state: "done" }, read: () => 1 },
  ]);
  const text = registry.text();
  assert.equal(
    text,
    "# HELP dsys_mr_tasks Tasks by kind and state.\n# TYPE dsys_mr_tasks gauge\n" +
      'dsys_mr_tasks{kind="map",state="idle"} 2\ndsys_mr_tasks{kind="reduce",state="done"} 1\n',
  );
  await assertPromtoolAccepts(text);
  for (const label of ["le", "__name", "bad-name"]) {
    assert.throws(
      () =>
        registry.readSeries("gauge", `x_${label.length}`, "X.", [{
          labels: { [label]: "v" },
          read: () => 0,
        }]),
      /Label name .* is not valid/,
    );
  }
});
