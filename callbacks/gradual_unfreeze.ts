import type { Callback, FitContext, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { type FreezeOptions, freezeTo } from "../core/freeze.ts";
import { memoryOf } from "../core/callback.ts";

/** Options of {@linkcode gradualUnfreeze}. */
export interface GradualUnfreezeOptions extends FreezeOptions {
  /** Layer groups trainable in the first epoch, counted from the head. @default {1} */
  readonly start?: number;
  /** Epochs between two unfreezings. @default {1} */
  readonly every?: number;
}

/** The memory of {@linkcode gradualUnfreeze}. */
export interface GradualUnfreezeMemory {
  /** Layer groups trainable now, counted from the head (the last groups). */
  readonly trainable: number;
}

/**
 * Gradual unfreezing (ULMFiT, Howard & Ruder 2018): training starts with only the last
 * `start` layer groups trainable (the head), and every `every` epochs one more group is
 * unfrozen, from the head down, until the whole model trains. It calls `freezeTo` on the
 * learner at each epoch's start; the loop trains the new variables from that batch on,
 * and their optimizer moments start at zero with their own step count. The count lives
 * in the callback's memory, so a resumed run (mid-epoch included) puts the model back in
 * the same state before its first batch. Pair it with discriminative learning rates
 * (`lrRange`) as ULMFiT does.
 *
 * @param options How many groups at first, how often to unfreeze, and `trainBn`.
 * @returns The callback.
 * @throws {RangeError} If `start` or `every` is not a positive integer.
 *
 * @example Three layer groups: the head, then two, then all
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, fit, learner, mse } from "@fitloop/fitloop";
 * import { gradualUnfreeze } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [
 *   tf.layers.dense({ units: 4, inputShape: [2] }),
 *   tf.layers.dense({ units: 4 }),
 *   tf.layers.dense({ units: 1 }),
 * ] });
 * const x = tf.ones([8, 2]);
 * const learn = learner({
 *   model, data: { train: batches(x, x.sum(1, true), { batchSize: 4 }) }, loss: mse,
 *   layerGroups: { splitAt: [1, 2] },
 * });
 * const seen: number[] = [];
 * const count = { name: "count", order: 1, onEpochBegin: () => void seen.push(model.trainableWeights.length) };
 * await fit(learn, 4, { callbacks: [gradualUnfreeze(), count] });
 * assertEquals(seen, [2, 4, 6, 6]);
 * disposeLearner(learn);
 * x.dispose();
 * model.dispose();
 * ```
 */
export function gradualUnfreeze(options: GradualUnfreezeOptions = {}): Callback {
  const { start = 1, every = 1, ...freezing } = options;
  for (const [key, v] of [["start", start], ["every", every]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) {
      throw new RangeError(
        `Cannot create gradualUnfreeze as '${key}' must be a positive integer: current value is ${v}`,
      );
    }
  }
  const name = "gradualUnfreeze";
  let applied = -1; // groups made trainable by this process (a resumed run re-applies)
  const apply = (s: TrainState, ctx: FitContext, trainable: number): StateUpdate => {
    const learn = ctx.learner;
    if (learn && trainable !== applied) {
      const groups = s.hypers.length;
      freezeTo(learn, Math.max(0, groups - trainable), freezing);
      applied = trainable;
    }
    return { memory: { trainable } satisfies GradualUnfreezeMemory };
  };
  return {
    name,
    onTrainBegin(_s: TrainState): void {
      applied = -1;
    },
    onEpochBegin(s: TrainState, ctx: FitContext): StateUpdate {
      const trainable = Math.min(s.hypers.length, start + Math.floor(s.epoch / every));
      return apply(s, ctx, trainable);
    },
    onBatchBegin(s: TrainState, ctx: FitContext): StateUpdate | void {
      // a run resumed mid-epoch skips onEpochBegin: restore the epoch's freezing first
      if (!s.train || applied >= 0) return;
      const m = memoryOf<GradualUnfreezeMemory>(s, name, { trainable: start });
      return apply(s, ctx, m.trainable);
    },
  };
}
