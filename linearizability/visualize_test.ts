import assert from "node:assert/strict";
import { checkHistory } from "./checker.ts";
import type { Operation } from "./history.ts";
import { renderHtml, writeHtml } from "./visualize.ts";
import { op } from "./testing/histories.ts";

/** Throws unless every opened element is closed in order (void elements aside). */
function assertBalanced(html: string): void {
  const withoutCode = html.replace(/<(script|style)>[\s\S]*?<\/\1>/g, "");
  const voidElements = new Set(["meta", "br", "img", "input", "link", "hr"]);
  const open: string[] = [];
  for (const match of withoutCode.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>/g)) {
    const [, closing, name] = match;
    if (voidElements.has(name.toLowerCase())) continue;
    if (closing === "") open.push(name);
    else assert.equal(open.pop(), name, `</${name}> closes the wrong element`);
  }
  assert.deepEqual(open, [], "elements left open");
}

const violation = [
  op(0, "put", "k", "a", 0, 10),
  op(1, "append", "k", "<b>", 5, 20),
  op(2, "get", "k", "a<b>", 21, 30),
  op(0, "get", "k", "a<b><b>", 31, 40),
  op(1, "append", "other", "z", 0, Infinity),
];

Deno.test("the picture of a violation shows the illegal key's operations", () => {
  const result = checkHistory(violation);
  assert.equal(result.verdict, "illegal");
  const html = renderHtml(violation, result);
  assertBalanced(html);
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.match(html, /<h2>Key &quot;k&quot;: illegal<\/h2>/);
  assert.ok(!html.includes("Key &quot;other&quot;"), "only the illegal key is drawn");
  for (const client of [0, 1, 2]) assert.ok(html.includes(`client ${client}</div>`));
  // Values are escaped, never markup.
  assert.ok(!html.includes("<b>"));
  assert.ok(html.includes("append &quot;&lt;b&gt;&quot;"));
  // The prefix is numbered in order and the stuck read is marked.
  assert.match(html, /class="op linearized"[^>]*>#1 put &quot;a&quot;/);
  assert.match(html, /class="op linearized"[^>]*>#3 get &quot;a&lt;b&gt;&quot;/);
  assert.match(html, /class="op stuck"[^>]*>get &quot;a&lt;b&gt;&lt;b&gt;&quot;/);
  assert.match(
    html,
    /reads &quot;a&lt;b&gt;&lt;b&gt;&quot;, but the value here is &quot;a&lt;b&gt;&quot;/,
  );
  // Self-contained: no address to fetch.
  assert.ok(!/(src|href)=/.test(html));
});

Deno.test("the picture of a linearizable history numbers a linearization", () => {
  const history = violation.slice(0, 3);
  const html = renderHtml(history, checkHistory(history));
  assertBalanced(html);
  assert.match(html, /Linearizable\./);
  assert.match(html, />#3 get/);
  assert.ok(!html.includes('class="op stuck" style='));
});

Deno.test("the picture of an undecided check says so", () => {
  const history: Operation[] = [];
  for (let client = 0; client < 30; client++) history.push(op(client, "append", "k", "a", 0, 9));
  history.push(op(30, "get", "k", "a".repeat(31), 0, 9));
  const result = checkHistory(history, { timeoutMs: 1 });
  assert.equal(result.verdict, "timeout");
  const html = renderHtml(history, result);
  assertBalanced(html);
  assert.match(html, /Undecided: the check ran out of its 1 ms budget/);
  assert.match(html, /Stopped: the time budget ran out/);
});

Deno.test("chosen keys are drawn, and the page is written where asked", () => {
  const result = checkHistory(violation);
  const path = Deno.makeTempFileSync({ suffix: ".html" });
  try {
    writeHtml(path, violation, result, { keys: ["other"] });
    const html = Deno.readTextFileSync(path);
    assertBalanced(html);
    assert.match(html, /Key &quot;other&quot;: ok/);
    assert.match(html, /class="op (linearized|pending) unknown"/);
    assert.ok(!html.includes("<h2>Key &quot;k&quot;"));
  } finally {
    Deno.removeSync(path);
  }
});
