/**
 * `deno task compile`: a single binary, `dist/dsys-standalone`, that needs no Deno. `deno
 * compile` appends the program to Deno's runtime, `denort`, which it downloads from dl.deno.land
 * unless `DENORT_BIN` names a copy. Offline, that download fails with a DNS error and a
 * backtrace; this task says instead what is missing and how to supply it.
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "./bundle.ts";
import { errorText } from "../util/error_text.ts";

/** Where the binary goes: not `dist/dsys`, which `deno task bundle` writes. */
export const COMPILED_PATH = join(ROOT, "dist", "dsys-standalone");

/** Why `DENORT_BIN`'s value cannot serve, or undefined when it names an executable file. */
export function denortProblem(path: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return `DENORT_BIN=${path}: no such file`;
  }
  if (!info.isFile) return `DENORT_BIN=${path}: not a file`;
  if (info.mode !== null && (info.mode & 0o111) === 0) {
    return `DENORT_BIN=${path}: not executable (chmod +x it)`;
  }
  return undefined;
}

/** The explanation printed when `deno compile` failed without `DENORT_BIN`. */
export function missingDenortText(version: string, target: string): string {
  return [
    `compile: deno compile needs Deno's runtime for this machine, denort ${version} for ${target},`,
    `and could not download it from https://dl.deno.land/release/v${version}/denort-${target}.zip`,
    "(no network?). Fetch that zip where there is network, unzip it here, and run:",
    "  DENORT_BIN=/path/to/denort deno task compile",
    "Or run `deno task bundle`: dist/dsys needs only a deno on PATH.",
  ].join("\n");
}

/** Runs `deno compile`; returns its exit code and what it printed on stderr. */
async function compile(): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["compile", "--quiet", "--allow-all", `--output=${COMPILED_PATH}`, "main.ts"],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

async function main(): Promise<number> {
  const denortPath = Deno.env.get("DENORT_BIN");
  const problem = denortPath === undefined ? undefined : denortProblem(denortPath);
  if (problem !== undefined) {
    console.error(`compile: ${problem}`);
    return 1;
  }
  const { code, stderr } = await compile();
  if (code === 0) {
    console.log(`wrote ${COMPILED_PATH} (try: ${COMPILED_PATH} --help)`);
    return 0;
  }
  if (denortPath === undefined && /denort|dl\.deno\.land/.test(stderr)) {
    console.error(missingDenortText(Deno.version.deno, Deno.build.target));
  } else {
    console.error(stderr.trimEnd());
  }
  return code;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`compile: ${errorText(error)}`);
    Deno.exit(1);
  }
}
