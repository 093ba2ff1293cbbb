/**
 * `dsys kv shell` on a real terminal: `script` (util-linux) gives it a pseudo-terminal, and the
 * test types as a user would, waiting each time for the shell's answer, never for a time.
 */
import assert from "node:assert/strict";
import { ProcessCluster } from "./process_cluster.ts";
import { selfCommand } from "../util/self_command.ts";

/** How long the whole conversation may take before the terminal is closed. */
const CONVERSATION_TIMEOUT_MS = 30_000;
/** Most output the test reads from the terminal: a bound on a shell gone wrong. */
const OUTPUT_CHARS_MAX = 100_000;
const PROMPT = "dsys> ";

/** Quotes `word` for the shell `script` runs the command with. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The terminal's lines so far, without carriage returns and terminal escape sequences. */
function screenLines(output: string): string[] {
  // deno-lint-ignore no-control-regex
  return output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").split(/\r?\n|\r/);
}

Deno.test("kv shell on a terminal: a prompt, line editing, history, and exit 1 after a bad line", async () => {
  const cluster = await ProcessCluster.start({ size: 1, transport: "tcp" });
  try {
    await cluster.waitForLeader(15_000);
    const command = selfCommand(["kv", "--endpoints", cluster.clientAddresses()[0], "shell"])
      .map(shellQuote).join(" ");
    const child = new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), CONVERSATION_TIMEOUT_MS);
    const writer = child.stdin.getWriter();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let output = "";
    /** Reads until `done(lines)` holds; fails if the terminal ends first. */
    const waitFor = async (what: string, done: (lines: string[]) => boolean) => {
      while (!done(screenLines(output))) {
        const { value, done: ended } = await reader.read();
        assert.ok(!ended, `The terminal ended before ${what}: ${JSON.stringify(output)}`);
        output += value;
        assert.ok(output.length <= OUTPUT_CHARS_MAX, `Too much output before ${what}`);
      }
    };
    const count = (lines: string[], line: string) => lines.filter((each) => each === line).length;
    const type = (keys: string) => writer.write(new TextEncoder().encode(keys));
    try {
      await waitFor("the prompt", () => output.includes(PROMPT));
      await type("put city Paris\r");
      await waitFor("OK", (lines) => count(lines, "OK") === 1);
      // Line editing: the mistyped last letter is erased before Enter.
      await type("get cityX\x7f\r");
      await waitFor("the value", (lines) => count(lines, "Paris") === 1);
      // History: the up arrow brings the get back.
      await type("\x1b[A\r");
      await waitFor("the value again", (lines) => count(lines, "Paris") === 2);
      await type("fly city\r");
      await waitFor("the refusal", (lines) => lines.some((line) => line.startsWith("dsys: ")));
      await type("\x04");
      const status = await child.status;
      assert.equal(status.code, 1, `a rejected line makes the exit 1: ${JSON.stringify(output)}`);
    } finally {
      clearTimeout(killer);
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited already.
      }
      await child.status;
    }
  } finally {
    await cluster.close();
  }
});
