/**
 * The command line as a whole: which subcommands it has, where each is declared, and that every
 * help page ends with an example.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { buildProgram } from "./main.ts";

/** The help page `dsys <names…> --help` prints. */
function helpOf(command: CommandUnknownOpts): string {
  let text = "";
  command.configureOutput({ writeOut: (part) => text += part });
  command.outputHelp();
  return text;
}

/** Every subcommand below `command`, nested ones included, with its full name. */
function subcommandsOf(command: CommandUnknownOpts, prefix = ""): [string, CommandUnknownOpts][] {
  return command.commands.flatMap((sub) => {
    const name = `${prefix}${sub.name()}`;
    return [[name, sub] as [string, CommandUnknownOpts], ...subcommandsOf(sub, `${name} `)];
  });
}

Deno.test("dsys X is declared in commands/x.ts (the test suites in commands/test_suites.ts, kv in kv_cli/kv.ts)", async () => {
  const names = buildProgram().commands.map((command) => command.name());
  assert.deepEqual(names, [
    "corpus",
    "sequential",
    "coordinator",
    "worker",
    "mr",
    "raft-peer",
    "kv-server",
    "propose",
    "kv",
    "status",
    "leader",
    "member",
    "check",
    "test",
    "bench",
    "demo",
  ]);
  for (const name of names) {
    const file = name === "test"
      ? "commands/test_suites"
      : name === "kv"
      ? "kv_cli/kv"
      : `commands/${name.replaceAll("-", "_")}`;
    const text = await Deno.readTextFile(new URL(`./${file}.ts`, import.meta.url));
    assert.ok(text.includes(`new Command("${name}")`), `${file}.ts declares ${name}`);
  }
});

Deno.test("every subcommand's help ends with an example", () => {
  const subcommands = subcommandsOf(buildProgram());
  assert.ok(subcommands.length > 11, "kv's own subcommands are included");
  for (const [name, command] of subcommands) {
    assert.match(helpOf(command), /\nExample:\n( {2}\S.*\n)+$/, `dsys ${name} --help`);
    assert.match(helpOf(command), /\n {2}.*dsys /, `dsys ${name} --help runs dsys`);
  }
});
