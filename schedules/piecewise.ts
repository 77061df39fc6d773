import type { Schedule } from "./schedule.ts";
import { _finite, _pct } from "./_validate.ts";

/** Options of {@linkcode piecewise}. */
export interface PiecewiseOptions {
  /** Increasing fractions in (0, 1) where the value changes. */
  readonly boundaries: readonly number[];
  /** The values, one more than `boundaries`: `values[i]` holds until `boundaries[i]`. */
  readonly values: readonly number[];
}

/**
 * A piecewise-constant schedule: `values[0]` before `boundaries[0]`, `values[i]` from
 * `boundaries[i - 1]` on (a boundary belongs to the later piece).
 *
 * @param options Boundaries and values.
 * @returns The schedule.
 * @throws {RangeError} If the lengths do not match, the boundaries are not increasing in
 * (0, 1), or a value is not finite.
 *
 * @example Step decay at 50% and 75%
 * ```ts
 * import { piecewise } from "@fitloop/fitloop/schedules";
 * import { assertEquals } from "@std/assert";
 * const s = piecewise({ boundaries: [0.5, 0.75], values: [1, 0.1, 0.01] });
 * assertEquals([s(0), s(0.5), s(0.8)], [1, 0.1, 0.01]);
 * ```
 */
export function piecewise(options: PiecewiseOptions): Schedule {
  const what = "create piecewise";
  const boundaries = options.boundaries.slice();
  const values = options.values.slice();
  if (values.length !== boundaries.length + 1) {
    throw new RangeError(
      `Cannot ${what} as 'values' must have one more entry than 'boundaries' ` +
        `(${boundaries.length}): current length is ${values.length}`,
    );
  }
  values.forEach((v, i) => _finite(what, `values[${i}]`, v));
  boundaries.forEach((b, i) => {
    const prev = i === 0 ? 0 : boundaries[i - 1]!;
    if (!(b > prev && b < 1)) {
      throw new RangeError(
        `Cannot ${what} as 'boundaries[${i}]' must be in (${prev}, 1): current value is ${b}`,
      );
    }
  });
  return (pct: number): number => {
    _pct("evaluate piecewise", pct);
    let i = 0;
    while (i < boundaries.length && pct >= boundaries[i]!) i++;
    return values[i]!;
  };
}
