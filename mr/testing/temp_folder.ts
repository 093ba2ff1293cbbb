/**
 * A temporary folder for one test, removed afterwards whether the test passes or not.
 *
 * @module
 */

/** Runs `body` with a fresh folder named after `prefix` and removes the folder after. */
export async function withTempFolder(
  prefix: string,
  body: (folder: string) => Promise<void>,
): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix });
  try {
    await body(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}
