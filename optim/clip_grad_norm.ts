import * as tf from "@tensorflow/tfjs";
import type { Grads, Scalar } from "./types.ts";

/**
 * The global L2 norm of all gradients together, as a scalar tensor (no read).
 *
 * @param grads Gradients by variable name.
 * @returns The norm.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { globalNorm } from "@fitloop/fitloop/optim";
 * import { assertAlmostEquals } from "@std/assert";
 * const n = globalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) });
 * assertAlmostEquals((await n.data())[0]!, 5, 1e-6);
 * ```
 */
export function globalNorm(grads: Grads): Scalar {
  return tf.tidy(() => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(squares.length === 0 ? tf.scalar(0) : tf.addN(squares)) as Scalar;
  });
}

/**
 * Global-norm clipping: every gradient times `min(1, maxNorm / (norm + 1e-6))`, where
 * `norm` is the norm of all gradients together. Computed on the device (no read);
 * returns new tensors and leaves the inputs alone.
 *
 * @param grads Gradients by variable name.
 * @param maxNorm The largest norm allowed; > 0.
 * @returns The clipped gradients.
 * @throws {RangeError} If `maxNorm` is not a positive finite number.
 *
 * @example A norm of 5 clipped to 1
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipGradNorm, globalNorm } from "@fitloop/fitloop/optim";
 * import { assertAlmostEquals } from "@std/assert";
 * const g = clipGradNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }, 1);
 * assertAlmostEquals((await globalNorm(g).data())[0]!, 1, 1e-5);
 * ```
 */
export function clipGradNorm(grads: Grads, maxNorm: number): Grads {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) {
    throw new RangeError(
      `Cannot clip gradients as 'maxNorm' must be a positive number: current value is ${maxNorm}`,
    );
  }
  const names = Object.keys(grads);
  const clipped = tf.tidy(() => {
    const norm = globalNorm(grads);
    const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    return names.map((n) => tf.mul(grads[n]!, scale));
  });
  return Object.fromEntries(names.map((n, i) => [n, clipped[i]!]));
}
