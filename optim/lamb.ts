import * as tf from "@tensorflow/tfjs";
import type { Hypers } from "./hypers.ts";
import type { Tensor } from "./types.ts";
import type { Optimizer, ParamUpdate } from "./optimizer.ts";
import { _moments } from "./_moments.ts";

/** Options of {@linkcode lamb}. */
export interface LambOptions {
  /** Default beta1. @default {0.9} */
  readonly mom?: number;
  /** Default beta2. @default {0.99} */
  readonly sqrMom?: number;
  /** Default epsilon. @default {1e-6} */
  readonly eps?: number;
}

/**
 * LAMB (You et al., as fastai v2's `lamb_step`): the Adam direction
 * `s = mHat / (sqrt(vHat) + eps)` scaled per parameter tensor by the trust ratio
 * `q = min(rms(p) / rms(s), 10)` (1 when either is 0): `p -= lr * q * s`. The ratio is
 * computed on the device: no read per step.
 *
 * @param options Default betas and epsilon.
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import { lamb } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * assertEquals(lamb().name, "lamb");
 * ```
 */
export function lamb(options: LambOptions = {}): Optimizer {
  return {
    name: "lamb",
    defaults: { mom: options.mom ?? 0.9, sqrMom: options.sqrMom ?? 0.99, eps: options.eps ?? 1e-6 },
    init: (param: Tensor): Tensor[] => [tf.zerosLike(param), tf.zerosLike(param)],
    update(
      param: Tensor,
      grad: Tensor,
      slots: readonly Tensor[],
      h: Hypers,
      step: number,
    ): ParamUpdate {
      const [m, v] = _moments(grad, slots, h);
      const mHat = tf.div(m, 1 - h.mom ** step);
      const vHat = tf.div(v, 1 - h.sqrMom ** step);
      const s = tf.div(mHat, tf.add(tf.sqrt(vHat), h.eps));
      const r1 = tf.sqrt(tf.mean(tf.square(param)));
      const r2 = tf.sqrt(tf.mean(tf.square(s)));
      const ok = tf.logicalAnd(tf.greater(r1, 0), tf.greater(r2, 0));
      const q = tf.where(ok, tf.minimum(tf.div(r1, tf.maximum(r2, 1e-30)), 10), tf.onesLike(r1));
      return { param: tf.sub(param, tf.mul(s, tf.mul(q, h.lr))), slots: [m, v] };
    },
  };
}
