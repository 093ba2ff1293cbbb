/**
 * The command line that runs this same program again, so that tests, the demo and benchmarks can
 * start real coordinator, worker and server processes whether dsys runs from source under
 * `deno run`, as a bundle, or as a compiled binary.
 *
 * @module
 */
import { assert } from "./assert.ts";

/** How the running program was started; the input of {@linkcode selfCommandFor}. */
export interface ProgramLocation {
  /** The executable running now (`Deno.execPath()`). */
  readonly execPath: string;
  /** The module Deno started with (`Deno.mainModule`), as a URL. */
  readonly mainModule: string;
  /** The URL of this module as the runtime sees it; inside a bundle it is the bundle's URL. */
  readonly selfModule: string;
  /** The path of `main.ts` beside the `util/` folder when that file exists, else undefined. */
  readonly sourceMainPath: string | undefined;
}

/**
 * Returns the argv that runs this program with the subcommand arguments `args`, for example
 * `selfCommand(["worker", "wc"])`. Under Deno it is
 * `[deno, "run", "--allow-all", <main.ts or the bundle>, ...args]`; for a compiled binary it is
 * `[binary, ...args]`.
 *
 * @example
 * ```ts
 * const [program, ...programArgs] = selfCommand(["sequential", "wc", "a.txt"]);
 * const child = new Deno.Command(program, { args: programArgs }).spawn();
 * ```
 */
export function selfCommand(args: readonly string[]): string[] {
  return selfCommandFor(currentLocation(), args);
}

/**
 * The pure part of {@linkcode selfCommand}: the argv for a program started as `location`
 * describes. Exported so that each way of starting dsys can be tested without starting it.
 */
export function selfCommandFor(location: ProgramLocation, args: readonly string[]): string[] {
  assert(
    location.execPath.length > 0,
    "Cannot run this program again: its executable path is empty",
  );
  if (!isDenoExecutable(location.execPath)) return [location.execPath, ...args];
  const bundled = location.selfModule === location.mainModule;
  const script = !bundled && location.sourceMainPath !== undefined
    ? location.sourceMainPath
    : modulePath(location.mainModule);
  return [location.execPath, "run", "--allow-all", script, ...args];
}

/** Whether `execPath` names the deno runtime rather than a binary made by `deno compile`. */
export function isDenoExecutable(execPath: string): boolean {
  const baseName = execPath.split(/[\\/]/).pop() ?? "";
  return baseName.startsWith("deno");
}

/** A module URL as something `deno run` accepts: a path for `file:` URLs, else the URL. */
function modulePath(moduleUrl: string): string {
  const url = new URL(moduleUrl);
  return url.protocol === "file:" ? filePath(url) : moduleUrl;
}

/** The local path of a `file:` URL; Windows drive paths lose the slash before the letter. */
function filePath(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  return /^\/[A-Za-z]:/.test(path) ? path.slice(1) : path;
}

/** Reads where this process came from. */
function currentLocation(): ProgramLocation {
  const mainUrl = new URL("../main.ts", import.meta.url);
  let sourceMainPath: string | undefined;
  if (mainUrl.protocol === "file:") {
    const path = filePath(mainUrl);
    try {
      if (Deno.statSync(path).isFile) sourceMainPath = path;
    } catch {
      // No main.ts beside us (a compiled binary's virtual file system, or a copied bundle).
      sourceMainPath = undefined;
    }
  }
  return {
    execPath: Deno.execPath(),
    mainModule: Deno.mainModule,
    selfModule: import.meta.url,
    sourceMainPath,
  };
}
