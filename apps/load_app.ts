/**
 * Finds the application a command names: a built-in (`wc`, `indexer`, …) or a module on disk
 * that exports `map` and `reduce`.
 *
 * @module
 */
import { builtInAppNames, builtInApps } from "./built_in.ts";
import type { CombineFunction, MapFunction, MapReduceApp, ReduceFunction } from "./app.ts";

/**
 * Loads the built-in application called `nameOrPath`, or imports the module at that path
 * (relative to the current folder) and checks that it exports `map` and `reduce` functions.
 * A name that is neither a built-in nor a path is an error that lists the built-ins.
 *
 * @example
 * ```ts
 * const app = await loadApp("wc");
 * const pairs = await app.map("a.txt", "to be or not to be");
 * ```
 */
export async function loadApp(nameOrPath: string): Promise<MapReduceApp> {
  const builtIn = Object.hasOwn(builtInApps, nameOrPath) ? builtInApps[nameOrPath] : undefined;
  if (builtIn !== undefined) return builtIn;
  if (!looksLikeModulePath(nameOrPath)) {
    throw new Error(
      `Unknown MapReduce app "${nameOrPath}": use a module path (./my_app.ts) or one of ` +
        builtInAppNames.join(", "),
    );
  }
  const url = moduleUrl(nameOrPath);
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot load MapReduce app ${nameOrPath}: ${reason}`);
  }
  const { map, reduce, combine } = module;
  if (typeof map !== "function" || typeof reduce !== "function") {
    throw new Error(
      `MapReduce app ${nameOrPath} must export functions map(filename, contents) and ` +
        `reduce(key, values)`,
    );
  }
  if (combine !== undefined && typeof combine !== "function") {
    throw new Error(`MapReduce app ${nameOrPath} exports a combine that is not a function`);
  }
  const app = { name: nameOrPath, map: map as MapFunction, reduce: reduce as ReduceFunction };
  return combine === undefined ? app : { ...app, combine: combine as CombineFunction };
}

/** Whether `text` is meant as a file rather than a built-in name. */
function looksLikeModulePath(text: string): boolean {
  return /[\\/]/.test(text) || /\.(ts|tsx|js|mjs|jsx|mts)$/.test(text) ||
    text.startsWith("file:");
}

/** The `file:` URL of `path`, relative paths taken from the current folder. */
function moduleUrl(path: string): URL {
  if (path.startsWith("file:")) return new URL(path);
  const isAbsolute = path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path);
  const absolute = isAbsolute ? path : `${Deno.cwd()}/${path}`;
  const segments = absolute.replaceAll("\\", "/").split("/").map(encodeURIComponent);
  const joined = segments.join("/").replace(/^([A-Za-z])%3A/, "$1:");
  return new URL(`file://${joined.startsWith("/") ? "" : "/"}${joined}`);
}
