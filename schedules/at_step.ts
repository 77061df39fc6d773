import type { Schedule } from "./sched.ts";

/** A schedule indexed by step count rather than by fraction of training. */
export type StepSchedule<T = number> = (step: number) => T;

/**
 * A step-indexed view of a schedule over `totalSteps` steps: step `i` reads the schedule
 * at `min(i / totalSteps, 1)`.
 *
 * @param schedule The pct schedule.
 * @param totalSteps Steps that make up the whole schedule; a positive integer.
 * @returns The step schedule.
 * @throws {RangeError} If `totalSteps` is not a positive integer, or (from the returned
 * function) a step is negative.
 *
 * @example Step 5 of 10 is pct 0.5
 * ```ts
 * import { atStep, schedLin } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(atStep(schedLin(0, 1), 10)(5), 0.5);
 * ```
 */
export function atStep<T>(schedule: Schedule<T>, totalSteps: number): StepSchedule<T> {
  if (!(Number.isInteger(totalSteps) && totalSteps >= 1)) {
    throw new RangeError(
      `Cannot create atStep as 'totalSteps' must be a positive integer: current value is ${totalSteps}`,
    );
  }
  return (step: number): T => {
    if (!(step >= 0)) {
      throw new RangeError(
        `Cannot evaluate atStep as 'step' must be >= 0: current value is ${step}`,
      );
    }
    return schedule(Math.min(1, step / totalSteps));
  };
}
