import type { Schedule } from "./schedule.ts";

/**
 * A dry run: the `n` values a training of `n` steps would see, step `i` at pct `i / n`.
 *
 * @param schedule The schedule.
 * @param n Number of steps; a non-negative integer.
 * @returns The values, in step order.
 * @throws {RangeError} If `n` is not a non-negative integer.
 *
 * @example Four steps of a linear ramp
 * ```ts
 * import { annealingLinear, simulate } from "@fitloop/fitloop/schedules";
 * import { assertEquals } from "@std/assert";
 * assertEquals(simulate(annealingLinear(0, 4), 4), [0, 1, 2, 3]);
 * ```
 */
export function simulate<T>(schedule: Schedule<T>, n: number): T[] {
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new RangeError(
      `Cannot simulate as 'n' must be a non-negative integer: current value is ${n}`,
    );
  }
  const out: T[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = schedule(i / n);
  return out;
}
