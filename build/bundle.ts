/**
 * `deno task bundle`: the whole program as one JavaScript file, `dist/dsys.js`, and beside it the
 * executable `dist/dsys`: a shebang line that runs it with the `deno` on PATH, then the same
 * bundle. Copy either to another machine that has Deno; `dist/dsys --help` runs as it is.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { errorText } from "../util/error_text.ts";

/** The first line of `dist/dsys`: `env -S` splits the words, so deno gets its flags. */
export const SHEBANG_LINE = "#!/usr/bin/env -S deno run --allow-all";
/** Read, write and execute for the owner; read and execute for everyone else. */
const EXECUTABLE_MODE = 0o755;

/** The repository root: this file's folder's parent. */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * `bundle` with {@linkcode SHEBANG_LINE} before it. A shebang the bundler kept from main.ts is
 * dropped, since a second one would be a syntax error.
 */
export function executableText(bundle: string): string {
  const body = bundle.startsWith("#!") ? bundle.slice(bundle.indexOf("\n") + 1) : bundle;
  return `${SHEBANG_LINE}\n${body}`;
}

/** Runs `deno bundle` into `folder` and writes the executable beside it; returns both paths. */
export async function bundleInto(folder: string): Promise<{ script: string; executable: string }> {
  const script = join(folder, "dsys.js");
  const executable = join(folder, "dsys");
  await Deno.mkdir(folder, { recursive: true });
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      `--config=${join(ROOT, "deno.json")}`,
      "--platform=deno",
      `--output=${script}`,
      join(ROOT, "main.ts"),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`deno bundle of main.ts into ${script} failed`);
  const temporary = `${executable}.tmp`;
  await Deno.writeTextFile(temporary, executableText(await Deno.readTextFile(script)), {
    mode: EXECUTABLE_MODE,
  });
  // The mode given to writeTextFile is masked by the umask; the executable bit must not be.
  await Deno.chmod(temporary, EXECUTABLE_MODE);
  await Deno.rename(temporary, executable);
  return { script, executable };
}

if (import.meta.main) {
  try {
    const { script, executable } = await bundleInto(join(ROOT, "dist"));
    console.log(`wrote ${script} and the executable ${executable} (try: ${executable} --help)`);
  } catch (error) {
    console.error(`bundle: ${errorText(error)}`);
    Deno.exit(1);
  }
}
