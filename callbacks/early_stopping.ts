import * as tf from "@tensorflow/tfjs";
import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { Tensor } from "../core/types.ts";
import { memoryOf } from "../core/callback.ts";
import { type Mode, type Tracked, tracker } from "./tracker.ts";
import { _restoreWeights, _snapshotWeights } from "../core/_weights.ts";
import { checkOptions } from "../core/_options.ts";

const EARLY_STOPPING_OPTIONS = ["monitor", "mode", "minDelta", "patience", "restoreBest", "name"];

/** Options of {@linkcode earlyStopping}. */
export interface EarlyStoppingOptions {
  /** Name in `metricNames` to watch. @default {"validLoss"} */
  readonly monitor?: string;
  /** Better is smaller or larger. @default {"min" for loss/error names, else "max"} */
  readonly mode?: Mode;
  /** An epoch improves only if it beats the best by more than this. @default {0} */
  readonly minDelta?: number;
  /** Epochs without improvement tolerated before stopping. @default {0} */
  readonly patience?: number;
  /** Put back the weights of the best epoch when training ends. @default {false} */
  readonly restoreBest?: boolean;
  /** Callback name (and memory key). @default {"earlyStopping"} */
  readonly name?: string;
}

/** The memory of {@linkcode earlyStopping}: the tracker's record and more. */
export interface EarlyStoppingMemory extends Tracked {
  /** Epoch at which it stopped training, or -1. */
  readonly stoppedEpoch: number;
  /** Copies of the best weights (with `restoreBest`), freed when training ends. */
  readonly weights?: readonly Tensor[];
}

/**
 * Stops training when the monitored metric stops improving, with fastai v1 semantics: an
 * epoch improves when it beats the best by more than `minDelta`, and training stops at
 * the end of the (patience + 1)-th consecutive epoch without improvement.
 *
 * @param options What to monitor and how patiently.
 * @returns The callback.
 * @throws {TypeError} If an option is unknown (the message suggests the closest).
 * @throws {RangeError} If `patience` or `minDelta` is negative or `mode` is not "min" or
 * "max". When a fit starts, `fit` refuses a monitor that is not one of its metrics, and a
 * validation metric in a fit without validation data.
 *
 * @example Stops after two epochs without improvement (patience 1)
 * ```ts
 * import { earlyStopping } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { type TrainState } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const cb = earlyStopping({ patience: 1 });
 * let s: TrainState = initialState({ nEpochs: 9, hypers: [], loss: () => { throw 0; } });
 * const stops: boolean[] = [];
 * for (const [epoch, v] of [0.9, 0.8, 0.85, 0.81].entries()) {
 *   const u = cb.onEpochEnd!({ ...s, epoch, lastMetrics: [v] }, {}) as
 *     { memory: unknown; stopTraining?: boolean };
 *   s = { ...s, memory: { earlyStopping: u.memory } };
 *   stops.push(u.stopTraining ?? false);
 * }
 * assertEquals(stops, [false, false, false, true]);
 * ```
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): Callback {
  checkOptions("create earlyStopping", options, EARLY_STOPPING_OPTIONS);
  const name = options.name ?? "earlyStopping";
  const patience = options.patience ?? 0;
  if (!(patience >= 0)) {
    throw new RangeError(
      `Cannot create earlyStopping as 'patience' must be >= 0: current value is ${patience}`,
    );
  }
  const track = tracker(options, "earlyStopping");
  const initial: EarlyStoppingMemory = { ...track.initial, stoppedEpoch: -1 };
  return {
    name,
    monitors: [track.monitor],
    onTrainBegin: (): StateUpdate => ({ memory: initial }),
    onEpochEnd(s: TrainState, ctx): StateUpdate {
      const m = memoryOf(s, name, initial);
      const { tracked, improved } = track.step(s, m, name);
      if (improved) {
        let weights = m.weights;
        if (options.restoreBest && ctx.learner) {
          if (weights) tf.dispose(weights.slice());
          weights = _snapshotWeights(ctx.learner.model);
        }
        return { memory: { ...m, ...tracked, weights } };
      }
      if (tracked.wait > patience) {
        return { memory: { ...m, ...tracked, stoppedEpoch: s.epoch }, stopTraining: true };
      }
      return { memory: { ...m, ...tracked } };
    },
    onTrainEnd(s: TrainState, ctx): StateUpdate | void {
      const m = memoryOf(s, name, initial);
      if (!m.weights) return;
      if (ctx.learner) _restoreWeights(ctx.learner.model, m.weights);
      else tf.dispose(m.weights.slice());
      const { weights: _, ...rest } = m;
      return { memory: rest };
    },
  };
}
