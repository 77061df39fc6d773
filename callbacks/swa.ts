import * as tf from "@tensorflow/tfjs";
import { type Callback, memoryOf, type StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { Tensor } from "../core/types.ts";
import { recomputeBatchNorm } from "../core/_batch_norm.ts";
import { _modelVariables, _snapshotWeights } from "../core/_weights.ts";
import { perGroup } from "../optim/hypers.ts";

/** Options of {@linkcode swa}. */
export interface SwaOptions {
  /** The first epoch (0-based) whose final weights are averaged. */
  readonly startEpoch: number;
  /** The learning rate from `startEpoch` on: one, or one per layer group. */
  readonly lr: number | readonly number[];
  /** Epochs over which the lr goes (cosine) from its value at `startEpoch` to `lr`. @default {0} */
  readonly annealEpochs?: number;
}

/** The memory of {@linkcode swa}. */
export interface SwaMemory {
  /** Number of weight sets averaged so far. */
  readonly n: number;
  /** Their average (every model weight), until training ends. */
  readonly weights?: readonly Tensor[];
  /** The lr of each layer group when the averaging phase began. */
  readonly startLr?: readonly number[];
}

const NAME = "swa";

/**
 * Stochastic Weight Averaging (Izmailov et al. 2018; PyTorch's AveragedModel, SWALR and
 * update_bn). From epoch `startEpoch` on, every training batch runs at `lr` (reached by a
 * cosine over `annealEpochs` from the lr then in effect; order 1, after lr schedulers,
 * whom it overrides) and each epoch's final weights join the average `avg += (w - avg) /
 * (n + 1)`, kept in memory (snapshots keep it). Validation sees the live weights. When
 * training ends without error the model takes the average and its BatchNormalization
 * statistics are recomputed over one training-mode pass of the training data; after an
 * error it keeps the live weights. The average is freed either way.
 *
 * @param options startEpoch, lr and annealEpochs.
 * @returns The callback.
 * @throws {RangeError} If `startEpoch` or `annealEpochs` is not a non-negative integer or
 * `lr` not positive; at onTrainBegin, if `startEpoch` is not below the fit's epochs.
 *
 * @example The average of the weights after epochs 1 and 2
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeLearner, fit, learner, mse } from "@fitloop/fitloop";
 * import { swa } from "@fitloop/fitloop/callbacks";
 * import { sgd } from "@fitloop/fitloop/optim";
 * import { assertAlmostEquals } from "@std/assert";
 * const w = tf.variable(tf.scalar(0));
 * const model = { variables: [w], apply: (x: tf.Tensor | tf.Tensor[]) => tf.mul(x as tf.Tensor, w) };
 * const x = tf.ones([1]);
 * const learn = learner({ model, data: { train: [[x, x]] }, loss: mse, optimizer: sgd() });
 * await fit(learn, 3, { lr: 0.25, callbacks: [swa({ startEpoch: 1, lr: 0.125 })] });
 * // w: 0 -> 0.5 (lr 0.25), -> 0.625, -> 0.71875 (lr 0.125); average of the last two
 * assertAlmostEquals((await w.data())[0]!, (0.625 + 0.71875) / 2, 1e-6);
 * disposeLearner(learn);
 * tf.dispose([w, x]);
 * ```
 */
export function swa(options: SwaOptions): Callback {
  const { startEpoch, annealEpochs = 0 } = options;
  for (const [key, v] of [["startEpoch", startEpoch], ["annealEpochs", annealEpochs]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) {
      throw new RangeError(
        `Cannot create swa as '${key}' must be a non-negative integer: current value is ${v}`,
      );
    }
  }
  if (![options.lr].flat().every((v) => v > 0)) {
    throw new RangeError(
      `Cannot create swa as 'lr' must be positive: current value is ${options.lr}`,
    );
  }
  const initial: SwaMemory = { n: 0 };
  return {
    name: NAME,
    order: 1,
    onTrainBegin(s: TrainState): void {
      perGroup("lr", options.lr, s.hypers.length);
      const why = startEpoch >= s.nEpochs
        ? `'startEpoch' must be below the fit's ${s.nEpochs} epochs: current value is ${startEpoch}`
        : annealEpochs > 0 && s.nBatches === undefined
        ? "'annealEpochs' needs the number of batches per epoch, which the data does not tell"
        : undefined;
      if (why) throw new RangeError(`Cannot run swa as ${why}`);
    },
    onBatchBegin(s: TrainState): StateUpdate | void {
      if (!s.train || s.epoch < startEpoch) return;
      const m = memoryOf(s, NAME, initial);
      const startLr = m.startLr ?? s.hypers.map((h) => h.lr);
      const target = perGroup("lr", options.lr, s.hypers.length);
      const t = annealEpochs === 0
        ? 1
        : Math.min(1, (s.epoch - startEpoch + s.numBatch / s.nBatches!) / annealEpochs);
      const a = (1 - Math.cos(Math.PI * t)) / 2;
      const hypers = s.hypers.map((h, g) => ({ ...h, lr: target[g]! * a + startLr[g]! * (1 - a) }));
      return { hypers, memory: { ...m, startLr } };
    },
    onEpochEnd(s: TrainState, ctx): StateUpdate | void {
      if (s.epoch < startEpoch || !ctx.learner) return;
      const m = memoryOf(s, NAME, initial);
      const n = m.weights ? m.n : 0; // a fit continued after the end starts a new average
      const vars = _modelVariables(ctx.learner.model);
      const weights = m.weights
        ? tf.tidy(() => m.weights!.map((a, i) => tf.add(a, tf.div(tf.sub(vars[i]!, a), n + 1))))
        : _snapshotWeights(ctx.learner.model);
      if (m.weights) tf.dispose(m.weights.slice());
      return { memory: { ...m, n: n + 1, weights } };
    },
    async onTrainEnd(s: TrainState, ctx): Promise<StateUpdate | void> {
      const m = memoryOf(s, NAME, initial);
      if (!m.weights) return;
      const learn = s.error === undefined ? ctx.learner : undefined;
      if (learn) _modelVariables(learn.model).forEach((v, i) => v.assign(m.weights![i]!));
      tf.dispose(m.weights.slice());
      if (learn) await recomputeBatchNorm(learn, s.seed);
      return { memory: { n: m.n } };
    },
  };
}
