/**
 * Loss functions: `(output, target) => Scalar`, the mean over the batch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor } from "./types.ts";

function _shapes(output: Tensor, target: Tensor): string {
  return `output has shape [${output.shape}] and target has shape [${target.shape}]`;
}

/** Integer class labels `[B]` or `[B, 1]` as one-hot `[B, C]`, or `undefined` if not labels. */
function _labels(output: Tensor, target: Tensor): Tensor | undefined {
  const b = output.shape[0];
  const isLabels = output.rank === 2 && target.shape[0] === b &&
    (target.rank === 1 || (target.rank === 2 && target.shape[1] === 1 && output.shape[1] !== 1));
  if (!isLabels) return undefined;
  return tf.oneHot(tf.cast(tf.reshape(target, [-1]), "int32"), output.shape[1]!);
}

/**
 * Softmax cross-entropy from logits: `mean(-sum(t * logSoftmax(output), -1))`. Targets are
 * integer class labels (`[B]` or `[B, 1]`) or one-hot / soft labels shaped like the output.
 *
 * @param output Logits `[B, C]` (or `[..., C]` with soft targets of the same shape).
 * @param target Labels `[B]`/`[B, 1]`, or probabilities of the output's shape.
 * @returns The mean loss.
 * @throws {RangeError} If the target's shape fits neither form, naming both shapes.
 *
 * @example Uniform logits cost log(C)
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { crossEntropy } from "@fitloop/fitloop";
 * import { assertAlmostEquals } from "@std/assert";
 * const loss = crossEntropy(tf.zeros([2, 4]), tf.tensor1d([0, 3], "int32"));
 * assertAlmostEquals((await loss.data())[0]!, Math.log(4), 1e-6);
 * ```
 */
export function crossEntropy(output: Tensor, target: Tensor): Scalar {
  return tf.tidy(() => {
    const probs = _labels(output, target) ??
      (output.rank >= 1 && tf.util.arraysEqual(output.shape, target.shape) ? target : undefined);
    if (!probs) {
      throw new RangeError(
        `Cannot compute crossEntropy as the target must be class labels [B] or [B, 1] or ` +
          `probabilities shaped like the output: ${_shapes(output, target)}`,
      );
    }
    const logp = tf.logSoftmax(output);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.cast(probs, "float32"), logp), -1))) as Scalar;
  });
}

/**
 * Mean squared error: `mean((output - target) ** 2)`. `[B]` and `[B, 1]` are accepted
 * against each other.
 *
 * @param output Predictions.
 * @param target Targets of the same shape.
 * @returns The mean loss.
 * @throws {RangeError} If the shapes differ, naming both.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { mse } from "@fitloop/fitloop";
 * import { assertAlmostEquals } from "@std/assert";
 * const loss = mse(tf.tensor2d([[1], [3]]), tf.tensor1d([0, 1]));
 * assertAlmostEquals((await loss.data())[0]!, 2.5);
 * ```
 */
export function mse(output: Tensor, target: Tensor): Scalar {
  return tf.tidy(() => tf.mean(_squaredErrors("mse", output, target)) as Scalar);
}

/**
 * `(output - target)²` elementwise, with `[B]` and `[B, 1]` accepted against each other.
 * @throws {RangeError} If the shapes differ otherwise, naming both.
 */
function _squaredErrors(what: string, output: Tensor, target: Tensor): Tensor {
  let t = target;
  if (!tf.util.arraysEqual(output.shape, target.shape)) {
    if (
      output.size === target.size && output.shape[0] === target.shape[0] && output.rank <= 2 &&
      target.rank <= 2
    ) {
      t = tf.reshape(target, output.shape);
    } else {
      throw new RangeError(
        `Cannot compute ${what} as the output and target must have the same shape: ${
          _shapes(output, target)
        }`,
      );
    }
  }
  return tf.squaredDifference(output, tf.cast(t, "float32"));
}

/** Means over every axis but the first: `[B, ...]` to `[B]`. */
function _perRow(t: Tensor): Tensor {
  return t.rank <= 1 ? t : tf.mean(t, Array.from({ length: t.rank - 1 }, (_, i) => i + 1));
}

/**
 * {@linkcode crossEntropy} before the batch mean: one loss per sample (PyTorch's
 * `reduction='none'`), so `mean(crossEntropyPerSample(o, t))` is `crossEntropy(o, t)`.
 * mixUp weighs each sample's loss by its own lambda with it.
 *
 * @param output Logits `[B, C]` (or `[B, ..., C]` with soft targets, averaged per sample).
 * @param target Labels `[B]`/`[B, 1]`, or probabilities of the output's shape.
 * @returns The losses, shape `[B]`.
 * @throws {RangeError} If the output has no batch axis or the target's shape fits neither
 * form, naming both shapes.
 *
 * @example Each sample's -log softmax of its class
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { crossEntropyPerSample } from "@fitloop/fitloop/core";
 * import { assertAlmostEquals } from "@std/assert";
 * const losses = await crossEntropyPerSample(tf.zeros([2, 4]), tf.tensor1d([0, 3], "int32")).data();
 * assertAlmostEquals(losses[1]!, Math.log(4), 1e-6);
 * ```
 */
export function crossEntropyPerSample(output: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => {
    const probs = output.rank < 2 ? undefined : _labels(output, target) ??
      (tf.util.arraysEqual(output.shape, target.shape) ? target : undefined);
    if (!probs) {
      throw new RangeError(
        `Cannot compute crossEntropyPerSample as the output must be [B, C] and the target ` +
          `class labels [B] or [B, 1] or probabilities shaped like the output: ${
            _shapes(output, target)
          }`,
      );
    }
    const logp = tf.logSoftmax(output);
    return _perRow(tf.neg(tf.sum(tf.mul(tf.cast(probs, "float32"), logp), -1)));
  });
}

/**
 * {@linkcode mse} before the batch mean: each sample's mean squared error, so
 * `mean(msePerSample(o, t))` is `mse(o, t)`. `[B]` and `[B, 1]` are accepted against
 * each other.
 *
 * @param output Predictions `[B, ...]`.
 * @param target Targets of the same shape.
 * @returns The losses, shape `[B]`.
 * @throws {RangeError} If the shapes differ, naming both.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { msePerSample } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const losses = msePerSample(tf.tensor2d([[1, 3], [2, 2]]), tf.tensor2d([[0, 0], [2, 0]]));
 * assertEquals(Array.from(await losses.data()), [5, 2]);
 * ```
 */
export function msePerSample(output: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => _perRow(_squaredErrors("msePerSample", output, target)));
}
