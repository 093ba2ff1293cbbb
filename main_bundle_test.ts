/**
 * The single-file build: `deno bundle` of main.ts must produce a program that runs on its own,
 * since that is what a user copies to another machine.
 *
 * @module
 */
import assert from "node:assert/strict";

const MAIN_PATH = new URL("./main.ts", import.meta.url).pathname;
const CONFIG_PATH = new URL("./deno.json", import.meta.url).pathname;

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
    const bundlePath = `${folder}/dsys.js`;
    const bundled = await runDeno(
      [
        "bundle",
        "--quiet",
        `--config=${CONFIG_PATH}`,
        "--platform=deno",
        `--output=${bundlePath}`,
        MAIN_PATH,
      ],
      folder,
    );
    assert.equal(bundled.code, 0, `deno bundle failed: ${bundled.stderr}`);

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
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
