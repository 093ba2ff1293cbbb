/**
 * `dsys demo`: a short tour a newcomer can watch. It writes a small corpus, runs a MapReduce word
 * count on a coordinator and three worker processes with live progress, prints the ten most
 * frequent words; then starts a three-node key/value cluster (kv-server processes with their
 * files in a temporary folder), writes and reads, kills the leader with SIGKILL, shows the
 * failover in the status table, reads everything back, and removes everything it made.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { ENGLISH_HEAD_WORDS, runLocalJob, writeCorpus } from "../mr/mod.ts";
import { formatStatusTable } from "../peer/status.ts";
import { DeadlineClerk, type KvOperation } from "../kv_cli/kv_clerk.ts";
import { ProcessCluster } from "../cluster/process_cluster.ts";
import { examples } from "./arguments.ts";

/** Words in each of the demo's generated input files. */
const DEMO_WORDS_PER_FILE = 40_000;
/** Worker processes the demo starts. */
const DEMO_WORKERS = 3;
/** How many of the most frequent words the demo prints. */
const DEMO_TOP_WORDS = 10;
/** Nodes of the demo's key/value cluster. */
const DEMO_KV_NODES = 3;
/** How long the demo waits for a leader, and gives each operation. */
const DEMO_KV_TIMEOUT_MS = 15_000;
/** The key/value pairs the demo writes. */
const DEMO_PAIRS: readonly (readonly [string, string])[] = [
  ["capital/france", "Paris"],
  ["capital/japan", "Tokyo"],
  ["capital/peru", "Lima"],
];

/** The `demo` subcommand. */
export function demoCommand() {
  return new Command("demo")
    .description(
      "Run a MapReduce job on a coordinator and three worker processes, then a three-node key/value cluster through the loss of its leader.",
    )
    .option("--kv-only", "only the key/value part", false)
    .addHelpText("after", examples("dsys demo", "dsys demo --kv-only"))
    .action(async (options) => {
      if (options.kvOnly) await runKvDemo();
      else await runDemo();
    });
}

/** Runs the demo, printing as it goes; throws if any part of it fails. */
export async function runDemo(print: (line: string) => void = console.log): Promise<void> {
  const workDir = await Deno.makeTempDir({ prefix: "dsys-demo-" });
  try {
    const inputFiles = await writeCorpus(workDir, {
      seed: 1,
      wordsPerFile: DEMO_WORDS_PER_FILE,
      headWords: ENGLISH_HEAD_WORDS,
    });
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
  print("");
  await runKvDemo(print);
}

/**
 * The key/value part of the demo: a three-node cluster of real processes survives the loss of
 * its leader. Throws if a read does not give back what was written.
 */
export async function runKvDemo(print: (line: string) => void = console.log): Promise<void> {
  const baseDir = await Deno.makeTempDir({ prefix: "dsys-demo-kv-" });
  print(`Key/value service: starting ${DEMO_KV_NODES} kv-server processes (data in ${baseDir})`);
  const cluster = await ProcessCluster.start({
    size: DEMO_KV_NODES,
    dir: baseDir,
    transport: "tcp",
  });
  const clerk = new DeadlineClerk(cluster.clientAddresses(), DEMO_KV_TIMEOUT_MS);
  try {
    const leader = await cluster.waitForLeader(DEMO_KV_TIMEOUT_MS);
    for (const [key, value] of DEMO_PAIRS) {
      await demoOperation(clerk, { kind: "put", key, value }, print);
    }
    await demoOperation(clerk, { kind: "append", key: "capital/peru", value: " (Rímac)" }, print);
    print(formatStatusTable(await cluster.statusRows()));
    print(`killing the leader, node ${leader}, with SIGKILL`);
    await cluster.kill(leader);
    const startMs = performance.now();
    const survivors = cluster.ids.filter((id) => id !== leader);
    const newLeader = await cluster.waitForLeader(DEMO_KV_TIMEOUT_MS, survivors);
    print(
      `node ${newLeader} leads after ${(performance.now() - startMs).toFixed(0)} ms; status now:`,
    );
    print(formatStatusTable(await cluster.statusRows()));
    for (const [key, value] of DEMO_PAIRS) {
      const expected = key === "capital/peru" ? `${value} (Rímac)` : value;
      const output = await demoOperation(clerk, { kind: "get", key, value: "" }, print);
      if (output !== expected) {
        throw new Error(`Read ${JSON.stringify(output)} for ${key}, expected ${expected}`);
      }
    }
    print("every write survived the loss of the leader");
  } finally {
    clerk.close();
    await cluster.close();
    await Deno.remove(baseDir, { recursive: true });
  }
}

async function demoOperation(
  clerk: DeadlineClerk,
  operation: KvOperation,
  print: (line: string) => void,
): Promise<string> {
  const outcome = await clerk.run(operation);
  if (!outcome.ok) throw new Error(outcome.error);
  const shown = operation.kind === "get" ? ` -> ${JSON.stringify(outcome.output)}` : "";
  const value = operation.kind === "get" ? "" : ` ${JSON.stringify(operation.value)}`;
  print(`  ${operation.kind} ${operation.key}${value}${shown}`);
  return outcome.output;
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
