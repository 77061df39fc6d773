import type { TrialReports } from "./pruner_callback.ts";

/** Options of {@linkcode ashaPruner}. */
export interface AshaPrunerOptions {
  /** Epochs of the first rung. @default {1} */
  readonly minEpochs?: number;
  /** Rung k is reached after `minEpochs * reductionFactor ** k` epochs; a trial goes on only in the top 1 / reductionFactor there. @default {3} */
  readonly reductionFactor?: number;
}

/** The successive-halving pruner, as plain data (it crosses into sweep workers). */
export interface AshaPruner {
  /** Marks the kind. */
  readonly kind: "asha";
  /** Epochs of the first rung. */
  readonly minEpochs: number;
  /** Reduction factor. */
  readonly reductionFactor: number;
}

/**
 * Asynchronous successive halving (ASHA, as Optuna's SuccessiveHalvingPruner): rungs
 * after `minEpochs`, `minEpochs * rf`, `minEpochs * rf^2`, … epochs; at a rung a trial
 * goes on only if its value is within the best `floor(n / rf)` (at least the best one)
 * of the `n` trials that have reached that rung so far, itself included.
 *
 * @param options First rung and reduction factor.
 * @returns The pruner, for `sweep({ pruner })`.
 * @throws {RangeError} If `minEpochs` is not a positive integer or `reductionFactor` < 2.
 *
 * @example
 * ```ts
 * import { ashaPruner, shouldPrune } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const p = ashaPruner({ minEpochs: 1, reductionFactor: 2 });
 * const reports = new Map([[0, [0.5]], [1, [0.4]], [2, [0.9]], [3, [0.6]]]);
 * assertEquals(shouldPrune(p, reports, 2, 0, "minimize"), true); // rung 1 keeps the best 2
 * assertEquals(shouldPrune(p, reports, 0, 0, "minimize"), false);
 * ```
 */
export function ashaPruner(options: AshaPrunerOptions = {}): AshaPruner {
  const { minEpochs = 1, reductionFactor = 3 } = options;
  if (!(Number.isInteger(minEpochs) && minEpochs >= 1)) {
    throw new RangeError(
      `Cannot create ashaPruner as 'minEpochs' must be a positive integer: current value is ${minEpochs}`,
    );
  }
  if (!(reductionFactor >= 2)) {
    throw new RangeError(
      `Cannot create ashaPruner as 'reductionFactor' must be >= 2: current value is ${reductionFactor}`,
    );
  }
  return { kind: "asha", minEpochs, reductionFactor };
}

/** Whether the end of 0-based `epoch` is a rung. */
function _isRung(p: AshaPruner, epoch: number): boolean {
  for (let r = p.minEpochs; r <= epoch + 1; r *= p.reductionFactor) {
    if (r === epoch + 1) return true;
  }
  return false;
}

/** The ASHA pruner's decision for trial `self` at `epoch`. */
export function _ashaDecision(
  p: AshaPruner,
  reports: TrialReports,
  self: number,
  epoch: number,
  minimize: boolean,
): boolean {
  if (!_isRung(p, epoch)) return false;
  const value = reports.get(self)?.[epoch];
  if (value === undefined) return false;
  if (Number.isNaN(value)) return true;
  const competing: number[] = [];
  for (const values of reports.values()) {
    const v = values[epoch];
    if (v !== undefined && !Number.isNaN(v)) competing.push(v);
  }
  competing.sort((a, b) => (minimize ? a - b : b - a));
  const keep = Math.max(1, Math.floor(competing.length / p.reductionFactor));
  const threshold = competing[keep - 1]!;
  return minimize ? value > threshold : value < threshold;
}
