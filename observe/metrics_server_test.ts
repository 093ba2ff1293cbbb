import assert from "node:assert/strict";
import { EXPOSITION_CONTENT_TYPE, MetricsRegistry } from "./metrics.ts";
import { serveMetrics } from "./metrics_server.ts";

Deno.test("GET /metrics answers the registry's text; other paths and methods are refused", async () => {
  const registry = new MetricsRegistry();
  registry.counter("dsys_hits_total", "Hits.").inc(5);
  const server = await serveMetrics("127.0.0.1:0", registry);
  try {
    const ok = await fetch(`http://${server.address}/metrics`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("content-type"), EXPOSITION_CONTENT_TYPE);
    assert.equal(await ok.text(), registry.text());
    const missing = await fetch(`http://${server.address}/other`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const posted = await fetch(`http://${server.address}/metrics`, { method: "POST" });
    assert.equal(posted.status, 405);
    await posted.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("a metrics address that is taken or a Unix socket is refused, naming it", async () => {
  const first = await serveMetrics("127.0.0.1:0", new MetricsRegistry());
  try {
    await assert.rejects(
      () => serveMetrics(first.address, new MetricsRegistry()),
      new RegExp(`Cannot serve metrics on ${first.address}: `),
    );
  } finally {
    await first.close();
  }
  await assert.rejects(
    () => serveMetrics("unix:/tmp/m.sock", new MetricsRegistry()),
    /Cannot serve metrics on unix:\/tmp\/m.sock: give a host:port/,
  );
});
