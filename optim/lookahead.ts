import * as tf from "@tensorflow/tfjs";
import type { Hypers } from "./hypers.ts";
import type { Optimizer, ParamUpdate } from "./optimizer.ts";
import type { Tensor } from "./types.ts";

/** Options of {@linkcode lookahead}. */
export interface LookaheadOptions {
  /** Inner steps between two synchronisations of the slow weights. @default {5} */
  readonly k?: number;
  /** Step size of the slow weights towards the fast ones, in (0, 1]. @default {0.5} */
  readonly alpha?: number;
}

/**
 * Lookahead (Zhang et al. 2019) around any fitloop optimizer: the wrapped optimizer moves
 * the (fast) weights as usual; every `k`-th step the slow weights move `alpha` of the way
 * to them, `slow += alpha * (fast - slow)`, and the fast weights restart from there. The
 * slow weights are one more slot of each parameter (after the inner optimizer's), starting
 * as the weights at the first step: they live in the optimizer state, so snapshots, forks
 * and `exportOptimizerState` keep them. Its name is `lookahead(<inner name>)`.
 *
 * @param optimizer The optimizer to wrap.
 * @param options k and alpha.
 * @returns The wrapped optimizer.
 * @throws {RangeError} If `k` is not a positive integer or `alpha` not in (0, 1].
 *
 * @example Two SGD steps then a synchronisation halfway back
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeOptimizerState, initOptimizer, lookahead, optimizerStep, sgd } from "@fitloop/fitloop/optim";
 * import { assertAlmostEquals } from "@std/assert";
 * const w = tf.variable(tf.scalar(1));
 * const params = [{ variable: w, group: 0, decay: true }];
 * const opt = lookahead(sgd(), { k: 2, alpha: 0.5 });
 * const hypers = [{ lr: 0.1, mom: 0, sqrMom: 0, eps: 0, wd: 0 }];
 * const g = { [w.name]: tf.scalar(1) };
 * let state = initOptimizer(opt, params);
 * state = optimizerStep(opt, params, g, state, hypers); // fast 0.9
 * state = optimizerStep(opt, params, g, state, hypers); // fast 0.8, slow 1 + 0.5 * (0.8 - 1)
 * assertAlmostEquals((await w.data())[0]!, 0.9, 1e-6);
 * disposeOptimizerState(state);
 * tf.dispose([w, g[w.name]!]);
 * ```
 */
export function lookahead(optimizer: Optimizer, options: LookaheadOptions = {}): Optimizer {
  const { k = 5, alpha = 0.5 } = options;
  if (!(Number.isInteger(k) && k >= 1)) {
    throw new RangeError(
      `Cannot create lookahead as 'k' must be a positive integer: current value is ${k}`,
    );
  }
  if (!(alpha > 0 && alpha <= 1)) {
    throw new RangeError(
      `Cannot create lookahead as 'alpha' must be in (0, 1]: current value is ${alpha}`,
    );
  }
  return {
    name: `lookahead(${optimizer.name})`,
    defaults: optimizer.defaults,
    init: (param: Tensor): Tensor[] => [...optimizer.init(param), tf.clone(param)],
    update(
      param: Tensor,
      grad: Tensor,
      slots: readonly Tensor[],
      hypers: Hypers,
      step: number,
    ): ParamUpdate {
      const slow = slots[slots.length - 1]!;
      const inner = optimizer.update(param, grad, slots.slice(0, -1), hypers, step);
      if (step % k !== 0) return { param: inner.param, slots: [...inner.slots, slow] };
      const synced = tf.add(slow, tf.mul(tf.sub(inner.param, slow), alpha));
      return { param: synced, slots: [...inner.slots, synced] };
    },
  };
}
