import { combineScheds } from "./combine_scheds.ts";
import { annealingCos } from "./annealing.ts";
import type { Schedule } from "./schedule.ts";
import { _finite, _positive } from "./_validate.ts";

/** Options of {@linkcode sgdrScheds}. */
export interface SgdrOptions {
  /** Value at the start of every cycle (the restart value). */
  readonly lrMax: number;
  /** Value at the end of every cycle. @default {0} */
  readonly lrMin?: number;
  /** Number of cycles over the whole training. @default {3} */
  readonly nCycles?: number;
  /** Each cycle is `cycleMult` times as long as the one before. @default {2} */
  readonly cycleMult?: number;
}

/**
 * Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter): `nCycles` cosine
 * cycles from `lrMax` to `lrMin`, each `cycleMult` times longer than the last, filling
 * [0, 1] together.
 *
 * @param options Peak, floor, cycles and length multiplier.
 * @returns The schedule.
 * @throws {RangeError} If `nCycles` is not a positive integer, `cycleMult` is not > 0 or a
 * value is not finite.
 *
 * @example Three cycles of lengths 1:2:4
 * ```ts
 * import { sgdrScheds } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const s = sgdrScheds({ lrMax: 1, nCycles: 3, cycleMult: 2 });
 * assertAlmostEquals(s(0), 1);
 * assertAlmostEquals(s(1 / 7), 1); // second cycle restarts
 * assertAlmostEquals(s(3 / 7), 1); // third cycle restarts
 * assertAlmostEquals(s(1), 0);
 * ```
 */
export function sgdrScheds(options: SgdrOptions): Schedule {
  const what = "create sgdrScheds";
  const { lrMax, lrMin = 0, nCycles = 3, cycleMult = 2 } = options;
  _finite(what, "lrMax", lrMax);
  _finite(what, "lrMin", lrMin);
  _positive(what, "cycleMult", cycleMult);
  if (!(Number.isInteger(nCycles) && nCycles >= 1)) {
    throw new RangeError(
      `Cannot ${what} as 'nCycles' must be a positive integer: current value is ${nCycles}`,
    );
  }
  const lengths = Array.from({ length: nCycles }, (_, i) => cycleMult ** i);
  const total = lengths.reduce((a, b) => a + b, 0);
  const pcts = lengths.map((l) => l / total);
  pcts[pcts.length - 1] = 1 - pcts.slice(0, -1).reduce((a, b) => a + b, 0);
  return combineScheds(pcts, lengths.map(() => annealingCos(lrMax, lrMin)));
}
