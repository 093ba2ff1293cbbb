import assert from "node:assert/strict";
import { loadApp } from "./load_app.ts";
import { CounterSet } from "./counters.ts";

Deno.test("loadApp finds every built-in by its lab name", async () => {
  for (const name of ["wc", "indexer", "mtiming", "rtiming", "jobcount", "early_exit", "crash"]) {
    const app = await loadApp(name);
    assert.equal(app.name, name);
  }
  const nocrash = await loadApp("nocrash");
  assert.deepEqual(await nocrash.reduce("a", ["y", "x"], new CounterSet()), "x y");
});

Deno.test("loadApp names an unknown app and lists the built-ins", async () => {
  await assert.rejects(
    () => loadApp("wordcount"),
    /Unknown MapReduce app "wordcount".*wc, indexer, mtiming, rtiming, jobcount, early_exit, crash, nocrash/,
  );
  await assert.rejects(() => loadApp("toString"), /Unknown MapReduce app "toString"/);
});

Deno.test("loadApp imports a user's module by relative or absolute path", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-load-app-" });
  try {
    const path = `${folder}/my app.ts`;
    await Deno.writeTextFile(
      path,
      `export function map(f: string, c: string) { return [{ key: f, value: String(c.length) }]; }
export async function reduce(_k: string, v: string[]) { return await Promise.resolve(v.join("+")); }`,
    );
    const app = await loadApp(path);
    assert.deepEqual(await app.map("x.txt", "abc", new CounterSet()), [{
      key: "x.txt",
      value: "3",
    }]);
    assert.equal(await app.reduce("k", ["1", "2"], new CounterSet()), "1+2");
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("loadApp refuses a module without map and reduce, naming it", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-load-app-" });
  try {
    const path = `${folder}/half.ts`;
    await Deno.writeTextFile(path, `export function map() { return []; }`);
    await assert.rejects(() => loadApp(path), /MapReduce app .*half\.ts must export functions map/);
    await assert.rejects(
      () => loadApp(`${folder}/missing.ts`),
      /Cannot load MapReduce app .*missing\.ts/,
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
