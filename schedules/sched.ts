/**
 * Schedule constructors: each returns a `Schedule`, a function from the fraction of
 * training done (`pct`, 0 to 1) to a value.
 *
 * @module
 */
import { _checkExp, _finite, _pct } from "./_validate.ts";

/** A schedule: the value of a hyper-parameter at fraction `pct` (0 to 1) of training. */
export type Schedule<T = number> = (pct: number) => T;

/**
 * A constant schedule.
 *
 * @param value The value at every pct.
 * @returns The schedule.
 * @throws {RangeError} If `value` is not finite.
 *
 * @example Constant
 * ```ts
 * import { schedNo } from "@fitloop/fitloop/schedules";
 * import { assertEquals } from "@std/assert";
 * assertEquals(schedNo(0.1)(0.9), 0.1);
 * ```
 */
export function schedNo(value: number): Schedule {
  _finite("create schedNo", "value", value);
  return (pct: number): number => {
    _pct("evaluate schedNo", pct);
    return value;
  };
}

/**
 * A linear schedule from `start` to `end`.
 *
 * @param start Value at pct 0.
 * @param end Value at pct 1.
 * @returns The schedule.
 * @throws {RangeError} If `start` or `end` is not finite.
 *
 * @example Linear ramp
 * ```ts
 * import { schedLin } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(schedLin(0, 2)(0.25), 0.5);
 * ```
 */
export function schedLin(start: number, end: number): Schedule {
  _finite("create schedLin", "start", start);
  _finite("create schedLin", "end", end);
  const span = end - start;
  return (pct: number): number => {
    _pct("evaluate schedLin", pct);
    return start + pct * span;
  };
}

/**
 * A cosine schedule from `start` to `end`.
 *
 * @param start Value at pct 0.
 * @param end Value at pct 1.
 * @returns The schedule.
 * @throws {RangeError} If `start` or `end` is not finite.
 *
 * @example Cosine decay
 * ```ts
 * import { schedCos } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(schedCos(1, 0)(0.5), 0.5);
 * assertAlmostEquals(schedCos(1, 0)(1), 0);
 * ```
 */
export function schedCos(start: number, end: number): Schedule {
  _finite("create schedCos", "start", start);
  _finite("create schedCos", "end", end);
  const half = (start - end) / 2;
  return (pct: number): number => {
    _pct("evaluate schedCos", pct);
    return end + half * (Math.cos(Math.PI * pct) + 1);
  };
}

/**
 * An exponential schedule from `start` to `end`.
 *
 * @param start Value at pct 0; not zero.
 * @param end Value at pct 1; same sign as `start` (or zero).
 * @returns The schedule.
 * @throws {RangeError} If `start` is zero, the signs differ, or a value is not finite.
 *
 * @example Exponential growth
 * ```ts
 * import { schedExp } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(schedExp(1, 100)(0.5), 10, 1e-9);
 * ```
 */
export function schedExp(start: number, end: number): Schedule {
  _checkExp("create schedExp", start, end);
  const ratio = end / start;
  return (pct: number): number => {
    _pct("evaluate schedExp", pct);
    return start * ratio ** pct;
  };
}

/**
 * A polynomial schedule: `end + (start - end) * (1 - pct) ** power`.
 *
 * @param start Value at pct 0.
 * @param end Value at pct 1.
 * @param power The degree.
 * @returns The schedule.
 * @throws {RangeError} If an argument is not finite.
 *
 * @example Square-root decay
 * ```ts
 * import { schedPoly } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(schedPoly(1, 0, 0.5)(0.75), 0.5);
 * ```
 */
export function schedPoly(start: number, end: number, power: number): Schedule {
  _finite("create schedPoly", "start", start);
  _finite("create schedPoly", "end", end);
  _finite("create schedPoly", "power", power);
  const span = start - end;
  return (pct: number): number => {
    _pct("evaluate schedPoly", pct);
    return end + span * (1 - pct) ** power;
  };
}
