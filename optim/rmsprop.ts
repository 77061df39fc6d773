import * as tf from "@tensorflow/tfjs";
import type { Hypers } from "./hypers.ts";
import type { Tensor } from "./types.ts";
import type { Optimizer, ParamUpdate } from "./optimizer.ts";

/** Options of {@linkcode rmsprop}. */
export interface RmspropOptions {
  /** Default momentum. @default {0} */
  readonly mom?: number;
  /** Default decay of the mean square. @default {0.9} */
  readonly sqrMom?: number;
  /** Default epsilon (inside the square root, as tfjs). @default {1e-7} */
  readonly eps?: number;
}

/**
 * RMSProp with tfjs's formulas (`tf.train.rmsprop`, not centered):
 * `ms = sqrMom*ms + (1-sqrMom)*g^2`, `buf = mom*buf + lr*g / sqrt(ms + eps)`, `p -= buf`.
 *
 * @param options Default momentum, decay and epsilon.
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import { rmsprop } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * assertEquals(rmsprop().defaults, { mom: 0, sqrMom: 0.9, eps: 1e-7 });
 * ```
 */
export function rmsprop(options: RmspropOptions = {}): Optimizer {
  return {
    name: "rmsprop",
    defaults: { mom: options.mom ?? 0, sqrMom: options.sqrMom ?? 0.9, eps: options.eps ?? 1e-7 },
    init: (param: Tensor): Tensor[] => [tf.zerosLike(param), tf.zerosLike(param)],
    update(param: Tensor, grad: Tensor, slots: readonly Tensor[], h: Hypers): ParamUpdate {
      const ms = tf.add(tf.mul(slots[0]!, h.sqrMom), tf.mul(tf.square(grad), 1 - h.sqrMom));
      const buf = tf.add(
        tf.mul(slots[1]!, h.mom),
        tf.div(tf.mul(grad, h.lr), tf.sqrt(tf.add(ms, h.eps))),
      );
      return { param: tf.sub(param, buf), slots: [ms, buf] };
    },
  };
}
