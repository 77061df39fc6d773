/**
 * An append-only log with structural sharing, for histories kept inside an immutable
 * state: appending to the newest version is O(1) amortised (it shares the backing array),
 * while every older version keeps seeing only its own first `length` items. Appending to
 * an older version (a fork) copies first, so versions never see each other's items.
 *
 * @module
 */

/** One version of an append-only log: the first `length` items of `items`. */
export interface Log<T> {
  /** Backing array, shared between versions; read only through `length`. */
  readonly items: readonly T[];
  /** Number of items in this version. */
  readonly length: number;
}

const EMPTY: Log<never> = Object.freeze({
  items: Object.freeze([]) as readonly never[],
  length: 0,
});

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
 * A new version of `log` with `item` appended; `log` itself is unchanged.
 *
 * @param log The version to extend.
 * @param item The item to append.
 * @returns The extended version.
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
  const items = log.items as T[];
  if (items.length === log.length && !Object.isFrozen(items)) {
    items.push(item);
    return { items, length: log.length + 1 };
  }
  const copy = items.slice(0, log.length);
  copy.push(item);
  return { items: copy, length: copy.length };
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
  return log.items.slice(0, log.length);
}
