/**
 * A batch's loss and gradients computed outside the loop, as a training step computes
 * them: the forward pass in training mode, the loss plus the model's regularisation
 * losses, the gradients with respect to the trainable variables (layer groups and
 * freezing as in `fit`). For callbacks that need a second forward/backward pass inside a
 * hook (sharpness-aware minimisation evaluates the gradient at perturbed weights).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { LearnerCore } from "./learner_core.ts";
import { batchNormLayers, withMomentum } from "./_batch_norm.ts";
import { recordGradients } from "./_gradients.ts";
import { forward, regularization, trainableParams } from "./_params.ts";
import type { Grads, Input, LossFn, Scalar, Tensor } from "./types.ts";

/** Options of {@linkcode lossGradients}. */
export interface LossGradientsOptions {
  /** The loss function (a hook passes `state.loss`, which a callback may have wrapped). @default {the learner's loss} */
  readonly loss?: LossFn;
  /**
   * Let the training-mode pass update the BatchNormalization layers' moving mean and
   * variance, as a training step does; with false they are left bit for bit as they were
   * (LayersModels; a hand-written model's forward pass is its own). @default {true}
   */
  readonly updateStats?: boolean;
}

/** What {@linkcode lossGradients} returns; the caller owns every tensor. */
export interface LossGradients {
  /** The loss (regularisation included). */
  readonly loss: Scalar;
  /** Its gradients by variable name (variables the loss does not reach are absent). */
  readonly grads: Grads;
}

/**
 * The loss of a batch and its gradients with respect to the learner's trainable
 * variables, computed as a training step computes them (training-mode forward pass,
 * regularisation losses added). Synchronous; for a hook through `ctx.learner` (from
 * onBackwardEnd on, once the batch's own gradient recording is closed) and for tests.
 * Every tensor it makes is freed except the loss and the gradients, which the caller owns
 * (a hook may hand the gradients to the loop as `{ grads }` in onBackwardEnd).
 *
 * @param learn The learner (a hook's `ctx.learner`).
 * @param batch The input and the target.
 * @param options The loss, and whether batch statistics are updated.
 * @returns The loss and the gradients.
 * @throws {TypeError} If the loss is not a scalar tensor or depends on no trainable variable.
 *
 * @example The gradient of a squared error, by hand
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { learner, lossGradients, mse } from "@fitloop/fitloop/core";
 * import { assertAlmostEquals } from "@std/assert";
 * const w = tf.variable(tf.scalar(2));
 * const model = { variables: [w], apply: (x: tf.Tensor | tf.Tensor[]) => tf.mul(x as tf.Tensor, w) };
 * const learn = learner({ model, data: { train: [] }, loss: mse });
 * const x = tf.tensor1d([1, 3]);
 * const y = tf.tensor1d([0, 0]);
 * const { loss, grads } = lossGradients(learn, [x, y]);
 * // loss = mean((w x)^2) = w^2 (1 + 9) / 2 = 20; dloss/dw = w (1 + 9) = 20
 * assertAlmostEquals((await loss.data())[0]!, 20, 1e-5);
 * assertAlmostEquals((await grads[w.name]!.data())[0]!, 20, 1e-5);
 * tf.dispose([loss, grads[w.name]!, x, y, w]);
 * ```
 */
export function lossGradients(
  learn: LearnerCore,
  batch: readonly [Input, Tensor],
  options: LossGradientsOptions = {},
): LossGradients {
  const [input, target] = batch;
  const lossFn = options.loss ?? learn.loss;
  const variables = trainableParams(learn).params.map((p) => p.variable);
  const run = () =>
    recordGradients(variables, () => {
      let loss = lossFn(forward(learn, input, true), target);
      if (!(loss instanceof tf.Tensor) || loss.rank !== 0) {
        const what = loss instanceof tf.Tensor ? `a tensor of shape [${loss.shape}]` : String(loss);
        throw new TypeError(
          `Cannot compute gradients as the loss must return a scalar tensor: it returned ${what}`,
        );
      }
      const reg = regularization(learn);
      if (reg) loss = tf.add(loss, reg) as Scalar;
      return { loss, skipBackward: false, carry: tf.keep(loss) };
    });
  const { carry: loss, grads } = options.updateStats === false
    ? withMomentum(batchNormLayers(learn.model), 1, run)
    : run();
  if (!grads || Object.keys(grads).length === 0) {
    loss.dispose();
    throw new TypeError(
      "Cannot compute gradients as the loss does not depend on any trainable variable",
    );
  }
  return { loss, grads };
}
