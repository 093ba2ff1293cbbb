import assert from "node:assert/strict";
import { isDenoExecutable, selfCommand, selfCommandFor } from "./self_command.ts";

Deno.test("selfCommandFor runs main.ts under deno when running from source", () => {
  const argv = selfCommandFor({
    execPath: "/usr/local/bin/deno",
    mainModule: "file:///work/main/tests/mr_test.ts",
    selfModule: "file:///work/main/util/self_command.ts",
    sourceMainPath: "/work/main/main.ts",
  }, ["worker", "wc"]);
  assert.deepEqual(argv, [
    "/usr/local/bin/deno",
    "run",
    "--allow-all",
    "/work/main/main.ts",
    "worker",
    "wc",
  ]);
});

Deno.test("selfCommandFor runs the bundle itself when the code is bundled", () => {
  const argv = selfCommandFor({
    execPath: "/usr/local/bin/deno",
    mainModule: "file:///work/main/dist/dsys.js",
    selfModule: "file:///work/main/dist/dsys.js",
    sourceMainPath: "/work/main/main.ts",
  }, ["coordinator", "a b.txt"]);
  assert.deepEqual(argv, [
    "/usr/local/bin/deno",
    "run",
    "--allow-all",
    "/work/main/dist/dsys.js",
    "coordinator",
    "a b.txt",
  ]);
});

Deno.test("selfCommandFor falls back to the main module when main.ts is missing", () => {
  const argv = selfCommandFor({
    execPath: "/opt/deno-2.9.6",
    mainModule: "file:///home/user/my%20copy/dsys.js",
    selfModule: "file:///home/user/my%20copy/util/self_command.ts",
    sourceMainPath: undefined,
  }, []);
  assert.deepEqual(argv, ["/opt/deno-2.9.6", "run", "--allow-all", "/home/user/my copy/dsys.js"]);
});

Deno.test("selfCommandFor runs a compiled binary directly", () => {
  const argv = selfCommandFor({
    execPath: "/usr/bin/dsys",
    mainModule: "file:///tmp/deno-compile-dsys/main.ts",
    selfModule: "file:///tmp/deno-compile-dsys/util/self_command.ts",
    sourceMainPath: undefined,
  }, ["test", "mr"]);
  assert.deepEqual(argv, ["/usr/bin/dsys", "test", "mr"]);
});

Deno.test("isDenoExecutable tells the runtime from a compiled binary", () => {
  assert.equal(isDenoExecutable("/usr/local/bin/deno"), true);
  assert.equal(isDenoExecutable("C:\\Program Files\\deno.exe"), true);
  assert.equal(isDenoExecutable("/usr/bin/dsys"), false);
});

Deno.test("selfCommand in this test process starts with the deno executable", () => {
  const argv = selfCommand(["sequential"]);
  assert.equal(argv[0], Deno.execPath());
  assert.equal(argv[1], "run");
  assert.equal(argv.at(-1), "sequential");
});
