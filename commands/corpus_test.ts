import assert from "node:assert/strict";
import { withTempFolder } from "../mr/testing/temp_folder.ts";
import { ChildGroup } from "../util/child_process.ts";
import { CORPUS_FILE_NAMES } from "../mr/mod.ts";

Deno.test("dsys corpus writes the eight books at the size asked, and refuses a size without sense", async () => {
  await withTempFolder("dsys-corpus-", async (folder) => {
    const group = new ChildGroup();
    try {
      const made = await group.spawn(["corpus", "books", "--size", "64KiB"], { cwd: folder })
        .exited;
      assert.equal(made.code, 0, made.output);
      assert.equal(made.output, "wrote 8 books of 64 KiB in all to books/\n");
      let totalBytes = 0;
      for (const name of CORPUS_FILE_NAMES) {
        totalBytes += (await Deno.stat(`${folder}/books/${name}`)).size;
      }
      assert.ok(totalBytes >= 65_536 && totalBytes < 65_536 + 8 * 64, `${totalBytes} bytes`);
      const bad = await group.spawn(["corpus", "books", "--size", "lots"], { cwd: folder }).exited;
      assert.equal(bad.code, 1);
      assert.match(bad.output, /"lots" is not a size/);
    } finally {
      await group.killAll();
    }
  });
});
