/**
 * The timeline page in a real browser (headless Chromium): pages of real simulated runs, one that
 * passes and one whose check fails, checked for what they rendered and how the controls move.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runRaftTest } from "../labs/raft_harness.ts";
import { raftSuite } from "../labs/raft_suite.ts";
import type { LabTest } from "../labs/suite.ts";
import { runTraced } from "./traced_run.ts";
import { Browser } from "./testing/chromium.ts";

/** A lab test that fails on purpose once five peers have elected a leader. */
const plantedFailure: LabTest = {
  name: "planted failure",
  part: "trace",
  run: (context) =>
    runRaftTest(context, { servers: 5, unreliable: false, snapshot: false }, async (cfg) => {
      await cfg.sleep(1500);
      cfg.checkOneLeader();
      cfg.fatal("planted violation: the check fails here");
    }),
};

async function tracedPage(test: LabTest, seed: number): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dsys-trace-test-" });
  const path = join(dir, "trace.html");
  await runTraced(test, seed, { title: test.name, replay: `replay ${seed}` }, path, () => {});
  return { path, dir };
}

async function withPage(
  test: LabTest,
  seed: number,
  check: (browser: Browser) => Promise<void>,
): Promise<void> {
  const { path, dir } = await tracedPage(test, seed);
  const browser = await Browser.open(path);
  try {
    await check(browser);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const NOW = "Number(document.getElementById('now').dataset.ms)";
const EVENT = "Number(document.getElementById('now').dataset.event)";

Deno.test("a passing run's page draws a lane per server and its step button moves time", async () => {
  const election = raftSuite.find((test) => test.name === "initial election");
  assert.ok(election !== undefined);
  await withPage(election, 1, async (browser) => {
    assert.equal(await browser.evaluate("document.body.dataset.ready"), "true");
    const servers = "document.querySelectorAll('.lane-name[data-kind=server]').length";
    assert.equal(await browser.evaluate(servers), 3);
    assert.equal(await browser.evaluate("document.getElementById('violation').hidden"), true);
    assert.equal(await browser.evaluate(EVENT), 0);
    await browser.evaluate("document.getElementById('step').click()");
    assert.equal(await browser.evaluate(EVENT), 1);
    // The first events happen at 0 ms; stepping on reaches the first election, later.
    const moved = await browser.evaluate(`(() => {
      for (let k = 0; k < 1000 && ${NOW} === 0; k++) document.getElementById('step').click();
      return ${NOW};
    })()`);
    assert.ok(typeof moved === "number" && moved > 0, `Stepping left the time at ${moved} ms`);
    assert.match(
      String(await browser.evaluate("document.getElementById('event').textContent")),
      /ms: /,
    );
  });
});

Deno.test("a failing run's page marks the violation at its moment and jumps to it", async () => {
  await withPage(plantedFailure, 3, async (browser) => {
    const servers = "document.querySelectorAll('.lane-name[data-kind=server]').length";
    assert.equal(await browser.evaluate(servers), 5);
    assert.equal(await browser.evaluate("document.getElementById('violation').hidden"), false);
    assert.match(
      String(await browser.evaluate("document.getElementById('violation-text').textContent")),
      /planted violation/,
    );
    const failureMs = Number(
      await browser.evaluate("document.getElementById('violation').dataset.ms"),
    );
    assert.ok(
      failureMs >= 1500,
      `The violation is marked at ${failureMs} ms, before the check ran`,
    );
    await browser.evaluate("document.getElementById('to-failure').click()");
    assert.equal(await browser.evaluate(NOW), failureMs);
  });
});

Deno.test("the page jumps to a time typed in, and zooming keeps that time in view", async () => {
  await withPage(plantedFailure, 4, async (browser) => {
    await browser.evaluate(`(() => {
      document.getElementById('time').value = '700';
      document.getElementById('jump').click();
      document.getElementById('zoom-in').click();
    })()`);
    assert.equal(await browser.evaluate(NOW), 700);
    const shown = String(await browser.evaluate("document.getElementById('arrows').textContent"));
    assert.match(shown, /messages/);
  });
});
