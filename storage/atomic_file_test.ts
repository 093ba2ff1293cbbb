import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { encode } from "../rpc/codec.ts";
import {
  BLOCK_OVERHEAD_BYTES,
  CorruptFileError,
  encodeBlock,
  readBlock,
  readBlockFile,
  replaceFile,
  replaceFileSync,
} from "./atomic_file.ts";
import { CRASH_MODES, CrashFileSystem, SimulatedCrash } from "./testing/crash_file_system.ts";

const SOURCE = { path: "/data/raft-state", purpose: "Cannot start" };
const BODY = encode({ term: 7, votedFor: 2 });

Deno.test("a block gives back its body and where it ends", () => {
  const block = encodeBlock("DSYSHARD", BODY);
  assert.equal(block.byteLength, BODY.byteLength + BLOCK_OVERHEAD_BYTES);
  const withMore = Uint8Array.from([...block, 1, 2, 3]);
  const { body, endOffset } = readBlock(withMore, "DSYSHARD", SOURCE);
  assert.deepEqual(body, BODY);
  assert.equal(endOffset, block.byteLength);
});

Deno.test("a block refuses every flipped bit, every cut, another kind and another version", () => {
  const block = encodeBlock("DSYSHARD", BODY);
  for (let offset = 0; offset < block.byteLength; offset++) {
    const flipped = block.slice();
    flipped[offset] ^= 1 << (offset % 8);
    assert.throws(() => readBlock(flipped, "DSYSHARD", SOURCE), CorruptFileError, `byte ${offset}`);
  }
  for (let cut = 0; cut < block.byteLength; cut++) {
    assert.throws(
      () => readBlock(block.subarray(0, cut), "DSYSHARD", SOURCE),
      /^CorruptFileError: Cannot start: \/data\/raft-state is corrupt: /,
    );
  }
  assert.throws(() => readBlock(block, "DSYSSNAP", SOURCE), /starts with "DSYSHARD", not DSYSSNAP/);
  const future = block.slice();
  future[11] = 2;
  assert.throws(
    () => readBlock(future, "DSYSHARD", SOURCE),
    /format version 2; this build reads version 1/,
  );
  assert.throws(() => encodeBlock("SHORT", BODY), /is not 8 bytes/);
});

Deno.test("readBlockFile gives null for a missing file and refuses stray bytes", () => {
  const files = new CrashFileSystem();
  files.makeDirectorySync("/data");
  assert.equal(readBlockFile(files, "/data/raft-state", "DSYSHARD", "Cannot start"), null);
  files.writeFileSync("/data/raft-state", Uint8Array.from([...encodeBlock("DSYSHARD", BODY), 0]));
  assert.throws(
    () => readBlockFile(files, "/data/raft-state", "DSYSHARD", "Cannot start"),
    { message: "Cannot start: /data/raft-state is corrupt: 1 stray bytes follow its block" },
  );
});

Deno.test("replaceFile leaves the old bytes or the new after a crash at any step, and the new once done", async () => {
  const path = "/data/raft-state";
  const oldBytes = encodeBlock("DSYSHARD", encode({ term: 1 }));
  const newBytes = encodeBlock("DSYSHARD", encode({ term: 2 }));
  const setup = () => {
    const files = new CrashFileSystem();
    files.makeDirectorySync("/data");
    replaceFileSync(files, path, oldBytes);
    return files;
  };
  const dryRun = setup();
  const before = dryRun.steps;
  await replaceFile(dryRun, path, newBytes);
  const stepCount = dryRun.steps - before;
  assert.equal(stepCount, 4);
  for (const mode of CRASH_MODES) assert.deepEqual(dryRun.afterCrash(mode).peek(path), newBytes);
  for (let step = 1; step <= stepCount; step++) {
    for (const mode of CRASH_MODES) {
      const files = setup();
      files.crashBeforeStep(files.steps + step);
      await assert.rejects(replaceFile(files, path, newBytes), SimulatedCrash);
      const survivor = files.afterCrash(mode).peek(path);
      assert.ok(
        isDeepStrictEqual(survivor, oldBytes) || isDeepStrictEqual(survivor, newBytes),
        `step ${step}, ${mode}`,
      );
    }
  }
});
