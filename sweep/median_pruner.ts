import type { TrialReports } from "./pruner_callback.ts";

/** Options of {@linkcode medianPruner}. */
export interface MedianPrunerOptions {
  /** Epochs never pruned at the start of a trial. @default {1} */
  readonly warmupEpochs?: number;
  /** Other trials that must have reported the epoch before anything is pruned. @default {2} */
  readonly minTrials?: number;
}

/** The median pruner, as plain data (it crosses into sweep workers). */
export interface MedianPruner {
  /** Marks the kind. */
  readonly kind: "median";
  /** Epochs never pruned. */
  readonly warmupEpochs: number;
  /** Other trials needed at an epoch. */
  readonly minTrials: number;
}

/**
 * Stops a trial whose monitored value at an epoch is worse than the median of the other
 * trials' values at the same epoch (Optuna's MedianPruner), after `warmupEpochs`.
 *
 * @param options Warm-up and how many other trials must have reported.
 * @returns The pruner, for `sweep({ pruner })`.
 * @throws {RangeError} If an option is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { medianPruner, shouldPrune } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const p = medianPruner({ warmupEpochs: 1 });
 * const reports = new Map([[0, [0.9, 0.5]], [1, [0.9, 0.4]], [2, [0.9, 0.8]]]);
 * assertEquals(shouldPrune(p, reports, 2, 1, "minimize"), true);
 * assertEquals(shouldPrune(p, reports, 1, 1, "minimize"), false);
 * ```
 */
export function medianPruner(options: MedianPrunerOptions = {}): MedianPruner {
  const { warmupEpochs = 1, minTrials = 2 } = options;
  for (const [k, v] of [["warmupEpochs", warmupEpochs], ["minTrials", minTrials]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) {
      throw new RangeError(
        `Cannot create medianPruner as '${k}' must be a non-negative integer: current value is ${v}`,
      );
    }
  }
  return { kind: "median", warmupEpochs, minTrials };
}

/** The median pruner's decision for trial `self` at `epoch`. */
export function _medianDecision(
  p: MedianPruner,
  reports: TrialReports,
  self: number,
  epoch: number,
  minimize: boolean,
): boolean {
  if (epoch < p.warmupEpochs) return false;
  const value = reports.get(self)?.[epoch];
  if (value === undefined || Number.isNaN(value)) return value !== undefined;
  const others: number[] = [];
  for (const [id, values] of reports) {
    const v = values[epoch];
    if (id !== self && v !== undefined && !Number.isNaN(v)) others.push(v);
  }
  if (others.length < Math.max(1, p.minTrials)) return false;
  others.sort((a, b) => a - b);
  const mid = others.length >> 1;
  const median = others.length % 2 ? others[mid]! : (others[mid - 1]! + others[mid]!) / 2;
  return minimize ? value > median : value < median;
}
