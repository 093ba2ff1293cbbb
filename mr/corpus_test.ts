import assert from "node:assert/strict";
import { writeCorpus, writeCorpusOfSize } from "./corpus.ts";

Deno.test("writeCorpusOfSize writes files of the size asked, to within a word", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-mr-corpus-" });
  try {
    const names = await writeCorpusOfSize(folder, { seed: 3, totalBytes: 120_000, fileCount: 3 });
    assert.equal(names.length, 3);
    for (const name of names) {
      const size = (await Deno.stat(`${folder}/${name}`)).size;
      assert.ok(size >= 40_000 && size < 40_000 + 64, `${name} has ${size} bytes`);
    }
    const first = await Deno.readTextFile(`${folder}/${names[0]}`);
    await writeCorpus(folder, { seed: 3, wordsPerFile: 100, fileCount: 1 });
    assert.ok(first.startsWith(await Deno.readTextFile(`${folder}/${names[0]}`)), "same seed");
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
