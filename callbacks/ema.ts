import * as tf from "@tensorflow/tfjs";
import { type Callback, memoryOf, type StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { Model, Tensor } from "../core/types.ts";
import { _modelVariables, _restoreWeights, _snapshotWeights } from "../core/_weights.ts";

/** Options of {@linkcode ema}. */
export interface EmaOptions {
  /** Weight of the old average at each update: `avg = decay * avg + (1 - decay) * w`. @default {0.999} */
  readonly decay?: number;
  /** Update the average every this many optimizer steps. @default {1} */
  readonly every?: number;
  /** Validate with the averaged weights (the live ones come back after validation). @default {true} */
  readonly validateWithEma?: boolean;
  /** Leave the averaged weights in the model when training ends without error. @default {true} */
  readonly emaAtEnd?: boolean;
}

/** The memory of {@linkcode ema}. */
export interface EmaMemory {
  /** Optimizer steps taken since the average started. */
  readonly steps: number;
  /** The average of every model weight (batch-norm statistics too), until training ends. */
  readonly weights?: readonly Tensor[];
  /** The live weights while validation runs with the average. */
  readonly live?: readonly Tensor[];
}

const NAME = "ema";
const EMPTY: EmaMemory = { steps: 0 };

function _put(model: Model, weights: readonly Tensor[]): void {
  _modelVariables(model).forEach((v, i) => v.assign(weights[i]!));
}

/**
 * An exponential moving average of the weights (timm's ModelEma, Keras's `use_ema`): a copy
 * of every model weight (batch-norm statistics included) taken at the first training batch
 * becomes `decay * avg + (1 - decay) * w` after every `every`-th optimizer step. It sits in
 * memory (snapshots keep it) and is freed when training ends. With `validateWithEma`,
 * validation runs with it (the live weights are set aside at the first validation batch
 * and put back, bit for bit, at onEpochEnd); at the end the model keeps it with
 * `emaAtEnd`, else (and always after an error) the live weights, exactly. Order 9,000:
 * onEpochEnd callbacks that save weights (saveModel, earlyStopping) see the validated
 * ones, snapshotEvery the live ones; with `emaAtEnd` the average replaces what they put
 * back at onTrainEnd.
 *
 * @param options decay, every, and which weights validation and the end use.
 * @returns The callback.
 * @throws {RangeError} If `decay` is not in [0, 1) or `every` not a positive integer.
 *
 * @example Two steps of plain SGD on one weight, averaged with decay 0.5
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeLearner, fit, learner, mse } from "@fitloop/fitloop";
 * import { ema } from "@fitloop/fitloop/callbacks";
 * import { sgd } from "@fitloop/fitloop/optim";
 * import { assertAlmostEquals } from "@std/assert";
 * const w = tf.variable(tf.scalar(0));
 * const model = { variables: [w], apply: (x: tf.Tensor | tf.Tensor[]) => tf.mul(x as tf.Tensor, w) };
 * const x = tf.ones([1]);
 * const learn = learner({ model, data: { train: [[x, x]] }, loss: mse, optimizer: sgd() });
 * await fit(learn, 2, { lr: 0.25, callbacks: [ema({ decay: 0.5 })] });
 * // w: 0 -> 0.5 -> 0.75; average: 0 -> 0.25 -> 0.5, left in the model
 * assertAlmostEquals((await w.data())[0]!, 0.5, 1e-6);
 * disposeLearner(learn);
 * tf.dispose([w, x]);
 * ```
 */
export function ema(options: EmaOptions = {}): Callback {
  const { decay = 0.999, every = 1, validateWithEma = true, emaAtEnd = true } = options;
  if (!(decay >= 0 && decay < 1)) {
    throw new RangeError(
      `Cannot create ema as 'decay' must be in [0, 1): current value is ${decay}`,
    );
  }
  if (!(Number.isInteger(every) && every >= 1)) {
    throw new RangeError(
      `Cannot create ema as 'every' must be a positive integer: current value is ${every}`,
    );
  }
  return {
    name: NAME,
    order: 9_000,
    onBatchBegin(s: TrainState, ctx): StateUpdate | void {
      const m = memoryOf(s, NAME, EMPTY);
      const model = ctx.learner?.model;
      if (!model) return;
      if (s.train) {
        if (!m.weights) return { memory: { ...m, weights: _snapshotWeights(model) } };
      } else if (validateWithEma && m.weights && !m.live) {
        const live = _snapshotWeights(model);
        _put(model, m.weights);
        return { memory: { ...m, live } };
      }
    },
    onStepEnd(s: TrainState, ctx): StateUpdate | void {
      const m = memoryOf(s, NAME, EMPTY);
      if (s.skipStep || !s.grads || !m.weights || !ctx.learner) return;
      const steps = m.steps + 1;
      if (steps % every !== 0) return { memory: { ...m, steps } };
      const vars = _modelVariables(ctx.learner.model);
      const weights = tf.tidy(() =>
        m.weights!.map((a, i) => tf.add(tf.mul(a, decay), tf.mul(vars[i]!, 1 - decay)))
      );
      tf.dispose(m.weights.slice());
      return { memory: { ...m, steps, weights } };
    },
    onEpochEnd(s: TrainState, ctx): StateUpdate | void {
      const m = memoryOf(s, NAME, EMPTY);
      if (!m.live || !ctx.learner) return;
      _restoreWeights(ctx.learner.model, m.live);
      const { live: _, ...rest } = m;
      return { memory: rest };
    },
    onTrainEnd(s: TrainState, ctx): StateUpdate | void {
      const m = memoryOf(s, NAME, EMPTY);
      const model = ctx.learner?.model;
      if (m.live && model) _restoreWeights(model, m.live);
      if (m.weights && model && emaAtEnd && s.error === undefined) _put(model, m.weights);
      tf.dispose([...m.live ?? [], ...m.weights ?? []]);
      return { memory: { steps: m.steps } };
    },
  };
}
