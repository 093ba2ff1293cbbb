import assert from "node:assert/strict";
import { encodeFrame, FRAME_HEADER_BYTES } from "../rpc/codec.ts";
import type { InstallSnapshot } from "../raft/messages.ts";
import type { InstallSnapshotChunk } from "./chunk_messages.ts";
import { chunksOf, patternBytes, snapshotRequest } from "./testing/snapshot_fixtures.ts";
import { RAFT_STEP_METHOD } from "../raft_node/node.ts";
import {
  type ChunkOutcome,
  SNAPSHOT_CHUNK_ENVELOPE_BYTES,
  SnapshotAssembler,
  snapshotChunk,
} from "./snapshot_chunks.ts";

function refused(outcome: ChunkOutcome, reason: RegExp): void {
  assert.equal(outcome.kind, "refused");
  assert.match((outcome as { reason: string }).reason, reason);
}

Deno.test("snapshotChunk cuts a snapshot into full chunks and a last one marked done", () => {
  const request = snapshotRequest(250);
  const chunks = chunksOf(request, 100);
  assert.deepEqual(chunks.map((chunk) => [chunk.offset, chunk.data.length, chunk.done]), [
    [0, 100, false],
    [100, 100, false],
    [200, 50, true],
  ]);
  for (const chunk of chunks) {
    assert.equal(chunk.totalBytes, 250);
    assert.equal(chunk.term, 4);
    assert.equal(chunk.lastIncludedIndex, 30);
    assert.equal(chunk.lastIncludedTerm, 3);
  }
  assert.deepEqual(chunksOf(snapshotRequest(0), 100).map((chunk) => chunk.done), [true]);
  assert.throws(() => snapshotChunk(request, 250, 100), /Cannot cut a chunk at byte 250/);
});

Deno.test("a chunk's frame stays within its data plus the envelope bound, numbers at their widest", () => {
  const widest = Number.MAX_SAFE_INTEGER;
  const chunk: InstallSnapshotChunk = {
    ...snapshotChunk(snapshotRequest(4096), 0, 4096),
    from: widest,
    to: widest,
    term: widest,
    lastIncludedIndex: widest,
    lastIncludedTerm: widest,
    offset: widest,
    totalBytes: widest,
  };
  const frame = encodeFrame([0, 2 ** 32 - 1, RAFT_STEP_METHOD, chunk]);
  assert.ok(frame.length - FRAME_HEADER_BYTES <= 4096 + SNAPSHOT_CHUNK_ENVELOPE_BYTES);
});

Deno.test("the assembler joins chunks sent in order into the whole snapshot", () => {
  const assembler = new SnapshotAssembler(1000);
  const request = snapshotRequest(250);
  const [first, second, last] = chunksOf(request, 100);
  assert.deepEqual(assembler.accept(first), { kind: "partial", receivedBytes: 100 });
  assert.deepEqual(assembler.accept(second), { kind: "partial", receivedBytes: 200 });
  assert.deepEqual(assembler.partial, { from: 1, receivedBytes: 200 });
  assert.deepEqual(assembler.accept(last), { kind: "complete", snapshot: request });
  assert.equal(assembler.partial, null);
  assert.equal(assembler.bufferedBytes, 0);
});

Deno.test("the assembler's snapshot owns its bytes: a later change to a chunk's buffer is not in it", () => {
  const assembler = new SnapshotAssembler(1000);
  const chunks = chunksOf(snapshotRequest(150), 100);
  assembler.accept(chunks[0]);
  const outcome = assembler.accept(chunks[1]);
  (chunks[0].data as Uint8Array).fill(0);
  assert.equal(outcome.kind, "complete");
  const { snapshot } = outcome as { snapshot: InstallSnapshot };
  assert.deepEqual(snapshot.data, patternBytes(150));
});

Deno.test("an out-of-order chunk is refused and drops the partial snapshot", () => {
  const assembler = new SnapshotAssembler(1000);
  const [first, second, last] = chunksOf(snapshotRequest(250), 100);
  assembler.accept(first);
  refused(assembler.accept(last), /at byte 200 .* is out of order: 100 bytes have arrived/);
  assert.equal(assembler.partial, null);
  // The transfer cannot resume where it was: it must start again from offset 0.
  refused(assembler.accept(second), /No snapshot from peer 1 is being assembled/);
  assembler.accept(first);
  assert.deepEqual(assembler.accept(second), { kind: "partial", receivedBytes: 200 });
  // A repeated chunk is out of order too.
  refused(assembler.accept(second), /at byte 100 .* is out of order: 200 bytes have arrived/);
});

