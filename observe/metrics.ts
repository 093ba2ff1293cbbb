/**
 * A small metrics registry written out in the Prometheus text exposition format, version 0.0.4:
 * counters, gauges and histograms with fixed buckets, each with HELP and TYPE lines, and label
 * sets fixed when the metric is made (so their number is bounded). Updating a metric is a plain
 * number increment; values that already live elsewhere (a node's term) are read by a callback
 * only when the text is asked for.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** The Content-Type of {@linkcode MetricsRegistry.text}. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Most metric families in one registry. */
const FAMILIES_MAX = 256;
/** Most series of one metric. */
const SERIES_MAX = 64;
/** Most buckets of one histogram. */
const BUCKETS_MAX = 32;
/** Most collect hooks of one registry. */
const HOOKS_MAX = 16;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A value that only goes up. */
export class Counter {
  /** The count so far. */
  value = 0;

  /** Adds `amount` (default 1), which must not be negative. */
  inc(amount = 1): void {
    assert(amount >= 0, "A counter cannot go down");
    this.value += amount;
  }
}

/** A value that goes up and down. */
export class Gauge {
  /** The current value. */
  value = 0;

  /** Sets the value. */
  set(value: number): void {
    this.value = value;
  }
}

/** Counts of observations in fixed buckets, with their sum. */
export class Histogram {
  /** Upper bounds, increasing; `+Inf` is implied. */
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); one more than `bounds`, for `+Inf`. */
  readonly counts: number[];
  /** Sum of every observation. */
  sum = 0;
  /** Number of observations. */
  count = 0;

  /** A histogram with buckets up to each of `bounds`, which must increase. */
  constructor(bounds: readonly number[]) {
    assert(bounds.length >= 1 && bounds.length <= BUCKETS_MAX, `${bounds.length} buckets given`);
    for (let i = 1; i < bounds.length; i++) {
      assert(bounds[i] > bounds[i - 1], `Bucket bound ${bounds[i]} does not increase`);
    }
    this.bounds = [...bounds];
    this.counts = new Array(bounds.length + 1).fill(0);
  }

  /** Records one observation of `value`. */
  observe(value: number): void {
    let bucket = 0;
    // Bounded by BUCKETS_MAX.
    while (bucket < this.bounds.length && value > this.bounds[bucket]) bucket++;
    this.counts[bucket]++;
    this.sum += value;
    this.count++;
  }
}

type Kind = "counter" | "gauge" | "histogram";

/** Label names and values of one series, as `{ kind: "map", state: "idle" }`. */
export type Labels = Readonly<Record<string, string>>;

/** One series read when the text is made, for {@linkcode MetricsRegistry.readSeries}. */
export interface ReadSeries {
  readonly labels: Labels;
  readonly read: () => number;
}

/** One sample source of a family: its labels as written (`a="b",c="d"`, or "") and its value. */
interface Series {
  readonly labels: string;
  readonly read: () => number | Histogram;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly series: readonly Series[];
}

/**
 * The metrics of one process, and their text.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const proposals = registry.counter("dsys_raft_proposals_total", "Commands proposed.");
 * proposals.inc();
 * registry.gauge("dsys_raft_term", "Current Raft term.", () => 3);
 * console.log(registry.text());
 * ```
 */
export class MetricsRegistry {
  readonly #families: Family[] = [];
  readonly #hooks: Array<() => void> = [];

  /** A counter named `name` (ending `_total`), or one read by `read` when given. */
  counter(name: string, help: string, read?: () => number): Counter {
    const counter = new Counter();
    this.readSeries("counter", name, help, [{ labels: {}, read: read ?? (() => counter.value) }]);
    return counter;
  }

  /** One counter per value of label `labelName`, all under `name`. */
  labeledCounters<Value extends string>(
    name: string,
    help: string,
    labelName: string,
    values: readonly Value[],
  ): Record<Value, Counter> {
    const counters = {} as Record<Value, Counter>;
    for (const value of values) counters[value] = new Counter();
    this.readByLabel("counter", name, help, labelName, values, (value) => counters[value].value);
    return counters;
  }

