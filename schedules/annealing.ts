/**
 * The seed's annealing functions: how a value moves from `start` to `end` as `pct` goes
 * from 0 to 1. Formulas are fastai v1's (`fastai/callback.py`).
 *
 * @module
 */
import { _checkExp, _finite, _pct } from "./_validate.ts";

/** An annealing function: the value at fraction `pct` of the way from `start` to `end`. */
export type Annealer = (start: number, end: number, pct: number) => number;

/**
 * No annealing: always `start`.
 *
 * @param start The value returned.
 * @param _end Ignored.
 * @param pct Fraction done, in [0, 1].
 * @returns `start`.
 * @throws {RangeError} If `pct` is outside [0, 1].
 *
 * @example Always the start value
 * ```ts
 * import { annealingNo } from "@fitloop/fitloop/schedules";
 * import { assertEquals } from "@std/assert";
 * assertEquals(annealingNo(3, 9, 0.7), 3);
 * ```
 */
export function annealingNo(start: number, _end: number, pct: number): number {
  _pct("anneal", pct);
  return start;
}

/**
 * Linear annealing: `start + pct * (end - start)`.
 *
 * @param start Value at pct 0.
 * @param end Value at pct 1.
 * @param pct Fraction done, in [0, 1].
 * @returns The interpolated value.
 * @throws {RangeError} If `pct` is outside [0, 1].
 *
 * @example Halfway
 * ```ts
 * import { annealingLinear } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(annealingLinear(1, 3, 0.5), 2);
 * ```
 */
export function annealingLinear(start: number, end: number, pct: number): number {
  _pct("anneal", pct);
  return start + pct * (end - start);
}

/**
 * Cosine annealing: `end + (start - end) / 2 * (cos(pi * pct) + 1)`.
 *
 * @param start Value at pct 0.
 * @param end Value at pct 1.
 * @param pct Fraction done, in [0, 1].
 * @returns The annealed value.
 * @throws {RangeError} If `pct` is outside [0, 1].
 *
 * @example Cosine halfway is the midpoint
 * ```ts
 * import { annealingCos } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(annealingCos(1, 0, 0.5), 0.5);
 * assertAlmostEquals(annealingCos(1, 0, 0.25), 0.8535533905932737);
 * ```
 */
export function annealingCos(start: number, end: number, pct: number): number {
  _pct("anneal", pct);
  return end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1);
}

/**
 * Exponential annealing: `start * (end / start) ** pct`.
 *
 * @param start Value at pct 0; not zero.
 * @param end Value at pct 1; same sign as `start` (or zero).
 * @param pct Fraction done, in [0, 1].
 * @returns The annealed value.
 * @throws {RangeError} If `pct` is outside [0, 1], `start` is zero, or the signs differ.
 *
 * @example Geometric midpoint
 * ```ts
 * import { annealingExp } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(annealingExp(1e-4, 1e-2, 0.5), 1e-3, 1e-12);
 * ```
 */
export function annealingExp(start: number, end: number, pct: number): number {
  _pct("anneal", pct);
  _checkExp("anneal exponentially", start, end);
  return start * (end / start) ** pct;
}

/**
 * Polynomial annealing of a given degree: returns `(start, end, pct) =>
 * end + (start - end) * (1 - pct) ** degree`.
 *
 * @param degree The power; finite.
 * @returns The annealer.
 * @throws {RangeError} If `degree` is not finite.
 *
 * @example Quadratic decay
 * ```ts
 * import { annealingPoly } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const quad = annealingPoly(2);
 * assertAlmostEquals(quad(1, 0, 0.5), 0.25);
 * ```
 */
export function annealingPoly(degree: number): Annealer {
  _finite("create annealingPoly", "degree", degree);
  return (start: number, end: number, pct: number): number => {
    _pct("anneal", pct);
    return end + (start - end) * (1 - pct) ** degree;
  };
}
