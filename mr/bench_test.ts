import assert from "node:assert/strict";
import { formatLogLine } from "../observe/log.ts";
import { timingsOf } from "./bench.ts";

Deno.test("timingsOf finds a worker's stamped timings line and sequential's plain one", () => {
  const phases = "read input 1.06 s · map 4.79 s";
  const stamped = formatLogLine(
    { ts: 0, level: "info", node: "worker 7", msg: `timings: ${phases}`, fields: {} },
    "text",
  );
  assert.equal(timingsOf(`starting\n${stamped}\n`), phases);
  assert.equal(timingsOf(`timings: ${phases}\n`), phases);
  assert.equal(timingsOf("no such line\n"), "no timings printed");
});
