import { combineScheds } from "./combine_scheds.ts";
import { annealingCos } from "./annealing.ts";
import type { Schedule } from "./schedule.ts";
import { stepper } from "./stepper.ts";
import { _finite, _positive } from "./_validate.ts";

/** Options of {@linkcode oneCycleScheds} and {@linkcode oneCycleSteps}. */
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

/** The one-cycle policy by batch index (see {@linkcode oneCycleSteps}). */
export interface OneCycleSteps<L extends number | readonly number[] = number> {
  /** Learning rate of batch `i` (an array when `lrMax` is one). */
  readonly lr: (i: number) => L extends number ? number : number[];
  /** Momentum of batch `i`. */
  readonly mom: (i: number) => number;
  /** Batches of the rise: `floor(nIter * pctStart)` (fastai v1's `a1`). */
  readonly a1: number;
}

interface Shape {
  readonly lrMaxes: readonly number[];
  readonly divFactor: number;
  readonly finalDiv: number;
  readonly pctStart: number;
  readonly moms: readonly [number, number, number];
}

function _shape(options: OneCycleOptions<number | readonly number[]>): Shape {
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
  const lrMax = options.lrMax;
  if (typeof lrMax === "number") _positive(what, "lrMax", lrMax);
  else lrMax.forEach((m, i) => _positive(what, `lrMax[${i}]`, m));
  const lrMaxes = typeof lrMax === "number" ? [lrMax] : lrMax.slice();
  return { lrMaxes, divFactor, finalDiv, pctStart, moms };
}

/**
 * The one-cycle policy as schedules of the fraction of training done, with the rise ending
 * at the continuous fraction `pctStart` (fastai v2's `combine_scheds` form): lr rises by
 * cosine from `lrMax / divFactor` to `lrMax` over `[0, pctStart)`, then falls by cosine to
 * `lrMax / finalDiv`; momentum moves the opposite way through `moms`. Over `n` whole
 * batches the peak falls between two batches unless `n * pctStart` is whole; fastai v1
 * splits at whole batches instead: see {@linkcode oneCycleSteps}.
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
  const { lrMaxes, divFactor, finalDiv, pctStart, moms } = _shape(options);
  const phases = [pctStart, 1 - pctStart];
  const cycle = (lo: number, peak: number, end: number): Schedule =>
    combineScheds(phases, [annealingCos(lo, peak), annealingCos(peak, end)]);
  const mom = cycle(moms[0], moms[1], moms[2]);
  const perGroup = lrMaxes.map((m) => cycle(m / divFactor, m, m / finalDiv));
  const lr = typeof options.lrMax === "number"
    ? perGroup[0]!
    : (pct: number): number[] => perGroup.map((s) => s(pct));
  return { lr, mom } as OneCycleSchedules<L>;
}

/**
 * The one-cycle policy over `nIter` batches exactly as fastai v1's `OneCycleScheduler`
 * (`fastai/callbacks/one_cycle.py`): the cycle is split at `a1 = floor(nIter * pctStart)`
 * whole batches into two of v1's `Scheduler`s (`fastai/callback.py`) of `a1` and
 * `nIter - a1` steps, each a cosine. Batch 0 runs at the start values; batch `i` in
 * `1..a1` at the rise's value after `i` steps (so batch `a1` at exactly `lrMax`); batch
 * `a1 + k` at the fall's value after `k` steps. A `Scheduler` of 0 steps counts as 1, as
 * in v1; batches past the end hold the end values.
 *
 * @param options Peak lr and shape.
 * @param nIter Batches of the whole cycle; a positive integer.
 * @returns Functions from the batch index `i >= 0` to the lr and momentum, and `a1`.
 * @throws {RangeError} As {@linkcode oneCycleScheds}, or if `nIter` is not a positive
 * integer; from the returned functions, if `i` is negative.
 *
 * @example 21 batches (3 epochs of 7): the peak is batch 6, exactly lrMax
 * ```ts
 * import { oneCycleSteps } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const { lr, a1 } = oneCycleSteps({ lrMax: 1e-2 }, 21);
 * assertEquals([a1, lr(0), lr(6)], [6, 4e-4, 1e-2]);
 * assertAlmostEquals(lr(1), 0.001043078061834693, 1e-15);
 * ```
 */
export function oneCycleSteps<L extends number | readonly number[]>(
  options: OneCycleOptions<L>,
  nIter: number,
): OneCycleSteps<L> {
  const { lrMaxes, divFactor, finalDiv, pctStart, moms } = _shape(options);
  if (!(Number.isInteger(nIter) && nIter >= 1)) {
    throw new RangeError(
      `Cannot create oneCycle as 'nIter' must be a positive integer: current value is ${nIter}`,
    );
  }
  const a1 = Math.floor(nIter * pctStart);
  const a2 = nIter - a1;
  const rise = Math.max(1, a1); // Scheduler: n_iter = max(1, n_iter)
  const cycle = (lo: number, peak: number, end: number): (i: number) => number => {
    const up = stepper([lo, peak], a1, annealingCos);
    const down = stepper([peak, end], a2, annealingCos);
    return (i: number): number => (i <= rise ? up(i) : down(i - rise));
  };
  const mom = cycle(moms[0], moms[1], moms[2]);
  const perGroup = lrMaxes.map((m) => cycle(m / divFactor, m, m / finalDiv));
  const lr = typeof options.lrMax === "number"
    ? perGroup[0]!
    : (i: number): number[] => perGroup.map((s) => s(i));
  return { lr, mom, a1 } as OneCycleSteps<L>;
}
