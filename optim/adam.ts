import * as tf from "@tensorflow/tfjs";
import type { Hypers } from "./hypers.ts";
import type { Tensor } from "./types.ts";
import type { Optimizer, ParamUpdate } from "./optimizer.ts";
import { _moments } from "./_moments.ts";

/** Options of {@linkcode adam}. */
export interface AdamOptions {
  /** Default beta1. @default {0.9} */
  readonly mom?: number;
  /** Default beta2. @default {0.999} */
  readonly sqrMom?: number;
  /** Default epsilon (added outside the square root, as tfjs). @default {1e-7} */
  readonly eps?: number;
}

/**
 * Adam with tfjs's formulas (`tf.train.adam`): `m = mom*m + (1-mom)*g`,
 * `v = sqrMom*v + (1-sqrMom)*g^2`, `p -= lr * (m / (1 - mom^t)) / (sqrt(v / (1 - sqrMom^t)) + eps)`.
 * With `wd` and `trueWd` (the default) this is AdamW. The bias correction uses the current
 * `mom`/`sqrMom`, so scheduled betas (one-cycle) work.
 *
 * @param options Default betas and epsilon.
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import { adam } from "@fitloop/fitloop/optim";
 * import { assertEquals } from "@std/assert";
 * assertEquals(adam().defaults, { mom: 0.9, sqrMom: 0.999, eps: 1e-7 });
 * ```
 */
export function adam(options: AdamOptions = {}): Optimizer {
  return {
    name: "adam",
    defaults: {
      mom: options.mom ?? 0.9,
      sqrMom: options.sqrMom ?? 0.999,
      eps: options.eps ?? 1e-7,
    },
    init: (param: Tensor): Tensor[] => [tf.zerosLike(param), tf.zerosLike(param)],
    update(
      param: Tensor,
      grad: Tensor,
      slots: readonly Tensor[],
      h: Hypers,
      step: number,
    ): ParamUpdate {
      const [m, v] = _moments(grad, slots, h);
      // lr * mHat / (sqrt(vHat) + eps), with both bias corrections folded into two
      // scalars: lr * sqrt(c2) / c1 * m / (sqrt(v) + eps * sqrt(c2)); 3 fewer tensor ops.
      const c1 = 1 - h.mom ** step;
      const root2 = Math.sqrt(1 - h.sqrMom ** step);
      const delta = tf.div(tf.mul(m, -h.lr * root2 / c1), tf.add(tf.sqrt(v), h.eps * root2));
      return { param: tf.add(delta, param), slots: [m, v] };
    },
  };
}
