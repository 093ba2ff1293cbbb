import assert from "node:assert/strict";
import { DEFAULT_TASK_TIMEOUT_MS } from "../mr/mod.ts";
import { coordinatorCommand } from "./coordinator.ts";

Deno.test("coordinator --help shows --task-timeout's default in seconds, as the option is read", () => {
  const command = coordinatorCommand();
  const help = command.helpInformation().replace(/\s+/g, " ");
  assert.match(
    help,
    /--task-timeout <seconds> re-issue a task not reported in time \(default: 10\)/,
  );
  const option = command.options.find((option) => option.long === "--task-timeout");
  assert.equal(option?.defaultValue, DEFAULT_TASK_TIMEOUT_MS, "the program gets milliseconds");
  assert.equal(DEFAULT_TASK_TIMEOUT_MS, 10_000);
});
