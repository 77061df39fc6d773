import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";

/**
 * Stops the epoch and training, and skips validation, as soon as a training loss is NaN
 * or infinite. Reads every loss (`needsLoss`), so it stops at the batch that diverged.
 *
 * @returns The callback.
 *
 * @example
 * ```ts
 * import { terminateOnNaN } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * const u = terminateOnNaN().onBatchEnd!({ ...s, smoothLoss: NaN }, {});
 * assertEquals(u, { stopEpoch: true, stopTraining: true, skipValidate: true });
 * ```
 */
export function terminateOnNaN(): Callback {
  return {
    name: "terminateOnNaN",
    needsLoss: true,
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (s.train && !Number.isFinite(s.smoothLoss)) {
        return { stopEpoch: true, stopTraining: true, skipValidate: true };
      }
    },
  };
}
