/**
 * A self-contained HTML picture of a checked history (inline CSS and script, nothing fetched), so
 * that a person can see which operations a violation involves: per key, one row per client, each
 * operation a box from its call to its return. Boxes of the longest linearizable prefix are green
 * and numbered in linearization order; the operations none of which could come next are red.
 *
 * The horizontal axis is the order of call and return times, not their values, so that short
 * operations stay visible next to long ones; the real times are in each box's details.
 *
 * @module
 */
import type { CheckResult, KeyCheck } from "./checker.ts";
import { describeOperation, isUnknownOutcome, type Operation } from "./history.ts";
import { replay, stepModel } from "./kv_model.ts";
import { describeModelOperation, type Model, type ModelOperation } from "./models.ts";

/** Width of one step of the time axis, and height of one client's row, in pixels. */
const COLUMN_WIDTH_PX = 18;
const ROW_HEIGHT_PX = 28;
/** How many prefix operations the table under each picture lists (the last ones). */
const MAX_PREFIX_ROWS = 40;
/** Strings longer than this are shortened in boxes, tables and details. */
const MAX_BOX_CHARS = 24;
const MAX_TABLE_CHARS = 100;
const MAX_DETAIL_CHARS = 2000;

/** Options of {@linkcode renderHtml}. */
export interface RenderOptions {
  /** The keys to draw; by default the illegal ones, else the undecided ones, else all. */
  readonly keys?: readonly string[];
}

/**
 * What the picture needs to know of a history besides the check's result: when each operation
 * ran, how to name it, and what the model's state is after a sequence of them.
 */
export interface HistoryView {
  /** The operations' clients and times, by index in the history. */
  readonly operations: readonly Pick<Operation, "clientId" | "callMs" | "returnMs">[];
  /** A few words for the operation's box. */
  label(index: number): string;
  /** The operation in full. */
  describe(index: number): string;
  /** The state, shown, after each operation of `order` run from the initial state. */
  valuesAfter(order: readonly number[]): string[];
  /** Why operation `index` cannot come right after `prefix`, or "" if it can. */
  whyNot(index: number, prefix: readonly number[]): string;
}

/** Writes {@linkcode renderHtml}'s page to `path`. */
export function writeHtml(
  path: string,
  history: readonly Operation[],
  result: CheckResult,
  options: RenderOptions = {},
): void {
  Deno.writeTextFileSync(path, renderHtml(history, result, options));
}

/** Writes {@linkcode renderPicture}'s page to `path`. */
export function writePicture(
  path: string,
  view: HistoryView,
  result: CheckResult,
  options: RenderOptions = {},
): void {
  Deno.writeTextFileSync(path, renderPicture(view, result, options));
}

/** Renders the picture of `result` (the check of `history`) as one HTML page. */
export function renderHtml(
  history: readonly Operation[],
  result: CheckResult,
  options: RenderOptions = {},
): string {
  return renderPicture(kvView(history), result, options);
}

