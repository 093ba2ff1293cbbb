import assert from "node:assert/strict";
import { formatLogLine, Logger } from "./log.ts";

const TS = Date.UTC(2026, 11, 3, 23, 55, 1, 123);

function recorded(format: "text" | "json", level?: "debug" | "info" | "warn" | "error") {
  const lines: string[] = [];
  const logger = new Logger({
    node: "kv-server 0",
    format,
    level,
    write: (line) => lines.push(line),
    nowMs: () => TS,
  });
  return { lines, logger };
}

Deno.test("a text line carries the UTC time in ms, the level, the node and the fields", () => {
  const { lines, logger } = recorded("text");
  logger.info("role changed", { role: "leader", term: 3, leader: "none", lease: true });
  logger.warn("refused", { reason: 'wrong cluster "a"', empty: "" });
  assert.deepEqual(lines, [
    "2026-12-03T23:55:01.123Z INFO  kv-server 0: role changed role=leader term=3 leader=none lease=true",
    '2026-12-03T23:55:01.123Z WARN  kv-server 0: refused reason="wrong cluster \\"a\\"" empty=""',
  ]);
});

Deno.test("a JSON line is one object with ts, level, node, msg and the fields", () => {
  const { lines, logger } = recorded("json");
  logger.error("stopped", { index: 7, detail: null });
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), {
    ts: "2026-12-03T23:55:01.123Z",
    level: "error",
    node: "kv-server 0",
    msg: "stopped",
    index: 7,
    detail: null,
  });
});

Deno.test("lines below the logger's level are dropped; debug is off by default", () => {
  const quiet = recorded("text");
  quiet.logger.debug("noise");
  assert.deepEqual(quiet.lines, []);
  const chatty = recorded("text", "debug");
  chatty.logger.debug("noise");
  assert.deepEqual(chatty.lines, ["2026-12-03T23:55:01.123Z DEBUG kv-server 0: noise"]);
  const strict = recorded("text", "warn");
  strict.logger.at("info")("hidden");
  strict.logger.at("error")("shown");
  assert.deepEqual(strict.lines, ["2026-12-03T23:55:01.123Z ERROR kv-server 0: shown"]);
});

Deno.test("a message with line breaks stays on one text line", () => {
  const line = formatLogLine(
    { ts: TS, level: "info", node: "worker", msg: "a\nb\r\nc", fields: {} },
    "text",
  );
  assert.equal(line, "2026-12-03T23:55:01.123Z INFO  worker: a\\nb\\r\\nc");
});

Deno.test("a field may not take a key every JSON line has", () => {
  assert.throws(
    () => formatLogLine({ ts: TS, level: "info", node: "n", msg: "m", fields: { msg: 1 } }, "json"),
    /Log field "msg" is a reserved key/,
  );
});
