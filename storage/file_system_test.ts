import assert from "node:assert/strict";
import { DiskFileSystem, SYNC_APPEND_MAX_BYTES } from "./file_system.ts";

Deno.test("DiskFileSystem writes, appends, syncs, renames and truncates real files", async () => {
  const root = await Deno.makeTempDir({ prefix: "file_system_test" });
  const files = new DiskFileSystem();
  try {
    const dir = `${root}/a/b`;
    files.makeDirectorySync(dir);
    files.makeDirectorySync(dir);
    assert.ok(Deno.statSync(dir).isDirectory);
    await files.writeFile(`${dir}/log.tmp`, Uint8Array.of(1, 2));
    await files.syncFile(`${dir}/log.tmp`);
    await files.rename(`${dir}/log.tmp`, `${dir}/log`);
    await files.syncDirectory(dir);
    await files.appendFile(`${dir}/log`, Uint8Array.of(3));
    await files.appendFile(`${dir}/log`, Uint8Array.of(4, 5));
    await files.syncFile(`${dir}/log`);
    assert.deepEqual(await files.readFile(`${dir}/log`), Uint8Array.of(1, 2, 3, 4, 5));
    files.truncateSync(`${dir}/log`, 2);
    files.syncFileSync(`${dir}/log`);
    // The append handle was dropped by the truncation, so this lands at the new end.
    await files.appendFile(`${dir}/log`, Uint8Array.of(9));
    assert.deepEqual(files.readFileSync(`${dir}/log`), Uint8Array.of(1, 2, 9));
    files.writeFileSync(`${dir}/other`, Uint8Array.of(7));
    files.syncFileSync(`${dir}/other`);
    files.renameSync(`${dir}/other`, `${dir}/log`);
    files.syncDirectorySync(dir);
    assert.deepEqual(files.readFileSync(`${dir}/log`), Uint8Array.of(7));
    files.removeSync(`${dir}/log`);
    files.removeSync(`${dir}/log`);
    assert.equal(files.readFileSync(`${dir}/log`), null);
  } finally {
    files.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("DiskFileSystem reports a missing file to appends and reads", async () => {
  const root = await Deno.makeTempDir({ prefix: "file_system_test" });
  const files = new DiskFileSystem();
  try {
    await assert.rejects(
      files.appendFile(`${root}/missing`, Uint8Array.of(1)),
      Deno.errors.NotFound,
    );
    await assert.rejects(files.readFile(`${root}/missing`), Deno.errors.NotFound);
  } finally {
    files.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("DiskFileSystem writes a small append before returning, and large ones in order", async () => {
  const root = await Deno.makeTempDir({ prefix: "file_system_test" });
  const files = new DiskFileSystem();
  const path = `${root}/log`;
  try {
    await files.writeFile(path, Uint8Array.of(1));
    await files.syncFile(path);
    // The first append opens the handle; the next small one is in the file before it returns.
    await files.appendFile(path, Uint8Array.of(2));
    const small = new Uint8Array(SYNC_APPEND_MAX_BYTES).fill(3);
    const appending = files.appendFile(path, small);
    assert.equal(files.readFileSync(path)?.byteLength, 2 + SYNC_APPEND_MAX_BYTES);
    await appending;
    const large = new Uint8Array(SYNC_APPEND_MAX_BYTES + 1).fill(4);
    await files.appendFile(path, large);
    await files.appendFile(path, Uint8Array.of(5));
    await files.syncFile(path);
    const expected = new Uint8Array(2 * SYNC_APPEND_MAX_BYTES + 4);
    expected.set([1, 2]);
    expected.set(small, 2);
    expected.set(large, 2 + small.byteLength);
    expected[expected.byteLength - 1] = 5;
    assert.deepEqual(await files.readFile(path), expected);
  } finally {
    files.close();
    await Deno.remove(root, { recursive: true });
  }
});
