import assert from "node:assert/strict";
import { CliError } from "./cli_error.ts";
import { failure, VERSION } from "./program.ts";
import { buildProgram } from "../main.ts";

Deno.test("a failure prints one dsys: line and exits with the error's code, else 1", () => {
  assert.deepEqual(failure(new CliError("No kv-server", 3)), {
    line: "dsys: No kv-server",
    exitCode: 3,
  });
  assert.deepEqual(failure(new Error("Bad address")), { line: "dsys: Bad address", exitCode: 1 });
});

Deno.test("dsys --version prints the version; commander's errors carry the dsys: prefix", () => {
  const program = buildProgram();
  let out = "";
  let err = "";
  const capture = (command: typeof program) => {
    command.exitOverride().configureOutput({
      writeOut: (text) => out += text,
      writeErr: (text) => err += text,
    });
    for (const sub of command.commands) capture(sub as typeof program);
  };
  capture(program);
  assert.throws(() => program.parse(["--version"], { from: "user" }), /0\.|version/);
  assert.equal(out, `${VERSION}\n`);
  assert.throws(() => program.parse(["kv", "--bogus"], { from: "user" }));
  assert.equal(err, "dsys: unknown option '--bogus'\n");
});

Deno.test("an option given after the subcommand of the command it belongs to says where it goes", () => {
  const errorOf = (args: string[]) => {
    const program = buildProgram();
    let err = "";
    const capture = (command: typeof program) => {
      command.exitOverride().configureOutput({ writeErr: (text) => err += text });
      for (const sub of command.commands) capture(sub as typeof program);
    };
    capture(program);
    assert.throws(() => program.parse(args, { from: "user" }));
    return err;
  };
  assert.equal(
    errorOf(["kv", "get", "k", "--endpoints", "127.0.0.1:7001"]),
    "dsys: unknown option '--endpoints': it is an option of dsys kv, so it goes before get " +
      "(dsys kv --endpoints … get …)\n",
  );
  assert.match(
    errorOf(["kv", "lease", "grant", "10", "-w", "json"]),
    /it is an option of dsys kv, so it goes before lease grant \(dsys kv -w … lease grant …\)/,
  );
  assert.equal(errorOf(["kv", "get", "k", "--bogus"]), "dsys: unknown option '--bogus'\n");
});

Deno.test("kv get --help shows the global kv options", () => {
  const get = buildProgram().commands.find((command) => command.name() === "kv")!
    .commands.find((command) => command.name() === "get")!;
  const help = get.helpInformation();
  for (const option of ["--endpoints", "--timeout", "--write-out", "DSYS_ENDPOINTS"]) {
    assert.ok(help.includes(option), `kv get --help shows ${option}`);
  }
});
