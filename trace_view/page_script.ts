/**
 * The timeline page's script, as a string the page builder inlines (a module, not a file read at
 * run time, so a bundled `dsys` carries it). Plain browser JavaScript: it reads the rows from the
 * page's JSON, indexes them once, and draws only the visible window of time on a canvas.
 *
 * How the page bounds its work: every row is indexed by time, so a frame finds the window's
 * first message, state and client call by binary search and stops at the window's end; it draws
 * at most {@linkcode ARROWS_MAX} arrows (every k-th when more fall in the window, and says so);
 * and the log panel replays log rows forward from its last position, not from the start.
 *
 * @module
 */

/** The most message arrows one frame draws. */
export const ARROWS_MAX = 3000;

/** The page's script. (No template literal inside: it is one.) */
export const PAGE_SCRIPT = String.raw`
(function () {
"use strict";
var ARROWS_MAX = ${ARROWS_MAX};
var LONG_DELAY_MS = 200;
var LANE_H = 30, LEFT = 130, AXIS_H = 22, LOG_ROW_H = 22, BOX_W = 16;
var ROLE_COLORS = { leader: "#43a047", candidate: "#fb8c00", precandidate: "#ffd54f",
  "pre-candidate": "#ffd54f", follower: "#b0bec5", learner: "#ce93d8" };
var PALETTE = ["#1e88e5", "#8e24aa", "#00897b", "#f4511e", "#6d4c41", "#3949ab", "#c0ca33",
  "#d81b60", "#00acc1", "#5e35b1", "#7cb342", "#fdd835"];
var data = JSON.parse(document.getElementById("trace-data").textContent);
var rows = data.rows, lanes = data.lanes;
var times = new Float64Array(rows.length);
var laneRows = lanes.map(function () { return { state: [], crash: [], reach: [], log: [] }; });
var messages = [], kinds = {}, calls = [], callOf = {}, serverLanes = {};
var maxTravel = 0;
for (var i = 0; i < rows.length; i++) {
  var row = rows[i];
  times[i] = row[1];
  if (row[0] === "m") {
    messages.push(i);
    kinds[row[5]] = true;
    maxTravel = Math.max(maxTravel, row[1] - row[2]);
  } else if (row[0] === "s") { laneRows[row[2]].state.push(i); serverLanes[row[2]] = true; }
  else if (row[0] === "c") { laneRows[row[2]].crash.push(i); serverLanes[row[2]] = true; }
  else if (row[0] === "p") laneRows[row[2]].reach.push(i);
  else if (row[0] === "l") laneRows[row[2]].log.push(i);
  else if (row[0] === "o") {
    callOf[row[3]] = { lane: row[2], t0: row[1], t1: Infinity, text: row[4], out: "" };
    calls.push(callOf[row[3]]);
  } else if (row[0] === "r") { callOf[row[3]].t1 = row[1]; callOf[row[3]].out = row[4]; }
}
var messageTimes = new Float64Array(messages.map(function (m) { return times[m]; }));
var callTimes = new Float64Array(calls.map(function (c) { return c.t0; }));
var longestCall = 0;
calls.forEach(function (c) { if (c.t1 !== Infinity) longestCall = Math.max(longestCall, c.t1 - c.t0); });
var endMs = Math.max(rows.length ? times[rows.length - 1] : 0,
  data.failure ? data.failure.atMs : 0, 1);
var kindNames = Object.keys(kinds).sort();
var kindColor = {};
kindNames.forEach(function (k, n) { kindColor[k] = PALETTE[n % PALETTE.length]; });
var shownLane = lanes.map(function () { return true; });
var shownKind = {};
kindNames.forEach(function (k) { shownKind[k] = true; });

var view = { cursor: -1, nowMs: 0, startMs: 0, spanMs: Math.min(endMs * 1.1, 2000), playing: false,
  lastFrame: 0 };
var $ = function (id) { return document.getElementById(id); };
var canvas = $("timeline"), ctx = canvas.getContext("2d");
var logCanvas = $("logs"), logCtx = logCanvas.getContext("2d");

// The first index of sorted array a whose value is > x (or >= x when orEqual).
function upper(a, x, orEqual) {
  var lo = 0, hi = a.length;
  while (lo < hi) {
    var mid = (lo + hi) >> 1;
    if (orEqual ? a[mid] < x : a[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}
// The last of row indices list (sorted) that is <= at, or -1.
function lastAt(list, at) {
  var lo = 0, hi = list.length;
  while (lo < hi) { var mid = (lo + hi) >> 1; if (list[mid] <= at) lo = mid + 1; else hi = mid; }
  return lo - 1;
}
function visibleLanes() {
  var out = [];
  for (var l = 0; l < lanes.length; l++) if (shownLane[l]) out.push(l);
  return out;
}
function xOf(ms) { return LEFT + (ms - view.startMs) / view.spanMs * (canvas.width - LEFT - 10); }
function msOf(x) { return view.startMs + (x - LEFT) / (canvas.width - LEFT - 10) * view.spanMs; }
function rowVisible(row) {
  if (row[0] === "m") return shownKind[row[5]] && (shownLane[row[3]] || shownLane[row[4]]);
  return shownLane[row[2]];
}
function setCursor(index) {
  view.cursor = Math.max(-1, Math.min(rows.length - 1, index));
  view.nowMs = view.cursor < 0 ? 0 : times[view.cursor];
  if (view.nowMs < view.startMs || view.nowMs > view.startMs + view.spanMs) center(view.nowMs);
}
function center(ms) { view.startMs = Math.max(0, ms - view.spanMs / 2); }
function jumpTo(ms) {
  setCursor(upper(times, ms, false) - 1);
  view.nowMs = ms;
  center(ms);
  draw();
}
function step() {
  for (var n = view.cursor + 1; n < rows.length; n++) {
    if (rowVisible(rows[n])) { setCursor(n); draw(); return; }
  }
}

function laneY(order) { return AXIS_H + order * LANE_H; }
function drawAxis(width) {
  ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, width, AXIS_H);
  ctx.fillStyle = "#555"; ctx.font = "11px sans-serif";
  var stepMs = Math.pow(10, Math.floor(Math.log10(view.spanMs / 5)));
  if (view.spanMs / stepMs > 12) stepMs *= 2;
  if (view.spanMs / stepMs > 12) stepMs *= 2.5;
  for (var t = Math.ceil(view.startMs / stepMs) * stepMs; t <= view.startMs + view.spanMs; t += stepMs) {
    var x = xOf(t);
    ctx.fillRect(x, AXIS_H - 5, 1, 5);
    ctx.fillText(Math.round(t * 10) / 10 + " ms", x + 2, 12);
  }
}
function drawLane(lane, y, width) {
  var r = laneRows[lane];
  ctx.fillStyle = "#222"; ctx.font = "12px sans-serif";
  ctx.fillText(lanes[lane], 6, y + 18);
  var endX = Math.min(width - 10, xOf(endMs));
  if (serverLanes[lane]) {
    var first = Math.max(0, lastAt(r.state, upper(times, view.startMs, false) - 1));
    for (var s = first; s < r.state.length; s++) {
      var row = rows[r.state[s]];
      if (row[1] > view.startMs + view.spanMs) break;
      var x0 = Math.max(LEFT, xOf(row[1]));
      var x1 = s + 1 < r.state.length ? Math.min(endX, xOf(rows[r.state[s + 1]][1])) : endX;
      ctx.fillStyle = ROLE_COLORS[row[3]] || "#90a4ae";
      ctx.fillRect(x0, y + 4, Math.max(1, x1 - x0), LANE_H - 10);
      if (x1 - x0 > 26) {
        ctx.fillStyle = "#000"; ctx.font = "10px sans-serif";
        ctx.fillText("T" + row[4] + (row[3] === "leader" ? " L" : ""), x0 + 3, y + 17);
      }
    }
    drawCrashes(r.crash, y);
    drawReach(r.reach, y);
  }
  drawCalls(lane, y);
}
// Shades the spans where a server was down.
function drawCrashes(list, y) {
  for (var n = 0; n < list.length; n++) {
    var row = rows[list[n]];
    if (row[3] !== 0) continue;
    var until = n + 1 < list.length ? rows[list[n + 1]][1] : endMs;
    if (until < view.startMs || row[1] > view.startMs + view.spanMs) continue;
    var x0 = Math.max(LEFT, xOf(row[1])), x1 = Math.min(canvas.width - 10, xOf(until));
    ctx.fillStyle = "rgba(30,30,30,0.85)";
    ctx.fillRect(x0, y + 4, Math.max(2, x1 - x0), LANE_H - 10);
    if (x1 - x0 > 50) {
      ctx.fillStyle = "#fff"; ctx.font = "10px sans-serif";
      ctx.fillText("crashed", x0 + 3, y + 17);
    }
  }
}
// Marks where a server reaches only some servers: red when it and those are no majority.
function drawReach(list, y) {
  var servers = Object.keys(serverLanes).length;
  for (var n = 0; n < list.length; n++) {
    var row = rows[list[n]];
    if (row[3].length === servers - 1) continue;
    var until = n + 1 < list.length ? rows[list[n + 1]][1] : endMs;
    if (until < view.startMs || row[1] > view.startMs + view.spanMs) continue;
    var x0 = Math.max(LEFT, xOf(row[1])), x1 = Math.min(canvas.width - 10, xOf(until));
    var minority = 2 * (row[3].length + 1) <= servers;
    ctx.fillStyle = minority ? "rgba(229,57,53,0.8)" : "rgba(255,152,0,0.6)";
    ctx.fillRect(x0, y + LANE_H - 8, Math.max(2, x1 - x0), 4);
    if (x1 - x0 > 60) {
      ctx.fillStyle = minority ? "#b71c1c" : "#e65100"; ctx.font = "9px sans-serif";
      ctx.fillText("sees " + (row[3].map(function (l) { return lanes[l]; }).join(" ") || "no one"),
        x0 + 30, y + LANE_H - 9, x1 - x0 - 32);
    }
  }
}
function drawCalls(lane, y) {
  var first = upper(callTimes, view.startMs - longestCall, true);
  for (var n = first; n < calls.length && calls[n].t0 <= view.startMs + view.spanMs; n++) {
    var c = calls[n];
    if (c.lane !== lane || c.t1 < view.startMs) continue;
    var x0 = Math.max(LEFT, xOf(c.t0)), x1 = Math.min(canvas.width - 10, xOf(Math.min(c.t1, endMs)));
    ctx.fillStyle = c.t1 === Infinity ? "#ef9a9a" : "#90caf9";
    ctx.fillRect(x0, y + 6, Math.max(2, x1 - x0), LANE_H - 12);
    if (x1 - x0 > 40) {
      ctx.fillStyle = "#0d47a1"; ctx.font = "10px sans-serif";
      ctx.fillText(c.text + " -> " + c.out, x0 + 2, y + 18, x1 - x0 - 4);
    }
  }
}
function drawArrows(orderOf) {
  var first = upper(messageTimes, view.startMs, true);
  var last = upper(messageTimes, view.startMs + view.spanMs + maxTravel, false);
  var stride = Math.max(1, Math.ceil((last - first) / ARROWS_MAX));
  var drawn = 0;
  var labels = (last - first) < 300;
  for (var n = first; n < last; n += stride) {
    var row = rows[messages[n]];
    if (row[2] > view.startMs + view.spanMs || !shownKind[row[5]]) continue;
    var from = orderOf[row[3]], to = orderOf[row[4]];
    if (from === undefined || to === undefined) continue;
    drawArrow(row, from, to, labels);
    drawn++;
  }
  $("arrows").textContent = stride > 1
    ? "showing " + drawn + " of " + (last - first) + " messages (every " + stride + "th): zoom in"
    : drawn + " messages in view";
}
function drawArrow(row, from, to, labels) {
  var x0 = xOf(row[2]), x1 = xOf(row[1]);
  var y0 = laneY(from) + LANE_H / 2, y1 = laneY(to) + LANE_H / 2;
  if (from === to) y1 = y0 + LANE_H / 3;
  var lost = row[9] !== "d";
  var color = lost ? (row[9] === "u" ? "#9e9e9e" : "#e53935") : kindColor[row[5]];
  ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 1;
  ctx.setLineDash(row[1] - row[2] >= LONG_DELAY_MS ? [6, 4] : row[9] === "u" ? [2, 3] : []);
  var ex = lost ? x0 + (x1 - x0) * 0.6 : x1, ey = lost ? y0 + (y1 - y0) * 0.6 : y1;
  ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(ex, ey); ctx.stroke();
  ctx.setLineDash([]);
  if (lost) {
    ctx.beginPath(); ctx.moveTo(ex - 4, ey - 4); ctx.lineTo(ex + 4, ey + 4);
    ctx.moveTo(ex + 4, ey - 4); ctx.lineTo(ex - 4, ey + 4); ctx.stroke();
  } else {
    var angle = Math.atan2(y1 - y0, x1 - x0);
    ctx.beginPath(); ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - 7 * Math.cos(angle - 0.4), y1 - 7 * Math.sin(angle - 0.4));
    ctx.lineTo(x1 - 7 * Math.cos(angle + 0.4), y1 - 7 * Math.sin(angle + 0.4));
    ctx.fill();
  }
  if (labels) {
    ctx.font = "9px sans-serif";
    ctx.fillText(describeMessage(row, true), (x0 + ex) / 2 + 3, (y0 + ey) / 2 - 2);
  }
}
function describeMessage(row, short) {
  var kind = short ? row[5].replace(/[a-z]+/g, "") || row[5] : row[5];
  var text = kind + (row[6] >= 0 ? " t" + row[6] : "") + (row[7] > 0 ? " +" + row[7] : "") +
    (row[8] === 1 ? " ok" : row[8] === 0 ? " no" : "");
  var fate = { d: "", x: " DROPPED", u: " UNREACHABLE", k: " SERVER DEAD" }[row[9]];
  if (!short && row[1] - row[2] >= LONG_DELAY_MS) fate += " (delayed " + Math.round(row[1] - row[2]) + " ms)";
  return text + fate;
}
function describeRow(row) {
  if (!row) return "start of the run";
  var at = row[1].toFixed(1) + " ms: ";
  switch (row[0]) {
    case "m": return at + lanes[row[3]] + " -> " + lanes[row[4]] + ": " + describeMessage(row, false);
    case "s": return at + lanes[row[2]] + " is " + row[3] + " in term " + row[4] + ", commit " +
      row[5] + ", applied " + row[6] + ", snapshot " + row[7];
    case "l": return at + lanes[row[2]] + "'s log now ends at " + row[5];
    case "c": return at + lanes[row[2]] + (row[3] ? " started" : " crashed");
    case "p": return at + lanes[row[2]] + " reaches " + (row[3].map(function (l) { return lanes[l]; }).join(", ") || "no one");
    case "o": return at + lanes[row[2]] + " calls " + row[4];
    default: return at + lanes[row[2]] + " got " + row[4];
  }
}
function drawFailure() {
  if (!data.failure) return;
  var x = xOf(data.failure.atMs);
  if (x < LEFT || x > canvas.width) return;
  ctx.fillStyle = "rgba(229,57,53,0.9)";
  ctx.fillRect(x - 1, 0, 3, canvas.height);
  ctx.font = "bold 12px sans-serif";
  ctx.fillText("violation", x + 4, AXIS_H + 12);
}
function draw() {
  var order = visibleLanes(), orderOf = {};
  order.forEach(function (l, k) { orderOf[l] = k; });
  canvas.width = Math.max(600, window.innerWidth - 20);
  canvas.height = AXIS_H + order.length * LANE_H + 4;
  var width = canvas.width;
  ctx.clearRect(0, 0, width, canvas.height);
  drawAxis(width);
  order.forEach(function (lane, k) {
    if (k % 2 === 0) { ctx.fillStyle = "#f5f5f5"; ctx.fillRect(0, laneY(k), width, LANE_H); }
    drawLane(lane, laneY(k), width);
  });
  drawArrows(orderOf);
  drawFailure();
  ctx.fillStyle = "#1565c0";
  ctx.fillRect(xOf(view.nowMs) - 1, 0, 2, canvas.height);
  $("now").textContent = view.nowMs.toFixed(1) + " ms, event " + (view.cursor + 1) + " of " + rows.length;
  $("now").dataset.ms = String(view.nowMs);
  $("now").dataset.event = String(view.cursor + 1);
  $("event").textContent = describeRow(rows[view.cursor]);
  drawLogs(order);
}

var logCache = { at: -1, logs: lanes.map(function () { return [0]; }) };
// The logs as of the cursor: forward from the cached position, or again from the start.
function logsAt(cursor) {
  if (cursor < logCache.at) logCache = { at: -1, logs: lanes.map(function () { return [0]; }) };
  for (var n = logCache.at + 1; n <= cursor; n++) {
    var row = rows[n];
    if (row[0] !== "l") continue;
    var log = logCache.logs[row[2]];
    log.length = Math.min(log.length, row[3]);
    while (log.length < row[3]) log.push(-1);
    for (var k = 0; k < row[4].length; k++) log.push(row[4][k]);
  }
  logCache.at = cursor;
  return logCache.logs;
}
function drawLogs(order) {
  var servers = order.filter(function (l) { return serverLanes[l]; });
  var logs = logsAt(view.cursor);
  logCanvas.width = canvas.width;
  logCanvas.height = 16 + servers.length * LOG_ROW_H;
  logCtx.clearRect(0, 0, logCanvas.width, logCanvas.height);
  var fit = Math.floor((logCanvas.width - LEFT - 10) / BOX_W);
  var last = 0;
  servers.forEach(function (l) { last = Math.max(last, logs[l].length - 1); });
  var firstIndex = Math.max(1, last - fit + 1);
  logCtx.font = "9px sans-serif"; logCtx.fillStyle = "#555";
  for (var index = firstIndex; index <= last; index++) {
    if (index % 5 === 0) logCtx.fillText(String(index), LEFT + (index - firstIndex) * BOX_W, 10);
  }
  servers.forEach(function (lane, k) {
    var y = 16 + k * LOG_ROW_H;
    var s = laneRows[lane].state[lastAt(laneRows[lane].state, view.cursor)];
    var state = s === undefined ? null : rows[s];
    var crashedAt = lastAt(laneRows[lane].crash, view.cursor);
    var down = crashedAt >= 0 && rows[laneRows[lane].crash[crashedAt]][3] === 0;
    logCtx.fillStyle = "#222"; logCtx.font = "11px sans-serif";
    logCtx.fillText(lanes[lane] + (down ? " (down)" : state ? " " + state[3][0].toUpperCase() +
      " T" + state[4] + " c" + state[5] + " a" + state[6] : ""), 4, y + 14, LEFT - 8);
    var log = logs[lane], commit = state ? state[5] : 0, snap = state ? state[7] : 0;
    for (var index = firstIndex; index < log.length; index++) {
      var x = LEFT + (index - firstIndex) * BOX_W;
      var term = log[index];
      var color = term < 0 || index <= snap ? "#bdbdbd" : PALETTE[term % PALETTE.length];
      logCtx.strokeStyle = color; logCtx.fillStyle = color;
      if (index <= commit) logCtx.fillRect(x, y + 2, BOX_W - 2, LOG_ROW_H - 6);
      else logCtx.strokeRect(x + 0.5, y + 2.5, BOX_W - 3, LOG_ROW_H - 7);
      logCtx.fillStyle = index <= commit ? "#fff" : color; logCtx.font = "9px sans-serif";
      if (term >= 0) logCtx.fillText(String(term), x + 2, y + 14, BOX_W - 4);
    }
  });
}

function frame(wallMs) {
  if (!view.playing) return;
  var elapsed = view.lastFrame ? wallMs - view.lastFrame : 0;
  view.lastFrame = wallMs;
  var nowMs = view.nowMs + elapsed / 1000 * view.spanMs / 8;
  if (nowMs >= endMs) { nowMs = endMs; pause(); }
  setCursor(upper(times, nowMs, false) - 1);
  view.nowMs = nowMs;
  if (nowMs > view.startMs + view.spanMs * 0.9) view.startMs = nowMs - view.spanMs * 0.1;
  draw();
  if (view.playing) requestAnimationFrame(frame);
}
function play() { view.playing = true; view.lastFrame = 0; requestAnimationFrame(frame); }
function pause() { view.playing = false; }
function zoom(factor) {
  view.spanMs = Math.max(0.5, Math.min(endMs * 1.1, view.spanMs * factor));
  center(view.nowMs);
  draw();
}
function filters() {
  var box = $("filters");
  lanes.forEach(function (name, l) { box.appendChild(checkbox("lane-filter", name, shownLane, l)); });
  box.appendChild(document.createElement("br"));
  kindNames.forEach(function (k) {
    var label = checkbox("kind-filter", k, shownKind, k);
    label.style.color = kindColor[k];
    box.appendChild(label);
  });
}
function checkbox(cls, text, flags, key) {
  var label = document.createElement("label"), input = document.createElement("input");
  input.type = "checkbox"; input.checked = true; input.className = cls;
  input.onchange = function () { flags[key] = input.checked; draw(); };
  label.appendChild(input); label.appendChild(document.createTextNode(text + " "));
  return label;
}
function header() {
  $("title").textContent = data.title;
  $("seed").textContent = String(data.seed);
  $("replay").textContent = data.replay;
  var list = $("lane-list");
  lanes.forEach(function (name, l) {
    var item = document.createElement("li");
    item.className = "lane-name";
    item.dataset.kind = serverLanes[l] ? "server" : "client";
    item.textContent = name;
    list.appendChild(item);
  });
  if (data.truncated) $("notes").textContent = "The trace was cut short at its row limit.";
  if (!data.failure) return;
  var marker = $("violation");
  marker.hidden = false;
  marker.dataset.ms = String(data.failure.atMs);
  $("violation-text").textContent = "Failed at " + data.failure.atMs.toFixed(1) + " ms: " +
    data.failure.message;
}
filters();
header();
$("play").onclick = play;
$("pause").onclick = pause;
$("step").onclick = function () { pause(); step(); };
$("jump").onclick = function () { pause(); jumpTo(Number($("time").value) || 0); };
$("zoom-in").onclick = function () { zoom(0.5); };
$("zoom-out").onclick = function () { zoom(2); };
$("to-failure").onclick = function () { pause(); showFailure(); };
// Jumps to the failure, with the time before it in view: what led to it.
function showFailure() {
  jumpTo(data.failure.atMs);
  view.startMs = Math.max(0, data.failure.atMs - 0.85 * view.spanMs);
  draw();
}
canvas.onclick = function (event) {
  var rect = canvas.getBoundingClientRect();
  if (event.clientX - rect.left > LEFT) jumpTo(msOf(event.clientX - rect.left));
};
canvas.onwheel = function (event) {
  event.preventDefault();
  view.startMs = Math.max(0, view.startMs + event.deltaY / 500 * view.spanMs);
  draw();
};
window.onresize = draw;
if (data.failure) showFailure(); else draw();
document.body.dataset.ready = "true";
// Milliseconds from navigation to the first frame drawn: how long the page took to open.
document.body.dataset.readyMs = String(Math.round(performance.now()));
})();
`;
