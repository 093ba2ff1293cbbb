/**
 * The architecture's rules, checked on the tree itself: no import cycle between files, the
 * program reaches no test-only file, no product file looks like a test to `deno test`, and no
 * top-level product folder outgrows what a reader can hold in mind.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = dirname(fileURLToPath(import.meta.url));
/** About the most product lines a top-level folder may hold before it should be split. */
const FOLDER_LINES_MAX = 3_500;
const SKIPPED_FOLDERS = new Set([".git", "dist", "node_modules"]);
const IMPORT_PATTERN = /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g;
const SIDE_EFFECT_IMPORT_PATTERN = /(?:^|\n)\s*import\s*["'](\.{1,2}\/[^"']+)["']/g;

/** Every TypeScript file below the root, as paths relative to it. */
function sourceFiles(folder = ROOT): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(folder)) {
    if (SKIPPED_FOLDERS.has(entry.name)) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory) files.push(...sourceFiles(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) files.push(relative(ROOT, path));
  }
  return files.sort();
}

/** The files `file` imports, relative to the root. */
function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(join(ROOT, file));
  const targets = new Set<string>();
  for (const pattern of [IMPORT_PATTERN, SIDE_EFFECT_IMPORT_PATTERN]) {
    for (const match of text.matchAll(pattern)) {
      targets.add(normalize(join(dirname(file), match[1])));
    }
  }
  return [...targets];
}

/** Whether `deno test` would load `file` as a test module (its default glob). */
function matchesTestGlob(file: string): boolean {
  const name = file.split("/").at(-1)!;
  return name === "test.ts" || name.endsWith("_test.ts") || name.endsWith(".test.ts");
}

/** Tests, benchmarks and anything in a `testing/` folder serve only tests. */
function isTestOnly(file: string): boolean {
  return matchesTestGlob(file) || file.endsWith("_bench.ts") || file.split("/").includes("testing");
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles()) graph.set(file, importsOf(file));
  return graph;
}

/** The cycles of `graph`: each strongly connected component of more than one file (Tarjan). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const indexOf = new Map<string, number>();
  const lowOf = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    indexOf.set(file, indexOf.size);
    lowOf.set(file, indexOf.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        lowOf.set(file, Math.min(lowOf.get(file)!, lowOf.get(next)!));
      } else if (onStack.has(next)) {
        lowOf.set(file, Math.min(lowOf.get(file)!, indexOf.get(next)!));
      }
    }
    if (lowOf.get(file) !== indexOf.get(file)) return;
    const component: string[] = [];
    for (let count = 0; count < graph.size; count++) {
      const member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
      if (member === file) break;
    }
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component);
  };
  for (const file of graph.keys()) if (!indexOf.has(file)) visit(file);
  return cycles;
}

function reachableFrom(graph: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>([start]);
  const pending = [start];
  while (pending.length > 0) {
    for (const next of graph.get(pending.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        pending.push(next);
      }
    }
  }
  return seen;
}

Deno.test("every relative import names a file that exists", () => {
  const graph = importGraph();
  const missing = [...graph].flatMap(([file, targets]) =>
    targets.filter((target) => !graph.has(target)).map((target) => `${file} → ${target}`)
  );
  assert.deepEqual(missing, []);
});

Deno.test("no import cycle between files", () => {
  const cycles = cyclesOf(importGraph()).map((cycle) => cycle.sort().join(" ↔ "));
  assert.deepEqual(cycles, []);
});

Deno.test("the cycle finder finds a cycle", () => {
  const graph = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]], ["d.ts", []]]);
  assert.deepEqual(cyclesOf(graph).map((cycle) => cycle.sort()), [["a.ts", "b.ts", "c.ts"]]);
});

Deno.test("main.ts reaches no test-only file", () => {
  const reached = [...reachableFrom(importGraph(), "main.ts")].filter(isTestOnly);
  assert.deepEqual(reached, []);
});

Deno.test("no product file matches deno test's glob or lives in a testing folder", () => {
  const graph = importGraph();
  const product = reachableFrom(graph, "main.ts");
  for (const file of graph.keys()) {
    if (file.endsWith("/mod.ts")) {
      for (const reached of reachableFrom(graph, file)) product.add(reached);
    }
  }
  assert.deepEqual([...product].filter(isTestOnly), []);
});

Deno.test(`no top-level product folder holds more than ${FOLDER_LINES_MAX} lines`, () => {
  const linesByFolder = new Map<string, number>();
  for (const file of sourceFiles()) {
    if (isTestOnly(file) || !file.includes("/")) continue;
    const folder = file.split("/")[0];
    const lines = Deno.readTextFileSync(join(ROOT, file)).split("\n").length;
    linesByFolder.set(folder, (linesByFolder.get(folder) ?? 0) + lines);
  }
  const large = [...linesByFolder].filter(([, lines]) => lines > FOLDER_LINES_MAX);
  assert.deepEqual(large, []);
});
