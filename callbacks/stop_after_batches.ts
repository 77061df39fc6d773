import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";

/**
 * Stops training after `n` training batches and skips validation (fastai's
 * StopAfterNBatches): a quick run through the whole loop while debugging a model, a data
 * pipeline or a callback.
 *
 * @param n Training batches to run; a positive integer.
 * @returns The callback.
 * @throws {RangeError} If `n` is not a positive integer.
 *
 * @example Three batches of a 2 × 5 run
 * ```ts
 * import { stopAfterBatches } from "@fitloop/fitloop/callbacks";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const run = await dryRun([stopAfterBatches(3)], { epochs: 2, batchesPerEpoch: 5 });
 * assertEquals([run.state.iteration, run.history.valLosses], [3, [NaN]]);
 * ```
 */
export function stopAfterBatches(n: number): Callback {
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new RangeError(
      `Cannot create stopAfterBatches as 'n' must be a positive integer: current value is ${n}`,
    );
  }
  return {
    name: "stopAfterBatches",
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (s.train && s.iteration + 1 >= n) {
        return { stopEpoch: true, stopTraining: true, skipValidate: true };
      }
    },
  };
}