  /** A gauge named `name`, or one read by `read` when given. */
  gauge(name: string, help: string, read?: () => number): Gauge {
    const gauge = new Gauge();
    this.readSeries("gauge", name, help, [{ labels: {}, read: read ?? (() => gauge.value) }]);
    return gauge;
  }

  /** Counters or gauges under `name` by label `labelName`, each read by `read(value)`. */
  readByLabel<Value extends string>(
    kind: "counter" | "gauge",
    name: string,
    help: string,
    labelName: string,
    values: readonly Value[],
    read: (value: Value) => number,
  ): void {
    const series = values.map((value) => ({
      labels: { [labelName]: value },
      read: () => read(value),
    }));
    this.readSeries(kind, name, help, series);
  }

  /** Counters or gauges under `name`, one per entry of `series`, each with its own labels. */
  readSeries(
    kind: "counter" | "gauge",
    name: string,
    help: string,
    series: readonly ReadSeries[],
  ): void {
    assert(kind === "gauge" || name.endsWith("_total"), `Counter ${name} does not end with _total`);
    this.#add(
      name,
      help,
      kind,
      series.map(({ labels, read }) => ({
        labels: labelText(name, labels),
        read,
      })),
    );
  }

  /** A histogram named `name` with buckets up to each of `bounds`. */
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    const histogram = new Histogram(bounds);
    this.#add(name, help, "histogram", [{ labels: "", read: () => histogram }]);
    return histogram;
  }

  /** Runs `hook` before each text is made: to read a costly state once for many gauges. */
  onCollect(hook: () => void): void {
    assert(this.#hooks.length < HOOKS_MAX, `A registry takes at most ${HOOKS_MAX} collect hooks`);
    this.#hooks.push(hook);
  }

  /** Every metric in the text exposition format, version 0.0.4. */
  text(): string {
    for (const hook of this.#hooks) hook();
    const lines: string[] = [];
    for (const family of this.#families) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      lines.push(`# TYPE ${family.name} ${family.kind}`);
      for (const series of family.series) {
        const value = series.read();
        const label = series.labels;
        if (value instanceof Histogram) lines.push(...histogramLines(family.name, label, value));
        else lines.push(`${family.name}${label === "" ? "" : `{${label}}`} ${formatValue(value)}`);
      }
    }
    return lines.map((line) => `${line}\n`).join("");
  }

  #add(name: string, help: string, kind: Kind, series: readonly Series[]): void {
    assert(METRIC_NAME.test(name), `Metric name ${JSON.stringify(name)} is not valid`);
    assert(!this.#families.some((family) => family.name === name), `Metric ${name} exists`);
    assert(this.#families.length < FAMILIES_MAX, `A registry holds at most ${FAMILIES_MAX}`);
    assert(help.trim() !== "", `Metric ${name} has no help text`);
    assert(series.length <= SERIES_MAX, `Metric ${name} has ${series.length} series`);
    this.#families.push({ name, help, kind, series });
  }
}

/** `labels` as the text format writes them inside braces: `a="b",c="d"`. */
function labelText(name: string, labels: Labels): string {
  return Object.entries(labels).map(([label, value]) => {
    assert(
      LABEL_NAME.test(label) && !label.startsWith("__") && label !== "le",
      `Label name ${JSON.stringify(label)} of ${name} is not valid`,
    );
    return `${label}="${escapeLabelValue(value)}"`;
  }).join(",");
}

/** The `_bucket`, `_sum` and `_count` lines of one histogram; buckets are cumulative. */
function histogramLines(name: string, label: string, histogram: Histogram): string[] {
  const prefix = label === "" ? "" : `${label},`;
  const lines: string[] = [];
  let cumulative = 0;
  for (let bucket = 0; bucket <= histogram.bounds.length; bucket++) {
    cumulative += histogram.counts[bucket];
    const bound = bucket < histogram.bounds.length ? histogram.bounds[bucket] : Infinity;
    lines.push(`${name}_bucket{${prefix}le="${formatValue(bound)}"} ${cumulative}`);
  }
  const labels = label === "" ? "" : `{${label}}`;
  lines.push(`${name}_sum${labels} ${formatValue(histogram.sum)}`);
  lines.push(`${name}_count${labels} ${histogram.count}`);
  return lines;
}

/** A sample value as the format spells it: `+Inf`, `-Inf`, `NaN` or a Go-parsable float. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