/** Renders the picture of `result`, the check of the history `view` shows, as one HTML page. */
export function renderPicture(
  view: HistoryView,
  result: CheckResult,
  options: RenderOptions = {},
): string {
  const history = view.operations;
  const chosen = chooseKeys(result, options);
  const sections = chosen.map((check, position) => renderKey(view, check, position));
  const illegal = result.illegalKeys.map((key) => quote(key)).join(", ");
  const summary = result.verdict === "illegal"
    ? `Not linearizable on key(s) ${escapeHtml(illegal)}.`
    : result.verdict === "timeout"
    ? `Undecided: the check ran out of its ${result.timeoutMs} ms budget.`
    : "Linearizable.";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Linearizability check: ${result.verdict}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Linearizability check: ${result.verdict}</h1>
<p>${summary} ${history.length} operations on ${result.keys.length} key(s), checked in
${result.elapsedMs.toFixed(1)} ms. Click an operation for its details.</p>
<p class="legend"><span class="op linearized">#n linearized, in order</span>
<span class="op stuck">could come next; nothing after it works</span>
<span class="op pending">not reached</span>
<span class="op pending unknown">unknown outcome (never returned)</span></p>
${sections.join("\n")}
<pre id="detail">Click an operation to see it here.</pre>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function chooseKeys(result: CheckResult, options: RenderOptions): KeyCheck[] {
  if (options.keys !== undefined) {
    const wanted = new Set(options.keys);
    return result.keys.filter((check) => wanted.has(check.key));
  }
  for (const verdict of ["illegal", "timeout"]) {
    const matching = result.keys.filter((check) => check.verdict === verdict);
    if (matching.length > 0) return matching;
  }
  return [...result.keys];
}

/** The view of a key/value history. */
export function kvView(history: readonly Operation[]): HistoryView {
  return {
    operations: history,
    label(index) {
      const operation = history[index];
      if (operation.kind !== "get") {
        return `${operation.kind} ${quote(shorten(operation.value, MAX_BOX_CHARS))}`;
      }
      const unknown = isUnknownOutcome(operation);
      return `get ${unknown ? "?" : quote(shorten(operation.output, MAX_BOX_CHARS))}`;
    },
    describe: (index) => describeOperation(history[index]),
    valuesAfter: (order) => replay(history, order).values.map((value) => quote(value)),
    whyNot(index, prefix) {
      const { values } = replay(history, prefix);
      const value = values.length > 0 ? values[values.length - 1] : "";
      const operation = history[index];
      if (stepModel(value, operation).legal) return "";
      return `reads ${quote(shorten(operation.output, MAX_TABLE_CHARS))}, but the value here is ` +
        quote(shortenTail(value, MAX_TABLE_CHARS));
    },
  };
}

/** The view of a history checked against `model`. */
export function modelView<State>(
  history: readonly ModelOperation[],
  model: Model<State>,
): HistoryView {
  const versioned = model.name === "versioned-kv";
  // The states each prefix may have led to, shown; an operation that may not have happened
  // leaves both the state it makes and the one before.
  const statesAfter = (order: readonly number[]): State[][] => {
    let states: State[] = [model.initial];
    return order.map((index) => {
      const operation = history[index];
      const next = new Map<string, State>();
      for (const state of states) {
        const stepped = model.step(state, operation);
        if (stepped !== undefined) next.set(model.fingerprint(stepped), stepped);
        if (operation.maybe) next.set(model.fingerprint(state), state);
      }
      states = [...next.values()];
      return states;
    });
  };
  const show = (states: readonly State[]) =>
    states.map((state) => model.fingerprint(state)).join(" or ");
  return {
    operations: history,
    label(index) {
      const operation = history[index];
      const shown = operation.kind === "read" || operation.kind === "get"
        ? `${operation.kind} ${JSON.stringify(operation.output)}`
        : operation.kind === "cas"
        ? `cas ${JSON.stringify(operation.expected)}→${JSON.stringify(operation.value)}`
        : `${operation.kind} ${JSON.stringify(operation.value)}`;
      return shorten(shown, MAX_BOX_CHARS);
    },
    describe: (index) => describeModelOperation(history[index], versioned),
    valuesAfter: (order) => statesAfter(order).map(show),
    whyNot(index, prefix) {
      const after = statesAfter(prefix);
      const states = after.length > 0 ? after[after.length - 1] : [model.initial];
      if (states.some((state) => model.step(state, history[index]) !== undefined)) return "";
      return `cannot happen when the state is ${shorten(show(states), MAX_TABLE_CHARS)}`;
    },
  };
}

function renderKey(view: HistoryView, check: KeyCheck, position: number): string {
  const history = view.operations;
  const order = new Map(check.linearization.map((index, rank) => [index, rank + 1]));
  const stuck = new Set(check.stuck);
  const times = distinctFiniteTimes(history, check.operations);
  const clients = [...new Set(check.operations.map((index) => history[index].clientId))]
    .sort((left, right) => left - right);
  const rowOf = new Map(clients.map((client, row) => [client, row]));
  const boxes = check.operations.map((index) => {
    const operation = history[index];
    const left = columnOf(times, operation.callMs);
    const right = isUnknownOutcome(operation)
      ? times.length + 1
      : columnOf(times, operation.returnMs);
    const shape = {
      left: left * COLUMN_WIDTH_PX + 4,
      top: rowOf.get(operation.clientId)! * ROW_HEIGHT_PX + 3,
      width: Math.max((right - left) * COLUMN_WIDTH_PX - 2, COLUMN_WIDTH_PX),
    };
    return renderBox(view, index, shape, order.get(index), stuck.has(index));
  });
  const widthPx = (times.length + 3) * COLUMN_WIDTH_PX;
  const heightPx = clients.length * ROW_HEIGHT_PX;
  const labels = clients.map((client) => `<div class="label">client ${client}</div>`).join("");
  return `<section id="key-${position}">
<h2>Key ${escapeHtml(quote(check.key))}: ${check.verdict}</h2>
<p>${describeKey(check)}</p>
<div class="lanes"><div class="labels">${labels}</div>
<div class="scroll"><div class="timeline" style="width:${widthPx}px;height:${heightPx}px">
${boxes.join("\n")}
</div></div></div>
${renderPrefixTable(view, check)}
${renderStuckTable(view, check)}
</section>`;
}

function describeKey(check: KeyCheck): string {
  const counts = `${check.operations.length} operations, ${check.steps} search steps.`;
  if (check.verdict === "ok") return `${counts} A linearization is numbered in the boxes.`;
  const prefix = `The longest linearizable prefix found has ${check.linearization.length}.`;
  if (check.verdict === "timeout") {
    return `${counts} ${prefix} Stopped: ${escapeHtml(check.reason)}.`;
  }
  return `${counts} ${prefix} After it, ${check.stuck.length} operation(s) could come next, and ` +
    `no order of the rest linearizes from any of them.`;
}

function renderBox(
  view: HistoryView,
  index: number,
  shape: { left: number; top: number; width: number },
  rank: number | undefined,
  stuck: boolean,
): string {
  const classes = ["op", rank !== undefined ? "linearized" : stuck ? "stuck" : "pending"];
  if (isUnknownOutcome(view.operations[index])) classes.push("unknown");
  const badge = rank !== undefined ? `#${rank} ` : "";
  const text = view.label(index);
  const detail = `operation ${index}${rank !== undefined ? `, linearized #${rank}` : ""}` +
    `${stuck ? ", could come next but leads nowhere" : ""}\n` +
    shorten(view.describe(index), MAX_DETAIL_CHARS);
  const style = `left:${shape.left}px;top:${shape.top}px;width:${shape.width}px`;
  return `<div class="${classes.join(" ")}" style="${style}" title="${escapeHtml(detail)}" ` +
    `data-detail="${escapeHtml(detail)}">${escapeHtml(badge + text)}</div>`;
}

function renderPrefixTable(view: HistoryView, check: KeyCheck): string {
  if (check.verdict === "ok" || check.linearization.length === 0) return "";
  const values = view.valuesAfter(check.linearization);
  const first = Math.max(0, check.linearization.length - MAX_PREFIX_ROWS);
  const rows: string[] = [];
  for (let position = first; position < check.linearization.length; position++) {
    const index = check.linearization[position];
    rows.push(
      `<tr><td>#${position + 1}</td><td>${index}</td>` +
        `<td>${escapeHtml(shorten(view.describe(index), MAX_TABLE_CHARS))}</td>` +
        `<td>${escapeHtml(shortenTail(values[position], MAX_TABLE_CHARS))}</td></tr>`,
    );
  }
  const omitted = first > 0 ? ` (the last ${MAX_PREFIX_ROWS}; ${first} before them)` : "";
  return `<h3>Longest linearizable prefix${omitted}</h3>
<table><tr><th>order</th><th>operation</th><th>what</th><th>value after</th></tr>
${rows.join("\n")}
</table>`;
}

function renderStuckTable(view: HistoryView, check: KeyCheck): string {
  if (check.verdict !== "illegal") return "";
  const rows = check.stuck.map((index) => {
    const why = view.whyNot(index, check.linearization) ||
      "allowed here, but no order of the remaining operations works after it";
    return `<tr class="stuck-row"><td>${index}</td>` +
      `<td>${escapeHtml(shorten(view.describe(index), MAX_TABLE_CHARS))}</td>` +
      `<td>${escapeHtml(why)}</td></tr>`;
  });
  return `<h3>Operations that could come next, none of which works</h3>
<table><tr><th>operation</th><th>what</th><th>why not</th></tr>
${rows.join("\n")}
</table>`;
}

function distinctFiniteTimes(
  history: HistoryView["operations"],
  indices: readonly number[],
): number[] {
  const times = new Set<number>();
  for (const index of indices) {
    times.add(history[index].callMs);
    if (!isUnknownOutcome(history[index])) times.add(history[index].returnMs);
  }
  return [...times].sort((left, right) => left - right);
}

/** The position of `timeMs` in the sorted `times` (binary search; it is always present). */
function columnOf(times: readonly number[], timeMs: number): number {
  let low = 0;
  let high = times.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (times[middle] < timeMs) low = middle + 1;
    else high = middle;
  }
  return low;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function shorten(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}…(${text.length} chars)`;
}

/** Shortens from the front: for values that grow by appends, the end is what changed. */
function shortenTail(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `(${text.length} chars)…${text.slice(text.length - maxChars)}`;
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.lanes { display: flex; border: 1px solid #ccc; }
.labels { flex: none; width: 7em; background: #f4f4f4; border-right: 1px solid #ccc; }
.label { height: ${ROW_HEIGHT_PX}px; line-height: ${ROW_HEIGHT_PX}px; padding: 0 .5em;
  white-space: nowrap; }
.scroll { overflow-x: auto; flex: auto; }
.timeline { position: relative; }
.op { box-sizing: border-box; height: ${ROW_HEIGHT_PX - 6}px; padding: 0 3px; font-size: 12px;
  line-height: ${ROW_HEIGHT_PX - 8}px; border: 1px solid #888; border-radius: 3px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; cursor: pointer; }
.timeline .op { position: absolute; }
.legend .op { display: inline-block; margin-right: .5em; }
.linearized { background: #c8efc8; border-color: #3a3; }
.stuck { background: #f7b9b9; border-color: #c22; font-weight: bold; }
.pending { background: #eee; }
.unknown { border-style: dashed; border-right: none; }
.selected { outline: 2px solid #15c; }
table { border-collapse: collapse; margin: .5em 0; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
.stuck-row { background: #fde8e8; }
#detail { position: sticky; bottom: 0; background: #fffbe6; border: 1px solid #cc9;
  padding: .5em; white-space: pre-wrap; margin: 1em 0 0; }
`;

const SCRIPT = `
document.addEventListener("click", (event) => {
  const box = event.target.closest(".op[data-detail]");
  if (box === null) return;
  for (const old of document.querySelectorAll(".selected")) old.classList.remove("selected");
  box.classList.add("selected");
  document.getElementById("detail").textContent = box.dataset.detail;
});
window.addEventListener("load", () => {
  for (const scroll of document.querySelectorAll(".scroll")) {
    const first = scroll.querySelector(".op.stuck");
    if (first !== null) scroll.scrollLeft = first.offsetLeft - scroll.clientWidth / 3;
  }
});
`;
