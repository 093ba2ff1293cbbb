/**
 * The timeline page: one self-contained HTML file (inline style, script and data; nothing is
 * fetched) that shows a simulated run over virtual time, with controls to play, pause, step to the
 * next event, jump to a time and zoom, and filters by lane and message kind.
 *
 * @module
 */
import { PAGE_SCRIPT } from "./page_script.ts";
import type { TraceData } from "./trace_data.ts";

const PAGE_STYLE = `
body { font: 13px sans-serif; margin: 8px; color: #222; }
h1 { font-size: 16px; margin: 0 0 4px; }
code { background: #eee; padding: 1px 4px; }
#controls button, #controls input { margin-right: 4px; }
#controls, #filters, #legend { margin: 6px 0; }
#violation { background: #ffebee; border: 1px solid #e53935; padding: 6px; margin: 6px 0;
  white-space: pre-wrap; }
#event { font-family: monospace; margin: 4px 0; min-height: 1.2em; }
#lane-list { display: none; }
canvas { display: block; border: 1px solid #ddd; }
.swatch { display: inline-block; width: 10px; height: 10px; margin: 0 2px 0 8px; }
`;

const PAGE_BODY = `
<h1 id="title"></h1>
<div>seed <code id="seed"></code> · replay: <code id="replay"></code></div>
<div id="violation" hidden><b>Violation</b> <span id="violation-text"></span>
  <button id="to-failure">jump to it</button></div>
<div id="controls">
  <button id="play">play</button><button id="pause">pause</button>
  <button id="step">step</button>
  <input id="time" type="number" min="0" step="any" placeholder="time (ms)" size="10">
  <button id="jump">jump</button>
  <button id="zoom-in">zoom in</button><button id="zoom-out">zoom out</button>
  <span id="now"></span> · <span id="arrows"></span> <span id="notes"></span>
</div>
<div id="legend">
  <span class="swatch" style="background:#43a047"></span>leader
  <span class="swatch" style="background:#fb8c00"></span>candidate
  <span class="swatch" style="background:#ffd54f"></span>pre-candidate
  <span class="swatch" style="background:#b0bec5"></span>follower
  <span class="swatch" style="background:#333"></span>crashed
  <span class="swatch" style="background:#e53935"></span>cut off in a minority
  <span class="swatch" style="background:#ff9800"></span>partly cut off
  <span class="swatch" style="background:#ef9a9a"></span>client call without reply
  <span class="swatch" style="background:#90caf9"></span>client call ·
  arrows: solid delivered, dashed delayed ≥ 200 ms, ✕ red dropped, grey dotted unreachable;
  log boxes: filled committed, outlined not yet, grey in a snapshot
</div>
<div id="filters"></div>
<div id="event"></div>
<canvas id="timeline"></canvas>
<canvas id="logs"></canvas>
<ul id="lane-list"></ul>
`;

/** The page for `data`: HTML with the data as inline JSON (`<` escaped, so it cannot end it). */
export function tracePage(data: TraceData): string {
  const json = JSON.stringify(data).replaceAll("<", "\\u003c");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>dsys trace: ${escapeHtml(data.title)} (seed ${data.seed})</title>
<style>${PAGE_STYLE}</style></head>
<body>${PAGE_BODY}
<script type="application/json" id="trace-data">${json}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
