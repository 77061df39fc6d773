import type { Schedule } from "./schedule.ts";
import { _pct } from "./_validate.ts";

/**
 * Joins schedules end to end over [0, 1]: piece `i` takes the fraction `pcts[i]` of
 * training and runs `scheds[i]` over its own local 0..1. At a boundary the later piece
 * starts (at its local 0); pct 1 is the last schedule at 1.
 *
 * @param pcts Fractions of training, one per schedule, each >= 0, summing to 1 (within 1e-9).
 * @param scheds The schedules, as many as `pcts`.
 * @returns The combined schedule.
 * @throws {RangeError} If the lengths differ, are zero, a fraction is negative or not
 * finite, or the fractions do not sum to 1.
 *
 * @example Warm up linearly for 25%, then decay by cosine
 * ```ts
 * import { combineScheds, annealingCos, annealingLinear } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const s = combineScheds([0.25, 0.75], [annealingLinear(0, 1), annealingCos(1, 0)]);
 * assertAlmostEquals(s(0.125), 0.5);
 * assertAlmostEquals(s(0.25), 1);
 * assertAlmostEquals(s(1), 0);
 * ```
 */
export function combineScheds<T>(
  pcts: readonly number[],
  scheds: readonly Schedule<T>[],
): Schedule<T> {
  const what = "create combineScheds";
  if (pcts.length === 0 || pcts.length !== scheds.length) {
    throw new RangeError(
      `Cannot ${what} as 'pcts' and 'scheds' must have the same non-zero length: ` +
        `current lengths are ${pcts.length} and ${scheds.length}`,
    );
  }
  const ends = new Float64Array(pcts.length);
  let sum = 0;
  pcts.forEach((p, i) => {
    if (!(Number.isFinite(p) && p >= 0)) {
      throw new RangeError(
        `Cannot ${what} as 'pcts[${i}]' must be a finite number >= 0: current value is ${p}`,
      );
    }
    sum += p;
    ends[i] = sum;
  });
  if (Math.abs(sum - 1) > 1e-9) {
    throw new RangeError(`Cannot ${what} as 'pcts' must sum to 1: current sum is ${sum}`);
  }
  const last = scheds.length - 1;
  ends[last] = 1;
  const pieces = scheds.slice();
  return (pct: number): T => {
    _pct("evaluate combineScheds", pct);
    let i = 0;
    while (i < last && pct >= ends[i]!) i++;
    const begin = i === 0 ? 0 : ends[i - 1]!;
    const width = ends[i]! - begin;
    const local = width > 0 ? Math.min(1, (pct - begin) / width) : 1;
    return pieces[i]!(local);
  };
}
