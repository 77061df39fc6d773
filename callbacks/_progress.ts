// The fraction of training done before the batch in hand, for schedulers.
import type { TrainState } from "../core/state.ts";

/** Total training batches of the fit; a RangeError if the data cannot tell. */
export function _totalBatches(s: TrainState, who: string): number {
  if (s.nBatches === undefined) {
    throw new RangeError(
      `Callback '${who}' needs the number of batches per epoch: give the training data as ` +
        "batches(), an array or a tf.data.Dataset of known size",
    );
  }
  return s.nEpochs * s.nBatches;
}

/** `iteration / total`, clamped to [0, 1]. */
export function _pct(s: TrainState, total: number): number {
  return Math.min(1, Math.max(0, s.iteration / total));
}
