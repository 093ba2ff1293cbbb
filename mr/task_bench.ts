import { map as wordCountMap } from "../apps/wc.ts";
import { writeCorpus } from "./corpus.ts";
import { decodeIntermediate, encodeIntermediate, reduceAll } from "./job_files.ts";
import { partitionOf } from "./partition.ts";

// One generated file of about 1 MB, the size of a lab input, shared by every case.
const folder = Deno.makeTempDirSync({ prefix: "dsys-mr-bench-" });
const [name] = await writeCorpus(folder, { seed: 1, wordsPerFile: 150_000, fileCount: 1 });
const contents = Deno.readTextFileSync(`${folder}/${name}`);
Deno.removeSync(folder, { recursive: true });
const pairs = wordCountMap(name, contents);
const encoded = encodeIntermediate(pairs);

Deno.bench("wc map of a 1 MB file", () => {
  wordCountMap(name, contents);
});

Deno.bench("partition every word of a 1 MB file (FNV-1a)", () => {
  for (const pair of pairs) partitionOf(pair.key, 10);
});

Deno.bench("encode a 1 MB file's pairs as intermediate JSON lines", () => {
  encodeIntermediate(pairs);
});

Deno.bench("decode a 1 MB file's intermediate JSON lines", () => {
  decodeIntermediate(encoded, "bench");
});

Deno.bench("group and reduce a 1 MB file's pairs (wc)", async () => {
  await reduceAll(pairs, (_key, values) => String(values.length));
});
