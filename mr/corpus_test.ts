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

Deno.test("head words become the corpus's most frequent words, in their order", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-mr-corpus-" });
  try {
    const headWords = ["the", "of", "and"];
    const [name] = await writeCorpus(folder, {
      seed: 5,
      wordsPerFile: 20_000,
      fileCount: 1,
      headWords,
    });
    const counts = new Map<string, number>();
    for (const word of (await Deno.readTextFile(`${folder}/${name}`)).split(/[^\p{L}']+/u)) {
      if (word !== "") counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([word]) => word);
    assert.deepEqual(top, headWords);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