Deno.test("a chunk of another snapshot, index, term or leader term drops the partial snapshot", () => {
  const others: Partial<InstallSnapshot>[] = [
    { lastIncludedIndex: 31 },
    { lastIncludedTerm: 2 },
    { term: 5 },
  ];
  for (const fields of others) {
    const assembler = new SnapshotAssembler(1000);
    assembler.accept(chunksOf(snapshotRequest(250), 100)[0]);
    const other = chunksOf(snapshotRequest(250, fields), 100)[1];
    refused(assembler.accept(other), /does not continue the snapshot being assembled/);
    assert.equal(assembler.partial, null, JSON.stringify(fields));
  }
  const assembler = new SnapshotAssembler(1000);
  assembler.accept(chunksOf(snapshotRequest(250), 100)[0]);
  const resized = { ...chunksOf(snapshotRequest(250), 100)[1], totalBytes: 300 };
  refused(assembler.accept(resized), /does not continue/);
  assert.equal(assembler.partial, null);
});

Deno.test("a chunk from another leader does not continue or drop the partial snapshot", () => {
  const assembler = new SnapshotAssembler(1000);
  assembler.accept(chunksOf(snapshotRequest(250), 100)[0]);
  const stranger = chunksOf(snapshotRequest(250, { from: 2 }), 100)[1];
  refused(assembler.accept(stranger), /No snapshot from peer 2/);
  assert.deepEqual(assembler.partial, { from: 1, receivedBytes: 100 });
});

Deno.test("a snapshot announced over the cap, a chunk past the total or a false done is refused", () => {
  const assembler = new SnapshotAssembler(200);
  refused(
    assembler.accept(chunksOf(snapshotRequest(201), 100)[0]),
    /Snapshot of 201 bytes is over the cap of 200 bytes/,
  );
  assert.equal(assembler.bufferedBytes, 0, "nothing is allocated for a refused snapshot");
  const [first, second] = chunksOf(snapshotRequest(150), 100);
  assembler.accept(first);
  const past = { ...second, data: patternBytes(60) };
  refused(assembler.accept(past), /Chunk of 60 bytes at byte 100 ends past the snapshot's 150/);
  assert.equal(assembler.partial, null, "an inconsistent chunk drops its sender's partial");
  assembler.accept(first);
  refused(assembler.accept({ ...second, done: false }), /says done is false/);
  refused(assembler.accept({ ...first, done: true }), /says done is true/);
  refused(
    assembler.accept({ ...first, data: new Uint8Array(0) }),
    /Chunk at byte 0 carries no bytes/,
  );
  assert.deepEqual(
    assembler.accept({ ...first, totalBytes: 0, data: new Uint8Array(0), done: true }),
    {
      kind: "complete",
      snapshot: snapshotRequest(0),
    },
  );
});

Deno.test("a newer snapshot replaces the partial one; an older one does not", () => {
  const assembler = new SnapshotAssembler(1000);
  const old = chunksOf(snapshotRequest(250), 100);
  const newerIndex = chunksOf(snapshotRequest(300, { lastIncludedIndex: 40 }), 100);
  const newerTerm = chunksOf(
    snapshotRequest(200, { from: 2, term: 5, lastIncludedIndex: 35 }),
    100,
  );
  assembler.accept(old[0]);
  assert.deepEqual(assembler.accept(newerIndex[0]), { kind: "partial", receivedBytes: 100 });
  refused(assembler.accept(old[0]), /A newer snapshot from peer 1 \(term 4, index 40\)/);
  assert.deepEqual(assembler.accept(newerTerm[0]), { kind: "partial", receivedBytes: 100 });
  assert.deepEqual(assembler.partial, { from: 2, receivedBytes: 100 });
  refused(assembler.accept(newerIndex[1]), /No snapshot from peer 1/);
  // The same snapshot started again (the leader's earlier transfer failed) starts over.
  assembler.accept(newerTerm[0]);
  assert.equal(assembler.accept(newerTerm[1]).kind, "complete");
});

Deno.test("the assembler holds one partial snapshot, never more than the cap, whatever arrives", () => {
  const cap = 1000;
  const assembler = new SnapshotAssembler(cap);
  let peak = 0;
  // Interleaved transfers from four leaders of rising terms, some over the cap.
  for (let round = 0; round < 50; round++) {
    const from = 1 + (round % 4);
    const bytes = 300 + (round * 97) % 900;
    const chunks = chunksOf(
      snapshotRequest(bytes, { from, term: round, lastIncludedIndex: round }),
      128,
    );
    for (const chunk of chunks.slice(0, 1 + (round % chunks.length))) {
      assembler.accept(chunk);
      peak = Math.max(peak, assembler.bufferedBytes);
      assert.ok(assembler.partial === null || assembler.partial.receivedBytes <= cap);
    }
  }
  assert.ok(peak > 0 && peak <= cap, `peak ${peak}`);
  assembler.clear();
  assert.equal(assembler.bufferedBytes, 0);
});

Deno.test("discardFrom drops only its peer's partial snapshot", () => {
  const assembler = new SnapshotAssembler(1000);
  assembler.accept(chunksOf(snapshotRequest(250), 100)[0]);
  assembler.discardFrom(2);
  assert.deepEqual(assembler.partial, { from: 1, receivedBytes: 100 });
  assembler.discardFrom(1);
  assert.equal(assembler.partial, null);
});
