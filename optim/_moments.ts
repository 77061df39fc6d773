// The first and second moments shared by Adam and LAMB.
import * as tf from "@tensorflow/tfjs";
import type { Hypers } from "./hypers.ts";
import type { Tensor } from "./types.ts";

/** `m = mom*m + (1-mom)*g` and `v = sqrMom*v + (1-sqrMom)*g^2` from the slots `[m, v]`. */
export function _moments(grad: Tensor, slots: readonly Tensor[], h: Hypers): [Tensor, Tensor] {
  const m = tf.add(tf.mul(slots[0]!, h.mom), tf.mul(grad, 1 - h.mom));
  const v = tf.add(tf.mul(slots[1]!, h.sqrMom), tf.mul(tf.square(grad), 1 - h.sqrMom));
  return [m, v];
}
