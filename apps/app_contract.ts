/**
 * The application contract, checked where the framework meets the application: `map` returns an
 * array of `{key, value}` pairs of strings, `reduce` returns a string. A broken application fails
 * its task with a sentence naming the application, the call and what it returned, rather than
 * writing `undefined` into an output or crashing deep in the framework. Such failures, and
 * whatever map, reduce or combine throw, are {@linkcode AppError}s: the worker reports them and
 * goes on serving, since the fault lies with the application and its data, not the worker.
 *
 * @module
 */
import type { KeyValue, MapReduceApp } from "./app.ts";
import { errorText } from "../util/error_text.ts";

/** A failure of the application: it threw, or returned what the contract forbids. */
export class AppError extends Error {}

/**
 * `app` with its functions made to throw {@linkcode AppError}, naming the app and the call,
 * whenever they throw; what they return is untouched.
 */
export function guardApp(app: MapReduceApp): MapReduceApp {
  const fail = (call: string, error: unknown) =>
    error instanceof AppError
      ? error
      : new AppError(`App ${app.name}: ${call} threw: ${errorText(error)}`);
  const guarded: MapReduceApp = {
    name: app.name,
    map: async (filename, contents, counters) => {
      try {
        return await app.map(filename, contents, counters);
      } catch (error) {
        throw fail(`map of ${filename}`, error);
      }
    },
    reduce: (key, values, counters) => {
      const call = () => `reduce of key ${describeValue(key)}`;
      try {
        const result = app.reduce(key, values, counters);
        // Most reduces return at once; only a promise needs its rejection caught.
        return result instanceof Promise
          ? result.catch((error) => Promise.reject(fail(call(), error)))
          : result;
      } catch (error) {
        throw fail(call(), error);
      }
    },
  };
  const combine = app.combine;
  if (combine === undefined) return guarded;
  return {
    ...guarded,
    combine: (key, values) => {
      try {
        return combine(key, values);
      } catch (error) {
        throw fail(`combine of key ${describeValue(key)}`, error);
      }
    },
  };
}

/** Longest excerpt of a bad return value quoted in a message. */
const MAX_QUOTED_CHARS = 80;

/** A short, safe rendering of any value for a message: JSON where possible, cut to a bound. */
export function describeValue(value: unknown): string {
  let text: string;
  if (value === undefined) text = "undefined";
  else if (typeof value === "function") text = `a function ${value.name || "(anonymous)"}`;
  else if (typeof value === "bigint") text = `${value}n`;
  else if (typeof value === "symbol") text = value.toString();
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length <= MAX_QUOTED_CHARS ? text : `${text.slice(0, MAX_QUOTED_CHARS)}…`;
}

/** Throws unless `result`, what `app.map` returned for `inputName`, is an array. */
export function checkMapResult(
  app: MapReduceApp,
  inputName: string,
  result: unknown,
): readonly unknown[] {
  if (!Array.isArray(result)) {
    throw new AppError(
      `App ${app.name}: map of ${inputName} returned ${
        describeValue(result)
      }, not an array of {key, value} pairs of strings`,
    );
  }
  return result;
}

/** Throws unless `pair`, element `index` of what `app.map` returned, is `{key, value}` strings. */
export function checkPair(
  app: MapReduceApp,
  inputName: string,
  pair: unknown,
  index: number,
): KeyValue {
  const candidate = pair as KeyValue | null | undefined;
  if (typeof candidate?.key !== "string" || typeof candidate.value !== "string") {
    throw new AppError(
      `App ${app.name}: map of ${inputName} returned ${
        describeValue(pair)
      } at index ${index}, not a {key, value} pair of strings`,
    );
  }
  return candidate;
}

/** Throws unless `result`, what `app.reduce` returned for `key`, is a string. */
export function checkReduceResult(app: MapReduceApp, key: string, result: unknown): string {
  return checkFoldResult(app, "reduce", key, result);
}

/** Throws unless `result`, what `app.combine` returned for `key`, is a string. */
export function checkCombineResult(app: MapReduceApp, key: string, result: unknown): string {
  return checkFoldResult(app, "combine", key, result);
}

function checkFoldResult(
  app: MapReduceApp,
  call: "reduce" | "combine",
  key: string,
  result: unknown,
): string {
  if (typeof result !== "string") {
    throw new AppError(
      `App ${app.name}: ${call} of key ${describeValue(key)} returned ${
        describeValue(result)
      }, not a string`,
    );
  }
  return result;
}

/** `pairs`, what `app.map` returned for `inputName`, checked whole. */
export function checkedPairs(app: MapReduceApp, inputName: string, pairs: unknown): KeyValue[] {
  const array = checkMapResult(app, inputName, pairs);
  for (let index = 0; index < array.length; index++) checkPair(app, inputName, array[index], index);
  return array as KeyValue[];
}
