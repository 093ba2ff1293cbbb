/**
 * Checks metrics text with Prometheus's own parser and linter, `promtool check metrics`
 * (Debian's `prometheus` package; `.ci/run` installs it). Missing, it fails the test with a
 * message saying how to install it: a check that silently passes would check nothing.
 *
 * @module
 */

/** Where Debian puts promtool; `PROMTOOL` overrides it. */
const DEFAULT_PROMTOOL = "promtool";

/**
 * Throws unless `promtool check metrics` accepts `text` with no problem at all (exit 0, nothing
 * printed): parse errors and lint warnings both fail.
 */
export async function assertPromtoolAccepts(
  text: string,
  program = Deno.env.get("PROMTOOL") ?? DEFAULT_PROMTOOL,
): Promise<void> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `${program} is not installed: install Debian's prometheus package ` +
        "(apt-get install -y prometheus) to check the metrics with Prometheus's parser",
    );
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  const printed = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (output.code !== 0 || printed.trim() !== "") {
    throw new Error(`promtool check metrics exited with ${output.code}: ${printed.trim()}`);
  }
}
