/**
 * An offline stand-in for `jsr:@std/assert`, with the same names and call shapes for the
 * part of its API this repository uses, built on `node:assert/strict`. The test task
 * points `@std/assert` here (through `tests/import_map.json`) only when jsr.io cannot be
 * reached; users and CI machines with network get the real module.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Error thrown by every assertion here, as in `@std/assert`. */
export class AssertionError extends Error {
  /** Creates an assertion error with the given message. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function _wrap(run: () => void, msg?: string): void {
  try {
    run();
  } catch (error) {
    if (error instanceof nodeAssert.AssertionError) {
      throw new AssertionError(msg ? `${msg}: ${error.message}` : error.message);
    }
    throw error;
  }
}

/** Deep structural equality, as `equal` in `@std/assert`. */
export function equal(a: unknown, b: unknown): boolean {
  try {
    nodeAssert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Throws unless `expr` is truthy. */
export function assert(expr: unknown, msg = "Expected expression to be true"): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

/** Throws unless `expr` is falsy. */
export function assertFalse(expr: unknown, msg = "Expected expression to be false"): void {
  if (expr) throw new AssertionError(msg);
}

/** Throws unless `actual` and `expected` are deeply equal. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  _wrap(() => nodeAssert.deepStrictEqual(actual, expected), msg);
}

/** Throws if `actual` and `expected` are deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  _wrap(() => nodeAssert.notDeepStrictEqual(actual, expected), msg);
}

/** Throws unless `Object.is(actual, expected)`. */
export function assertStrictEquals<T>(actual: unknown, expected: T, msg?: string): void {
  _wrap(() => nodeAssert.strictEqual(actual, expected), msg);
}

/** Throws if `Object.is(actual, expected)`. */
export function assertNotStrictEquals<T>(actual: T, expected: T, msg?: string): void {
  _wrap(() => nodeAssert.notStrictEqual(actual, expected), msg);
}

/** Throws unless `|actual - expected| <= tolerance` (default 1e-7); equal NaNs pass. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  msg?: string,
): void {
  if (Object.is(actual, expected)) return;
  const delta = Math.abs(expected - actual);
  if (!(delta <= tolerance)) {
    const base = `Expected actual: "${actual}" to be close to "${expected}": ` +
      `delta "${delta}" is greater than "${tolerance}"`;
    throw new AssertionError(msg ? `${msg}: ${base}` : base);
  }
}

/** Throws if `actual` is `null` or `undefined`. */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === undefined || actual === null) {
    throw new AssertionError(msg ?? `Expected actual: "${actual}" to not be null or undefined`);
  }
}

/** Throws unless `actual` is an instance of `expectedType`. */
export function assertInstanceOf<T extends abstract new (...args: never[]) => unknown>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    throw new AssertionError(msg ?? `Expected object to be an instance of "${expectedType.name}"`);
  }
}

/** Throws unless `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) throw new AssertionError(msg ?? `Expect ${actual} > ${expected}`);
}

/** Throws unless `actual >= expected`. */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual >= expected)) throw new AssertionError(msg ?? `Expect ${actual} >= ${expected}`);
}

/** Throws unless `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) throw new AssertionError(msg ?? `Expect ${actual} < ${expected}`);
}

/** Throws unless `actual <= expected`. */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual <= expected)) throw new AssertionError(msg ?? `Expect ${actual} <= ${expected}`);
}

/** Throws unless `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(msg ?? `Expected actual: "${actual}" to contain: "${expected}"`);
  }
}

/** Throws unless `actual` matches `expected`. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (!expected.test(actual)) {
    throw new AssertionError(msg ?? `Expected actual: "${actual}" to match: "${expected}"`);
  }
}

/** Throws unless every element of `expected` is deeply equal to some element of `actual`. */
export function assertArrayIncludes<T>(
  actual: ArrayLike<T>,
  expected: ArrayLike<T>,
  msg?: string,
): void {
  const all = Array.from(actual);
  for (const item of Array.from(expected)) {
    if (!all.some((a) => equal(a, item))) {
      throw new AssertionError(msg ?? `Expected actual to include ${String(item)}`);
    }
  }
}

/** Throws unless `actual` holds, deeply, every property of `expected`. */
export function assertObjectMatch(
  actual: Record<PropertyKey, unknown>,
  expected: Record<PropertyKey, unknown>,
  msg?: string,
): void {
  for (const key of Object.keys(expected)) {
    _wrap(() => nodeAssert.deepStrictEqual(actual[key], expected[key]), msg ?? `at key ${key}`);
  }
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function _checkError<E extends Error>(
  error: unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): void {
  if (ErrorClass && !(error instanceof ErrorClass)) {
    const got = error instanceof Error ? error.name : typeof error;
    throw new AssertionError(
      msg ?? `Expected error to be instance of "${ErrorClass.name}", but was "${got}"`,
    );
  }
  if (msgIncludes !== undefined) {
    const text = error instanceof Error ? error.message : String(error);
    if (!text.includes(msgIncludes)) {
      throw new AssertionError(
        msg ?? `Expected error message to include "${msgIncludes}", but got "${text}"`,
      );
    }
  }
}

/** Throws unless `fn` throws; returns what it threw. */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/** Throws unless `fn` throws an instance of `ErrorClass` whose message includes `msgIncludes`. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  classOrMsg?: ErrorClass<E> | string,
  msgIncludes?: string,
  msg?: string,
): unknown {
  let threw = false;
  let error: unknown;
  try {
    fn();
  } catch (e) {
    threw = true;
    error = e;
  }
  const ErrorClass = typeof classOrMsg === "function" ? classOrMsg : undefined;
  const message = typeof classOrMsg === "string" ? classOrMsg : msg;
  if (!threw) throw new AssertionError(message ?? "Expected function to throw.");
  _checkError(error, ErrorClass, msgIncludes, message);
  return error;
}

/** Throws unless the promise returned by `fn` rejects; resolves to the rejection reason. */
export function assertRejects(fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
/** Throws unless `fn` rejects with an instance of `ErrorClass` whose message includes `msgIncludes`. */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  classOrMsg?: ErrorClass<E> | string,
  msgIncludes?: string,
  msg?: string,
): Promise<unknown> {
  let threw = false;
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    threw = true;
    error = e;
  }
  const ErrorClass = typeof classOrMsg === "function" ? classOrMsg : undefined;
  const message = typeof classOrMsg === "string" ? classOrMsg : msg;
  if (!threw) throw new AssertionError(message ?? "Expected function to reject.");
  _checkError(error, ErrorClass, msgIncludes, message);
  return error;
}

/** Always throws. */
export function fail(msg?: string): never {
  throw new AssertionError(msg ? `Failed assertion: ${msg}` : "Failed assertion.");
}

/** Always throws; marks code that must not run. */
export function unreachable(msg?: string): never {
  throw new AssertionError(msg ?? "Unreachable code was reached.");
}
