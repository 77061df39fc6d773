import { type Annealer, annealingLinear, annealingNo } from "./annealing.ts";
import { _finite } from "./_validate.ts";

/**
 * The seed's `Stepper` (fastai v1's `Scheduler`, `fastai/callback.py`) as a pure function of
 * the step count: the value after `n` steps of `nIter` is `annealer(start, end)(n / nIter)`,
 * and exactly `start` before any step (v1's `Scheduler.start`).
 * Steps past `nIter` stay at the end value, where v1's keeps annealing past pct 1; no v1
 * callback steps a finished scheduler, so no v1 run sees the difference (README,
 * FASTAI_V1_DIFFERENCES).
 *
 * @param vals `[start, end]` (default annealer linear), or a single value (default
 * annealer `annealingNo`, end 0).
 * @param nIter Number of steps from start to end; below 1 it is treated as 1.
 * @param annealer How to move from start to end.
 * @returns A function from the step count `n >= 0` to the value.
 * @throws {RangeError} If a value is not finite, or (from the returned function) `n < 0`.
 *
 * @example Ten linear steps
 * ```ts
 * import { stepper } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const at = stepper([0, 1], 10);
 * assertAlmostEquals(at(3), 0.3);
 * assertAlmostEquals(at(10), 1);
 * ```
 */
export function stepper(
  vals: number | readonly [number, number],
  nIter: number,
  annealer?: Annealer,
): (n: number) => number {
  const what = "create stepper";
  const pair = typeof vals === "number" ? undefined : vals;
  const start = pair ? pair[0] : vals as number;
  const end = pair ? pair[1] : 0;
  _finite(what, "start", start);
  _finite(what, "end", end);
  if (Number.isNaN(nIter)) {
    throw new RangeError(`Cannot ${what} as 'nIter' must be a number: current value is NaN`);
  }
  const steps = Math.max(1, nIter);
  const anneal = annealer ?? (pair ? annealingLinear : annealingNo);
  return (n: number): number => {
    if (!(n >= 0)) {
      throw new RangeError(`Cannot step as 'n' must be >= 0: current value is ${n}`);
    }
    // before any step, exactly the start value (v1's `Scheduler.start`), whatever the annealer
    return n === 0 ? start : anneal(start, end)(Math.min(1, n / steps));
  };
}
