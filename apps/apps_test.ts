import assert from "node:assert/strict";
import * as crash from "./crash_output.ts";
import * as earlyExit from "./early_exit.ts";
import * as indexer from "./indexer.ts";
import * as nocrash from "./nocrash.ts";
import * as rtiming from "./rtiming.ts";
import * as wc from "./wc.ts";
import { isProcessAlive } from "./parallelism_probe.ts";

Deno.test("wc splits on every non-letter, Unicode letters included", () => {
  const pairs = wc.map("ignored.txt", "Don't stop—café 42 naïve\nСлово日本語 x_y");
  assert.deepEqual(pairs.map((pair) => pair.key), [
    "Don",
    "t",
    "stop",
    "café",
    "naïve",
    "Слово日本語",
    "x",
    "y",
  ]);
  assert.ok(pairs.every((pair) => pair.value === "1"));
  assert.equal(wc.reduce("stop", ["1", "1", "1"]), "3");
});

Deno.test("indexer emits each distinct word once and lists documents sorted", () => {
  const pairs = indexer.map("doc-b", "the cat and the hat");
  assert.deepEqual(pairs.map((pair) => pair.key).sort(), ["and", "cat", "hat", "the"]);
  assert.ok(pairs.every((pair) => pair.value === "doc-b"));
  assert.equal(indexer.reduce("the", ["doc-c", "doc-a", "doc-b"]), "3 doc-a,doc-b,doc-c");
  assert.equal(
    indexer.reduce("the", ["doc-b", "doc-a", "doc-b"]),
    "2 doc-a,doc-b",
    "one per split",
  );
});

Deno.test("nocrash describes the file by name and byte lengths", () => {
  const pairs = nocrash.map("pg-é.txt", "añb");
  assert.deepEqual(pairs, [
    { key: "a", value: "pg-é.txt" },
    { key: "b", value: "9" },
    { key: "c", value: "4" },
    { key: "d", value: "xyzzy" },
  ]);
  assert.equal(nocrash.reduce("b", ["9", "10", "8"]), "10 8 9");
  assert.equal(crash.utf8Length("😀a"), 5);
  assert.equal(crash.utf8Length("\ud800"), 3);
});

Deno.test("rtiming maps every input to the ten keys a to j", () => {
  const keys = rtiming.map("x", "y").map((pair) => pair.key);
  assert.deepEqual(keys, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
});

Deno.test("early_exit keys by file name and counts values", async () => {
  assert.deepEqual(earlyExit.map("pg-grimm.txt", "..."), [{ key: "pg-grimm.txt", value: "1" }]);
  assert.equal(await earlyExit.reduce("pg-grimm.txt", ["1", "1"]), "2");
});

Deno.test("isProcessAlive sees this process and not an exited one", async () => {
  assert.equal(await isProcessAlive(Deno.pid), true);
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", ""] }).spawn();
  const exitedPid = child.pid;
  await child.status;
  assert.equal(await isProcessAlive(exitedPid), false);
});
