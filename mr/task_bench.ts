import { map as wordCountMap } from "../apps/wc.ts";
import { builtInApps } from "../apps/built_in.ts";
import { writeCorpus } from "./corpus.ts";
import { encodeIntermediate, groupMapOutput, RunsByKey } from "../mr_data/intermediate.ts";
import { partitionOf } from "../mr_data/partition.ts";

// One generated file of about 1 MB, the size of a lab input, shared by every case.
const folder = Deno.makeTempDirSync({ prefix: "dsys-mr-bench-" });
const [name] = await writeCorpus(folder, { seed: 1, wordsPerFile: 150_000, fileCount: 1 });
const contents = Deno.readTextFileSync(`${folder}/${name}`);
Deno.removeSync(folder, { recursive: true });
const pairs = wordCountMap(name, contents);
const app = builtInApps.wc;
const partitions = groupMapOutput(app, name, pairs, 10);
const decoded = partitions.map((groups) =>
  encodeIntermediate(groups).slice(0, -1).map((line) => JSON.parse(line))
);

Deno.bench("wc map of a 1 MB file", () => {
  wordCountMap(name, contents);
});

Deno.bench("partition every word of a 1 MB file (FNV-1a)", () => {
  for (const pair of pairs) partitionOf(pair.key, 10);
});

Deno.bench("group a 1 MB file's pairs by key into 10 partitions", () => {
  groupMapOutput(app, name, pairs, 10);
});

Deno.bench("encode a 1 MB file's grouped pairs as intermediate batches", () => {
  for (const groups of partitions) encodeIntermediate(groups);
});

Deno.bench("merge a 1 MB file's decoded batches and spell out the values", () => {
  const merged = new RunsByKey();
  for (const batches of decoded) {
    for (const batch of batches) {
      for (let index = 0; index < batch.length; index += 2) {
        merged.add(batch[index], [...batch[index + 1]]);
      }
    }
  }
  for (const key of merged.keys()) merged.values(key);
});
