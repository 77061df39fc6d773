import * as tf from "@tensorflow/tfjs";
import { crossEntropy } from "../core/losses.ts";
import type { LossFn, Scalar, Tensor } from "../core/types.ts";

/** Options of {@linkcode labelSmoothingCrossEntropy}. */
export interface LabelSmoothingOptions {
  /** Share of the target spread evenly over the classes, in [0, 1). @default {0.1} */
  readonly eps?: number;
}

/**
 * Label-smoothing cross-entropy (Szegedy et al. 2016), with fastai's formula
 * (`LabelSmoothingCrossEntropy`, mean reduction): over the `C` classes of logits `x`,
 * `(1 - eps) * crossEntropy(x, y) + eps * mean over the batch of (1 / C) sum_c -logSoftmax(x)_c`,
 * i.e. cross-entropy against the target `(1 - eps) * y + eps / C`. Targets are integer
 * labels (`[B]` or `[B, 1]`) or probabilities shaped like the output, as for
 * `crossEntropy`, so it composes with mixUp and cutMix. A loss, not a callback: pass it as
 * the learner's `loss`.
 *
 * @param options eps.
 * @returns The loss function.
 * @throws {RangeError} If `eps` is not in [0, 1); when called, as `crossEntropy` does for
 * targets of the wrong shape.
 *
 * @example Uniform logits cost log(C) whatever eps; confident ones pay for it
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { labelSmoothingCrossEntropy } from "@fitloop/fitloop/callbacks";
 * import { assertAlmostEquals } from "@std/assert";
 * const loss = labelSmoothingCrossEntropy({ eps: 0.1 });
 * const y = tf.tensor1d([0], "int32");
 * const uniform = loss(tf.zeros([1, 4]), y);
 * assertAlmostEquals((await uniform.data())[0]!, Math.log(4), 1e-6);
 * const logits = tf.tensor2d([[2, 0, 0, 0]]);
 * const z = Math.log(Math.exp(2) + 3); // -log p = z - logit
 * const expected = 0.9 * (z - 2) + 0.1 * ((z - 2) + 3 * z) / 4;
 * const confident = loss(logits, y);
 * assertAlmostEquals((await confident.data())[0]!, expected, 1e-5);
 * tf.dispose([y, uniform, logits, confident]);
 * ```
 */
export function labelSmoothingCrossEntropy(options: LabelSmoothingOptions = {}): LossFn {
  const { eps = 0.1 } = options;
  if (!(eps >= 0 && eps < 1)) {
    throw new RangeError(
      `Cannot create labelSmoothingCrossEntropy as 'eps' must be in [0, 1): current value is ${eps}`,
    );
  }
  return (output: Tensor, target: Tensor): Scalar =>
    tf.tidy(() => {
      const nll = crossEntropy(output, target);
      const smooth = tf.neg(tf.mean(tf.logSoftmax(output)));
      return tf.add(tf.mul(nll, 1 - eps), tf.mul(smooth, eps)) as Scalar;
    });
}
