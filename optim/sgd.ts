import * as tf from "@tensorflow/tfjs";
import type { Hypers } from "./hypers.ts";
import type { Tensor } from "./types.ts";
import type { Optimizer, ParamUpdate } from "./optimizer.ts";

/** Options of {@linkcode sgd}. */
export interface SgdOptions {
  /** Default momentum; 0 is plain SGD. @default {0} */
  readonly mom?: number;
}

/**
 * Stochastic gradient descent: plain (`p -= lr * g`) when `mom` is 0, heavy-ball momentum
 * otherwise (`buf = mom * buf + g; p -= lr * buf`), exactly as `tf.train.sgd` and
 * `tf.train.momentum`.
 *
 * @param options Default momentum.
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import { sgd } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * assertEquals(sgd({ mom: 0.9 }).defaults.mom, 0.9);
 * ```
 */
export function sgd(options: SgdOptions = {}): Optimizer {
  return {
    name: "sgd",
    defaults: { mom: options.mom ?? 0, sqrMom: 0, eps: 0 },
    init: (param: Tensor): Tensor[] => [tf.zerosLike(param)],
    update(param: Tensor, grad: Tensor, slots: readonly Tensor[], h: Hypers): ParamUpdate {
      if (h.mom === 0) return { param: tf.sub(param, tf.mul(grad, h.lr)), slots };
      const buf = tf.add(tf.mul(slots[0]!, h.mom), grad);
      return { param: tf.sub(param, tf.mul(buf, h.lr)), slots: [buf] };
    },
  };
}
