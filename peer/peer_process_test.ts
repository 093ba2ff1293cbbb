import assert from "node:assert/strict";
import { ApplyCounter, MAX_PEERS, parsePeers } from "./peer_process.ts";
import { PeerMetrics } from "./peer_metrics.ts";
import { Logger } from "../observe/log.ts";

Deno.test("parsePeers returns the list when --id is one of its entries", () => {
  assert.deepEqual(parsePeers("127.0.0.1:7100, 127.0.0.1:7101,unix:/tmp/p2", 2), [
    "127.0.0.1:7100",
    "127.0.0.1:7101",
    "unix:/tmp/p2",
  ]);
});

Deno.test("parsePeers refuses an id outside the list, bad or repeated addresses, and too many peers", () => {
  assert.throws(
    () => parsePeers("127.0.0.1:1,127.0.0.1:2", 2),
    /--id 2 is not a peer: --endpoints lists 2 \(ids 0 to 1\)/,
  );
  assert.throws(() => parsePeers("127.0.0.1:1,localhost", 0), /Bad address "localhost"/);
  assert.throws(() => parsePeers("127.0.0.1:1,:1", 0), /lists :1 twice/);
  const many = Array.from({ length: MAX_PEERS + 1 }, (_, id) => `127.0.0.1:${7000 + id}`);
  assert.throws(() => parsePeers(many.join(","), 0), /at most 64 are allowed/);
});

Deno.test("snapshots taken and installed and membership changes are logged once each, with their sizes", () => {
  const lines: string[] = [];
  const logger = new Logger({
    node: "kv-server 2",
    format: "json",
    write: (line) => lines.push(line),
    nowMs: () => 0,
  });
  const metrics = new PeerMetrics();
  const applies = new ApplyCounter(0, logger, metrics);
  applies.count({
    snapshotValid: true,
    snapshot: new Uint8Array(2048),
    snapshotTerm: 3,
    snapshotIndex: 40,
  });
  const membership = (membershipIndex: number, voters: number[], learners: number[]) => ({
    membershipValid: true as const,
    membership: { voters, learners, addresses: {} },
    membershipIndex,
    membershipTerm: 3,
  });
  applies.count(membership(41, [0, 1, 2], []));
  // A new leader's first entry carries the membership again: no change, no line.
  applies.count(membership(50, [0, 1, 2], []));
  applies.count(membership(55, [0, 1, 2], [3]));
  const command = (commandIndex: number, value: unknown) => ({
    commandValid: true as const,
    command: value,
    commandIndex,
    commandTerm: 3,
  });
  applies.count(command(56, "x"));
  // A new leader's empty first entry is no command.
  applies.count(command(57, null));
  applies.snapshotTaken(60, 4096);
  const logged = lines.map((line) => JSON.parse(line));
  assert.deepEqual(logged.map(({ ts: _, level: __, node: ___, ...rest }) => rest), [
    { msg: "installed a snapshot from the leader", index: 40, term: 3, bytes: 2048 },
    { msg: "membership changed", index: 41, voters: "0,1,2", learners: "none" },
    { msg: "membership changed", index: 55, voters: "0,1,2", learners: "3" },
    { msg: "took a snapshot", index: 60, bytes: 4096 },
  ]);
  assert.equal(metrics.snapshotInstalledBytes.sum, 2048);
  assert.equal(metrics.snapshotTakenBytes.sum, 4096);
  assert.deepEqual(applies.counts(), {
    snapshotIndex: 60,
    snapshotsInstalled: 1,
    appliedCommands: 1,
  });
});
