/**
 * The seed's annealing functions, as schedule constructors: `annealingCos(start, end)` is
 * the schedule that moves from `start` to `end` by a half cosine as `pct` goes from 0 to
 * 1, so `annealingCos(start, end)(pct)` is fastai v1's `annealing_cos(start, end, pct)`
 * (`fastai/callback.py`), same formula. One vocabulary: these are the schedules every
 * combinator and callback takes.
 *
 * @module
 */
import type { Schedule } from "./schedule.ts";
import { _checkExp, _finite, _pct } from "./_validate.ts";

/** An annealing function: from `start` and `end` to the schedule between them. */
export type Annealer = (start: number, end: number) => Schedule;

function ends(what: string, start: number, end: number): void {
  _finite(`create ${what}`, "start", start);
  _finite(`create ${what}`, "end", end);
}

/**
 * No annealing: always `start` (fastai's `annealing_no`; `end` is ignored).
 *
 * @param start The value at every pct.
 * @param _end Ignored (an {@linkcode Annealer} takes two values). @default {start}
 * @returns The constant schedule.
 * @throws {RangeError} If `start` is not finite, or (from the schedule) `pct` is outside [0, 1].
 *
 * @example Always the start value
 * ```ts
 * import { annealingNo } from "@fitloop/fitloop/schedules";
 * import { assertEquals } from "@std/assert";
 * assertEquals(annealingNo(3, 9)(0.7), 3);
 * assertEquals(annealingNo(0.1)(1), 0.1);
 * ```
 */
export function annealingNo(start: number, _end: number = start): Schedule {
  _finite("create annealingNo", "start", start);
  return (pct: number): number => {
    _pct("evaluate annealingNo", pct);
    return start;
  };
}

/**
 * Linear annealing: `start + pct * (end - start)`.
 *
 * @param start Value at pct 0.
 * @param end Value at pct 1.
 * @returns The schedule.
 * @throws {RangeError} If a value is not finite, or (from the schedule) `pct` is outside [0, 1].
 *
 * @example Halfway
 * ```ts
 * import { annealingLinear } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(annealingLinear(1, 3)(0.5), 2);
 * assertAlmostEquals(annealingLinear(0, 2)(0.25), 0.5);
 * ```
 */
export function annealingLinear(start: number, end: number): Schedule {
  ends("annealingLinear", start, end);
  return (pct: number): number => {
    _pct("evaluate annealingLinear", pct);
    return start + pct * (end - start);
  };
}

/**
 * Cosine annealing: `end + (start - end) / 2 * (cos(pi * pct) + 1)`.
 *
 * @param start Value at pct 0.
 * @param end Value at pct 1.
 * @returns The schedule.
 * @throws {RangeError} If a value is not finite, or (from the schedule) `pct` is outside [0, 1].
 *
 * @example Cosine halfway is the midpoint
 * ```ts
 * import { annealingCos } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(annealingCos(1, 0)(0.5), 0.5);
 * assertAlmostEquals(annealingCos(1, 0)(0.25), 0.8535533905932737);
 * assertAlmostEquals(annealingCos(1, 0)(1), 0);
 * ```
 */
export function annealingCos(start: number, end: number): Schedule {
  ends("annealingCos", start, end);
  return (pct: number): number => {
    _pct("evaluate annealingCos", pct);
    return end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1);
  };
}

/**
 * Exponential annealing: `start * (end / start) ** pct`.
 *
 * @param start Value at pct 0; not zero.
 * @param end Value at pct 1; same sign as `start` (or zero).
 * @returns The schedule.
 * @throws {RangeError} If `start` is zero, the signs differ, a value is not finite, or
 * (from the schedule) `pct` is outside [0, 1].
 *
 * @example Geometric midpoint
 * ```ts
 * import { annealingExp } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(annealingExp(1e-4, 1e-2)(0.5), 1e-3, 1e-12);
 * assertAlmostEquals(annealingExp(1, 100)(0.5), 10, 1e-9);
 * ```
 */
export function annealingExp(start: number, end: number): Schedule {
  _checkExp("create annealingExp", start, end);
  return (pct: number): number => {
    _pct("evaluate annealingExp", pct);
    return start * (end / start) ** pct;
  };
}

/**
 * Polynomial annealing of a given degree: an annealer whose schedule is
 * `end + (start - end) * (1 - pct) ** degree` (fastai's `annealing_poly(degree)`).
 *
 * @param degree The power; finite.
 * @returns The annealer.
 * @throws {RangeError} If `degree` is not finite.
 *
 * @example Quadratic and square-root decay
 * ```ts
 * import { annealingPoly } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(annealingPoly(2)(1, 0)(0.5), 0.25);
 * assertAlmostEquals(annealingPoly(0.5)(1, 0)(0.75), 0.5);
 * ```
 */
export function annealingPoly(degree: number): Annealer {
  _finite("create annealingPoly", "degree", degree);
  return (start: number, end: number): Schedule => {
    ends("annealingPoly", start, end);
    return (pct: number): number => {
      _pct("evaluate annealingPoly", pct);
      return end + (start - end) * (1 - pct) ** degree;
    };
  };
}
