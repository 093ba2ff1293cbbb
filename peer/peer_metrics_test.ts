import assert from "node:assert/strict";
import { assertPromtoolAccepts } from "../observe/testing/promtool.ts";
import { PeerMetrics, TimedDiskFileSystem } from "./peer_metrics.ts";

Deno.test("a peer's counted metrics start at zero and pass promtool", async () => {
  const metrics = new PeerMetrics();
  metrics.proposals.inc();
  metrics.reads.lease.inc();
  metrics.persistEntries.observe(3);
  metrics.traffic.callsIn += 2;
  metrics.traffic.bytesOut += 100;
  const text = metrics.registry.text();
  await assertPromtoolAccepts(text);
  for (
    const sample of [
      "dsys_raft_proposals_total 1",
      "dsys_raft_leader_changes_total 0",
      'dsys_kv_reads_total{kind="lease"} 1',
      'dsys_storage_persist_entries_bucket{le="2"} 0',
      'dsys_storage_persist_entries_bucket{le="4"} 1',
      'dsys_rpc_calls_total{direction="in"} 2',
      'dsys_rpc_bytes_total{direction="out"} 100',
    ]
  ) {
    assert.ok(text.split("\n").includes(sample), `${sample} in:\n${text}`);
  }
});

Deno.test("the timed disk counts each fsync of a file and of a folder", async () => {
  const metrics = new PeerMetrics();
  const disk = new TimedDiskFileSystem(metrics.fsyncSeconds);
  const folder = await Deno.makeTempDir({ prefix: "dsys-fsync-" });
  try {
    const path = `${folder}/file`;
    await disk.writeFile(path, new Uint8Array([1, 2, 3]));
    await disk.syncFile(path);
    disk.syncFileSync(path);
    await disk.syncDirectory(folder);
    disk.syncDirectorySync(folder);
    disk.close();
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
  assert.equal(metrics.fsyncSeconds.count, 4);
});
