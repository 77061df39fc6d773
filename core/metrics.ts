/**
 * Metrics: batch means averaged over the validation set, weighted by batch size (the
 * seed's `AverageMetric`). They run before the callbacks, on validation batches only;
 * after an epoch, `lastMetrics` is `[validLoss, ...metrics]`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Metric, Scalar, Tensor } from "./types.ts";

function _predictedAndTrue(output: Tensor, target: Tensor): [Tensor, Tensor] {
  const predicted = tf.argMax(output, -1);
  const oneHot = tf.util.arraysEqual(output.shape, target.shape);
  if (!oneHot && target.size !== predicted.size) {
    throw new RangeError(
      `Cannot compute accuracy as the target must be class labels or one-hot: output has ` +
        `shape [${output.shape}] and target has shape [${target.shape}]`,
    );
  }
  const truth = oneHot
    ? tf.argMax(target, -1)
    : tf.cast(tf.reshape(target, predicted.shape), "int32");
  return [predicted, truth];
}

function _accuracy(output: Tensor, target: Tensor): Scalar {
  return tf.tidy(() => {
    const [predicted, truth] = _predictedAndTrue(output, target);
    return tf.mean(tf.cast(tf.equal(predicted, truth), "float32")) as Scalar;
  });
}

/**
 * Fraction of samples whose arg-max prediction is the true class (labels or one-hot).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { accuracy } from "@fitloop/fitloop";
 * import { assertAlmostEquals } from "@std/assert";
 * const out = tf.tensor2d([[0, 1], [1, 0], [1, 0], [0, 1]]);
 * const acc = accuracy.fn(out, tf.tensor1d([1, 0, 1, 1]));
 * assertAlmostEquals((await acc.data())[0]!, 0.75);
 * ```
 */
export const accuracy: Metric = Object.freeze({ name: "accuracy", fn: _accuracy });

/**
 * `1 - accuracy`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { errorRate } from "@fitloop/fitloop";
 * import { assertAlmostEquals } from "@std/assert";
 * const err = errorRate.fn(tf.tensor2d([[0, 1], [1, 0]]), tf.tensor1d([1, 1]));
 * assertAlmostEquals((await err.data())[0]!, 0.5);
 * ```
 */
export const errorRate: Metric = Object.freeze({
  name: "errorRate",
  fn: (output: Tensor, target: Tensor): Scalar =>
    tf.tidy(() => tf.sub(1, _accuracy(output, target)) as Scalar),
});

/** Options of {@linkcode averageMetric}. */
export interface AverageMetricOptions {
  /** Name in `metricNames`. @default {fn.name} */
  readonly name?: string;
}

/**
 * Wraps a batch-mean function as a metric averaged over the validation set (weighted by
 * batch size), like the seed's `AverageMetric`.
 *
 * @param fn Batch mean of the metric.
 * @param options Its name.
 * @returns The metric.
 * @throws {TypeError} If no name is given and `fn` has none.
 *
 * @example Mean absolute error
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { averageMetric } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const mae = averageMetric((o, t) => tf.mean(tf.abs(tf.sub(o, t))), { name: "mae" });
 * assertEquals(mae.name, "mae");
 * ```
 */
export function averageMetric(
  fn: (output: Tensor, target: Tensor) => Scalar,
  options: AverageMetricOptions = {},
): Metric {
  const name = options.name ?? fn.name;
  if (!name) {
    throw new TypeError(
      "Cannot create averageMetric as 'name' must be given for an anonymous function: current value is undefined",
    );
  }
  return Object.freeze({ name, fn });
}
