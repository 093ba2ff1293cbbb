import assert from "node:assert/strict";
import { DiskFileSystem } from "./file_system.ts";

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
