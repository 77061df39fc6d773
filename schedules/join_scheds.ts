import type { StepSchedule } from "./at_step.ts";

/**
 * Joins step schedules at step boundaries with local time (Optax's `join_schedules`):
 * before `boundaries[0]` it is `schedules[0](step)`; from `boundaries[i]` on it is
 * `schedules[i + 1](step - boundaries[i])`.
 *
 * @param schedules Step schedules, one more than `boundaries`.
 * @param boundaries Increasing non-negative step counts.
 * @returns The joined step schedule.
 * @throws {RangeError} If the lengths do not match or the boundaries are not increasing.
 *
 * @example 100 warm-up steps then a constant
 * ```ts
 * import { atStep, joinScheds, schedLin, schedNo } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const s = joinScheds([atStep(schedLin(0, 1), 100), atStep(schedNo(1), 1)], [100]);
 * assertAlmostEquals(s(50), 0.5);
 * assertAlmostEquals(s(150), 1);
 * ```
 */
export function joinScheds<T>(
  schedules: readonly StepSchedule<T>[],
  boundaries: readonly number[],
): StepSchedule<T> {
  const what = "create joinScheds";
  if (schedules.length !== boundaries.length + 1) {
    throw new RangeError(
      `Cannot ${what} as 'schedules' must have one more entry than 'boundaries' ` +
        `(${boundaries.length}): current length is ${schedules.length}`,
    );
  }
  boundaries.forEach((b, i) => {
    const prev = i === 0 ? 0 : boundaries[i - 1]!;
    if (!(Number.isFinite(b) && (i === 0 ? b >= 0 : b > prev))) {
      throw new RangeError(
        `Cannot ${what} as 'boundaries[${i}]' must be a finite step ${
          i === 0 ? ">= 0" : `> ${prev}`
        }: current value is ${b}`,
      );
    }
  });
  const bounds = boundaries.slice();
  const parts = schedules.slice();
  return (step: number): T => {
    let i = 0;
    while (i < bounds.length && step >= bounds[i]!) i++;
    return parts[i]!(i === 0 ? step : step - bounds[i - 1]!);
  };
}
