/**
 * An append-only log with structural sharing, for histories kept inside an immutable
 * state: appending to the newest version is O(1) amortised (it shares a backing array),
 * while every older version keeps seeing only its own first `length` items. Appending to
 * an older version (a fork) copies first, so versions never see each other's items. The
 * backing array is private: a version is a frozen record, and its items are read through
 * {@linkcode logToArray} and {@linkcode logAt}, so nothing outside can rewrite history.
 *
 * @module
 */

/** One version of an append-only log (read it with {@linkcode logToArray} or {@linkcode logAt}). */
export interface Log<T> {
  /** Number of items in this version. */
  readonly length: number;
  /** The last item of this version, or undefined when it is empty. */
  readonly last: T | undefined;
}

// A version keeps its backing array in a private field: unreachable from outside (not a
// property: Object.keys, JSON and assignment never see it), and as fast to read as a
// property. The class is this file's detail; the public shape is the Log record.
class LogVersion<T> implements Log<T> {
  readonly #items: T[];
  readonly length: number;
  readonly last: T | undefined;
  constructor(items: T[], length: number) {
    this.#items = items;
    this.length = length;
    this.last = length > 0 ? items[length - 1] : undefined;
    Object.freeze(this);
  }
  static items<T>(log: Log<T>): T[] {
    if (!(log instanceof LogVersion)) {
      throw new TypeError(
        `Cannot read a log as it was not made by emptyLog(), appendLog() or logOf(): current value is ${
          JSON.stringify(log)
        }`,
      );
    }
    return (log as LogVersion<T>).#items;
  }
}

function _log<T>(items: T[], length: number): Log<T> {
  return new LogVersion(items, length);
}

const EMPTY: Log<never> = _log(Object.freeze([]) as never[], 0);

function _items<T>(log: Log<T>): T[] {
  return LogVersion.items(log);
}

/**
 * The empty log.
 *
 * @returns A log with no items.
 *
 * @example Empty
 * ```ts
 * import { emptyLog } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals(emptyLog<number>().length, 0);
 * ```
 */
export function emptyLog<T>(): Log<T> {
  return EMPTY;
}

/**
 * A log holding a copy of `items`.
 *
 * @param items The items, in order.
 * @returns A new log.
 *
 * @example
 * ```ts
 * import { logOf, logToArray } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals(logToArray(logOf([1, 2])), [1, 2]);
 * ```
 */
export function logOf<T>(items: readonly T[]): Log<T> {
  return items.length === 0 ? EMPTY : _log(items.slice(), items.length);
}

/**
 * Whether `value` is a log (made by this module).
 *
 * @param value Anything.
 * @returns True for a log.
 *
 * @example
 * ```ts
 * import { emptyLog, isLog } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals([isLog(emptyLog()), isLog({ length: 0, last: undefined })], [true, false]);
 * ```
 */
export function isLog(value: unknown): value is Log<unknown> {
  return value instanceof LogVersion;
}

/**
 * A new version of `log` with `item` appended; `log` itself is unchanged.
 *
 * @param log The version to extend.
 * @param item The item to append.
 * @returns The extended version.
 * @throws {TypeError} If `log` was not made by this module.
 *
 * @example Older versions keep their length
 * ```ts
 * import { appendLog, emptyLog, logToArray } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const a = appendLog(emptyLog<number>(), 1);
 * const b = appendLog(a, 2);
 * const c = appendLog(a, 3); // a fork
 * assertEquals([logToArray(a), logToArray(b), logToArray(c)], [[1], [1, 2], [1, 3]]);
 * ```
 */
export function appendLog<T>(log: Log<T>, item: T): Log<T> {
  const items = _items(log);
  if (items.length === log.length && !Object.isFrozen(items)) {
    items.push(item);
    return _log(items, log.length + 1);
  }
  const copy = items.slice(0, log.length);
  copy.push(item);
  return _log(copy, copy.length);
}

/**
 * The item at `index` of one version (negative counts from the end), or undefined.
 *
 * @param log The version to read.
 * @param index The position.
 * @returns The item.
 *
 * @example
 * ```ts
 * import { appendLog, emptyLog, logAt } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const log = appendLog(appendLog(emptyLog<number>(), 1), 2);
 * assertEquals([logAt(log, 0), logAt(log, -1), logAt(log, 2)], [1, 2, undefined]);
 * ```
 */
export function logAt<T>(log: Log<T>, index: number): T | undefined {
  const i = index < 0 ? log.length + index : index;
  return i >= 0 && i < log.length ? _items(log)[i] : undefined;
}

/**
 * The items of one version, as a fresh array.
 *
 * @param log The version to read.
 * @returns Its items, in order.
 *
 * @example To an array
 * ```ts
 * import { appendLog, emptyLog, logToArray } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals(logToArray(appendLog(emptyLog<string>(), "x")), ["x"]);
 * ```
 */
export function logToArray<T>(log: Log<T>): T[] {
  return _items(log).slice(0, log.length);
}
