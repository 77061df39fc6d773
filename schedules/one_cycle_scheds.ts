import { combineScheds } from "./combine_scheds.ts";
import { annealingCos } from "./annealing.ts";
import type { Schedule } from "./schedule.ts";
import { _finite, _positive } from "./_validate.ts";

/** Options of {@linkcode oneCycleScheds}. */
export interface OneCycleOptions<L extends number | readonly number[] = number> {
  /** Peak learning rate, or one per layer group. */
  readonly lrMax: L;
  /** The lr starts at `lrMax / divFactor`. @default {25} */
  readonly divFactor?: number;
  /** Fraction of training spent rising to `lrMax`, in [0, 1). @default {0.3} */
  readonly pctStart?: number;
  /** The lr ends at `lrMax / finalDiv`. @default {divFactor * 1e4} */
  readonly finalDiv?: number;
  /** Momentum at the start, at the lr peak and at the end. @default {[0.95, 0.85, 0.95]} */
  readonly moms?: readonly [number, number, number];
}

/** The two schedules of the one-cycle policy. */
export interface OneCycleSchedules<L extends number | readonly number[] = number> {
  /** Learning rate (an array when `lrMax` is one). */
  readonly lr: Schedule<L extends number ? number : number[]>;
  /** Momentum. */
  readonly mom: Schedule;
}

/**
 * The one-cycle policy (fastai v1 `OneCycleScheduler`): lr rises by cosine from
 * `lrMax / divFactor` to `lrMax` over the first `pctStart` of training, then falls by
 * cosine to `lrMax / finalDiv`; momentum moves the opposite way through `moms`.
 *
 * @param options Peak lr and shape.
 * @returns The `lr` and `mom` schedules.
 * @throws {RangeError} If `pctStart` is outside [0, 1), a divisor or lr is not > 0, or a
 * momentum is not finite.
 *
 * @example Peak at pctStart
 * ```ts
 * import { oneCycleScheds } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const { lr, mom } = oneCycleScheds({ lrMax: 1e-2 });
 * assertAlmostEquals(lr(0), 4e-4, 1e-12);
 * assertAlmostEquals(lr(0.3), 1e-2, 1e-12);
 * assertAlmostEquals(mom(0.3), 0.85);
 * assertAlmostEquals(lr(1), 1e-2 / 25e4, 1e-15);
 * ```
 */
export function oneCycleScheds<L extends number | readonly number[]>(
  options: OneCycleOptions<L>,
): OneCycleSchedules<L> {
  const what = "create oneCycle";
  const divFactor = options.divFactor ?? 25;
  const pctStart = options.pctStart ?? 0.3;
  _positive(what, "divFactor", divFactor);
  const finalDiv = options.finalDiv ?? divFactor * 1e4;
  _positive(what, "finalDiv", finalDiv);
  if (!(pctStart >= 0 && pctStart < 1)) {
    throw new RangeError(
      `Cannot ${what} as 'pctStart' must be in [0, 1): current value is ${pctStart}`,
    );
  }
  const moms = options.moms ?? [0.95, 0.85, 0.95];
  moms.forEach((m, i) => _finite(what, `moms[${i}]`, m));
  const phases = [pctStart, 1 - pctStart];
  const cycle = (lo: number, peak: number, end: number): Schedule =>
    combineScheds(phases, [annealingCos(lo, peak), annealingCos(peak, end)]);
  const mom = cycle(moms[0], moms[1], moms[2]);
  const lrMax = options.lrMax;
  if (typeof lrMax === "number") {
    _positive(what, "lrMax", lrMax);
    const lr = cycle(lrMax / divFactor, lrMax, lrMax / finalDiv);
    return { lr, mom } as OneCycleSchedules<L>;
  }
  const perGroup = (lrMax as readonly number[]).map((m, i) => {
    _positive(what, `lrMax[${i}]`, m);
    return cycle(m / divFactor, m, m / finalDiv);
  });
  const lr = (pct: number): number[] => perGroup.map((s) => s(pct));
  return { lr, mom } as OneCycleSchedules<L>;
}
