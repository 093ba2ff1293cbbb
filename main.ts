/**
 * dsys: MapReduce, Raft and a linearizable key/value service, as one program with subcommands.
 * This file only assembles the subcommands, each declared in `commands/<name>.ts`.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { corpusCommand } from "./commands/corpus.ts";
import { configureProgram, failure } from "./cli/program.ts";
import { sequentialCommand } from "./commands/sequential.ts";
import { coordinatorCommand } from "./commands/coordinator.ts";
import { workerCommand } from "./commands/worker.ts";
import { mrCommand } from "./commands/mr.ts";
import { raftPeerCommand } from "./commands/raft_peer.ts";
import { kvServerCommand } from "./commands/kv_server.ts";
import { proposeCommand } from "./commands/propose.ts";
import { kvCommand } from "./kv_cli/kv.ts";
import { statusCommand } from "./commands/status.ts";
import { leaderCommand } from "./commands/leader.ts";
import { memberCommand } from "./commands/member.ts";
import { checkCommand } from "./commands/check.ts";
import { testCommand } from "./commands/test_suites.ts";
import { benchCommand } from "./commands/bench.ts";
import { demoCommand } from "./commands/demo.ts";

/** The whole command line, its subcommands in the order `dsys --help` lists them. */
export function buildProgram(): Command {
  const program = new Command()
    .name("dsys")
    .description(
      "MapReduce, Raft and a linearizable key/value service, for real and in simulation.",
    );
  for (
    const command of [
      corpusCommand(),
      sequentialCommand(),
      coordinatorCommand(),
      workerCommand(),
      mrCommand(),
      raftPeerCommand(),
      kvServerCommand(),
      proposeCommand(),
      kvCommand(),
      statusCommand(),
      leaderCommand(),
      memberCommand(),
      checkCommand(),
      testCommand(),
      benchCommand(),
      demoCommand(),
    ]
  ) program.addCommand(command);
  configureProgram(program);
  return program;
}

if (import.meta.main) {
  try {
    await buildProgram().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    const { line, exitCode } = failure(error);
    console.error(line);
    Deno.exit(exitCode);
  }
}
