/**
 * `dsys demo`: a short tour a newcomer can watch. It writes a small corpus, runs a MapReduce word
 * count on a coordinator and three worker processes with live progress, prints the ten most
 * frequent words, and removes everything it made.
 *
 * @module
 */
import { runLocalJob, writeCorpus } from "../mr/mod.ts";

/** Words in each of the demo's generated input files. */
const DEMO_WORDS_PER_FILE = 40_000;
/** Worker processes the demo starts. */
const DEMO_WORKERS = 3;
/** How many of the most frequent words the demo prints. */
const DEMO_TOP_WORDS = 10;

/** Runs the demo, printing as it goes; throws if any part of it fails. */
export async function runDemo(print: (line: string) => void = console.log): Promise<void> {
  const workDir = await Deno.makeTempDir({ prefix: "dsys-demo-" });
  try {
    const inputFiles = await writeCorpus(workDir, { seed: 1, wordsPerFile: DEMO_WORDS_PER_FILE });
    print(`MapReduce: word count over ${inputFiles.length} generated files in ${workDir}`);
    print(`starting a coordinator and ${DEMO_WORKERS} workers as separate processes`);
    const job = await runLocalJob({
      app: "wc",
      inputFiles,
      workDir,
      workers: DEMO_WORKERS,
      showProgress: true,
    });
    print(
      `done in ${(job.elapsedMs / 1000).toFixed(1)} s; the ${DEMO_TOP_WORDS} most frequent words:`,
    );
    for (const [word, count] of topWords(job.output, DEMO_TOP_WORDS)) {
      print(`  ${word.padEnd(16)} ${count}`);
    }
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
}

/** The `limit` most frequent words of `key count` lines, most frequent first, ties by word. */
export function topWords(lines: readonly string[], limit: number): [string, number][] {
  const counts: [string, number][] = lines.map((line) => {
    const [word, count] = line.split(" ");
    return [word, Number(count)];
  });
  counts.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return counts.slice(0, limit);
}
