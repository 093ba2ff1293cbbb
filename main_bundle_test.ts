/**
 * The single-file build (`deno task bundle`): the bundle and the executable beside it must run on
 * their own, since that is what a user copies to another machine; and `deno task compile` must
 * say what it lacks rather than fail with a backtrace.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { bundleInto, executableText, SHEBANG_LINE } from "./build/bundle.ts";
import { denortProblem, missingDenortText } from "./build/compile.ts";

/** Runs `deno` with `args` in `cwd` and returns exit code and output. */
async function runDeno(args: string[], cwd: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("the bundle runs on its own: help, a sequential job, and a clear error", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-bundle-" });
  try {
    const { script: bundlePath, executable } = await bundleInto(folder);
    assert.equal((await Deno.stat(executable)).mode! & 0o111, 0o111, "dist/dsys is executable");

    const help = await runDeno(["run", "--allow-all", bundlePath, "--help"], folder);
    assert.equal(help.code, 0, help.stderr);
    for (const command of ["sequential", "coordinator", "worker", "test", "bench", "demo"]) {
      assert.match(help.stdout, new RegExp(`\\b${command}\\b`), `help does not list ${command}`);
    }

    await Deno.writeTextFile(`${folder}/input.txt`, "the cat saw the dog; the end\n");
    const job = await runDeno(
      ["run", "--allow-all", bundlePath, "sequential", "wc", "input.txt"],
      folder,
    );
    assert.equal(job.code, 0, job.stderr);
    const lines = (await Deno.readTextFile(`${folder}/mr-out-0`)).trim().split("\n").sort();
    assert.deepEqual(lines, ["cat 1", "dog 1", "end 1", "saw 1", "the 3"]);

    const bad = await runDeno(
      ["run", "--allow-all", bundlePath, "sequential", "wc", "missing.txt"],
      folder,
    );
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr.trim(), "dsys: Input file missing.txt does not exist");

    // The executable runs without `deno run`, and starts its own children (the lab's workers).
    const path = `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`;
    const lab = await new Deno.Command(executable, {
      args: ["test", "mr", "--run", "wc"],
      cwd: folder,
      env: { PATH: path },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const labOutput = new TextDecoder().decode(lab.stdout);
    assert.equal(lab.code, 0, new TextDecoder().decode(lab.stderr));
    assert.match(labOutput, /^1 passed, 0 failed$/m);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("the executable is the bundle after one shebang line, never two", () => {
  assert.equal(executableText("let x = 1;\n"), `${SHEBANG_LINE}\nlet x = 1;\n`);
  assert.equal(
    executableText("#!/usr/bin/env deno\nlet x = 1;\n"),
    `${SHEBANG_LINE}\nlet x = 1;\n`,
  );
});

Deno.test("compile names what is wrong with DENORT_BIN, and what to do without it", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsys-compile-" });
  try {
    assert.equal(denortProblem(`${folder}/denort`), `DENORT_BIN=${folder}/denort: no such file`);
    assert.equal(denortProblem(folder), `DENORT_BIN=${folder}: not a file`);
    await Deno.writeTextFile(`${folder}/denort`, "");
    await Deno.chmod(`${folder}/denort`, 0o644);
    assert.match(denortProblem(`${folder}/denort`)!, /not executable/);
    await Deno.chmod(`${folder}/denort`, 0o755);
    assert.equal(denortProblem(`${folder}/denort`), undefined);
    const text = missingDenortText("2.9.6", "x86_64-unknown-linux-gnu");
    assert.match(text, /denort-x86_64-unknown-linux-gnu\.zip/);
    assert.match(text, /DENORT_BIN=\/path\/to\/denort deno task compile/);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
