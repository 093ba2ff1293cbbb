/**
 * The options of issue 14's logs and metrics, in one place: `--log-format` on every server
 * (raft-peer, kv-server, coordinator, worker) and `--metrics` on those that serve metrics.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { InvalidArgumentError } from "commander";
import { LOG_FORMATS } from "../observe/log.ts";
import { parseAddress } from "../rpc/address.ts";

/** `--log-format text|json`: stamped text lines for people, one JSON object per line for tools. */
export function logFormatOption() {
  return new Option(
    "--log-format <format>",
    "log lines as text, or as one JSON object per line (ts, level, node, msg and fields)",
  ).choices(LOG_FORMATS).default("text" as const);
}

/** `--metrics <address>`: serve `GET /metrics` (Prometheus text format) on a host:port. */
export function metricsOption() {
  return new Option(
    "--metrics <address>",
    "serve Prometheus metrics at http://<address>/metrics (host:port, as 127.0.0.1:9100)",
  ).argParser((text) => {
    if (parseAddress(text).kind !== "tcp") {
      throw new InvalidArgumentError(`${text} is a Unix socket; give a host:port.`);
    }
    return text;
  });
}
