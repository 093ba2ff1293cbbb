/**
 * `--metrics ADDR`: serves `GET /metrics` over HTTP with `Deno.serve`, in the Prometheus text
 * format, for a Prometheus server (or curl) to scrape.
 *
 * @module
 */
import { formatAddress, parseAddress } from "../rpc/address.ts";
import { errorText } from "../util/error_text.ts";
import { EXPOSITION_CONTENT_TYPE, type MetricsRegistry } from "./metrics.ts";

/** The path scraped. */
export const METRICS_PATH = "/metrics";

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `host:port` it listens on, with the real port when port 0 was asked for. */
  readonly address: string;
  /** Stops listening and resolves once the server is gone. */
  close(): Promise<void>;
}

/**
 * Serves `registry` at `http://<address>/metrics`; `address` is `host:port` (port 0 picks a free
 * one). Throws a one-line error naming the address when it cannot listen.
 *
 * @example
 * ```ts
 * const server = await serveMetrics("127.0.0.1:0", new MetricsRegistry());
 * console.log(`curl http://${server.address}/metrics`);
 * await server.close();
 * ```
 */
export async function serveMetrics(
  address: string,
  registry: MetricsRegistry,
): Promise<MetricsServer> {
  const parsed = parseAddress(address);
  if (parsed.kind !== "tcp") {
    throw new Error(`Cannot serve metrics on ${address}: give a host:port, not a Unix socket`);
  }
  return await new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname: parsed.hostname,
        port: parsed.port,
        onListen: (bound) => {
          resolve({
            address: formatAddress({ kind: "tcp", hostname: bound.hostname, port: bound.port }),
            close: () => server.shutdown(),
          });
        },
      }, (request) => respond(request, registry));
    } catch (error) {
      reject(new Error(`Cannot serve metrics on ${address}: ${errorText(error)}`));
    }
  });
}

function respond(request: Request, registry: MetricsRegistry): Response {
  if (new URL(request.url).pathname !== METRICS_PATH) {
    return new Response(`Not found; metrics are at ${METRICS_PATH}\n`, { status: 404 });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Only GET and HEAD\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  return new Response(registry.text(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } });
}
