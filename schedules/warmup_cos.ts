import { combineScheds } from "./combine_scheds.ts";
import { annealingCos, annealingLinear } from "./annealing.ts";
import type { Schedule } from "./schedule.ts";

/** Options of {@linkcode warmupCos}. */
export interface WarmupCosOptions {
  /** Value after warm-up. */
  readonly peak: number;
  /** Value at pct 0. @default {0} */
  readonly start?: number;
  /** Value at pct 1. @default {0} */
  readonly end?: number;
  /** Fraction of training spent warming up, in [0, 1]. @default {0.1} */
  readonly pctWarmup?: number;
}

/**
 * Linear warm-up from `start` to `peak` over `pctWarmup`, then cosine decay to `end`.
 *
 * @param options Peak, start, end and warm-up fraction.
 * @returns The schedule.
 * @throws {RangeError} If `pctWarmup` is outside [0, 1] or a value is not finite.
 *
 * @example Ten percent warm-up
 * ```ts
 * import { warmupCos } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const s = warmupCos({ peak: 1, pctWarmup: 0.1 });
 * assertAlmostEquals(s(0.05), 0.5);
 * assertAlmostEquals(s(0.1), 1);
 * assertAlmostEquals(s(0.55), 0.5);
 * ```
 */
export function warmupCos(options: WarmupCosOptions): Schedule {
  const { peak, start = 0, end = 0, pctWarmup = 0.1 } = options;
  if (!(pctWarmup >= 0 && pctWarmup <= 1)) {
    throw new RangeError(
      `Cannot create warmupCos as 'pctWarmup' must be in [0, 1]: current value is ${pctWarmup}`,
    );
  }
  return combineScheds([pctWarmup, 1 - pctWarmup], [
    annealingLinear(start, peak),
    annealingCos(peak, end),
  ]);
}
