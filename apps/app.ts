/**
 * What a MapReduce application is: a map function and a reduce function, as in the lab's
 * plugins. Built-in applications live in `apps/`; a user's own is any module exporting both.
 *
 * @module
 */
import type { Counters } from "./counters.ts";

/** One intermediate pair that a map call emits. */
export interface KeyValue {
  /** The key reduce groups by; its partition is FNV-1a-32 of its UTF-8 bytes. */
  key: string;
  /** The value passed to reduce with every other value of the same key. */
  value: string;
}

/**
 * Turns one input file (or split) into intermediate pairs; `filename` is the name the user gave;
 * `counters` counts named events (see counters.ts).
 */
export type MapFunction = (
  filename: string,
  contents: string,
  counters: Counters,
) => KeyValue[] | Promise<KeyValue[]>;

/** Folds every value of one key into the single value written after the key in the output. */
export type ReduceFunction = (
  key: string,
  values: string[],
  counters: Counters,
) => string | Promise<string>;

/**
 * Folds some of one key's values into one, on the map side (the MapReduce paper, section 4.3):
 * a map task hands reduce, for each key, what `combine` made of that task's values instead of
 * the values. Only right when reduce over combined values gives what it gives over the values
 * (say, both sum); synchronous, since it runs once per key of every map task.
 */
export type CombineFunction = (key: string, values: string[]) => string;

/** A loaded application. */
export interface MapReduceApp {
  /** The built-in name or the module path it was loaded from, for messages. */
  readonly name: string;
  /** The application's map. */
  readonly map: MapFunction;
  /** The application's reduce. */
  readonly reduce: ReduceFunction;
  /** The application's combiner, when it exports one. */
  readonly combine?: CombineFunction;
}
