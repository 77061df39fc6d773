// Class labels outside the model's outputs are silent with a one-hot loss (tf.oneHot gives
// a row of zeros: the loss is 0 and nothing learns). The first training batch of a fit is
// checked with one device read; later batches are not read.
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "./types.ts";

/**
 * When `target` looks like class labels for `output` (`[B]` or `[B, 1]` against `[B, C]`,
 * C > 1), checks that they are integers in [0, C). One async read.
 */
export async function checkLabels(output: Tensor, target: Tensor): Promise<void> {
  const b = output.shape[0];
  const c = output.shape[1] ?? 1;
  const labels = output.rank === 2 && c > 1 && target.shape[0] === b &&
    (target.rank === 1 || (target.rank === 2 && target.shape[1] === 1));
  if (!labels || target.size === 0) return;
  const summary = tf.tidy(() => {
    const t = tf.cast(target, "float32");
    return tf.stack([tf.min(t), tf.max(t), tf.max(tf.abs(tf.sub(t, tf.round(t))))]);
  });
  let lo: number, hi: number, frac: number;
  try {
    [lo, hi, frac] = Array.from(await summary.data()) as [number, number, number];
  } finally {
    summary.dispose();
  }
  if (lo >= 0 && hi <= c - 1 && frac === 0) return;
  throw new RangeError(
    `Cannot train as the first batch's targets look like class labels but are not integers ` +
      `in [0, ${c - 1}] for a model with ${c} outputs: they range from ${lo} to ${hi}${
        frac === 0 ? "" : " and are not all integers"
      } (target shape [${target.shape}], output shape [${output.shape}]). Number the classes ` +
      `from 0, or give the model one output per class`,
  );
}
