import * as tf from "@tensorflow/tfjs";
import type { Callback, StateUpdate } from "../core/callback.ts";
import { lossGradients } from "../core/gradients.ts";
import type { TrainState } from "../core/state.ts";
import type { Tensor, Variable } from "../core/types.ts";
import { trainableParams } from "../core/_params.ts";

/** Options of {@linkcode sam}. */
export interface SamOptions {
  /** Radius of the neighbourhood the sharpest point is sought in. @default {0.05} */
  readonly rho?: number;
}

/**
 * Sharpness-Aware Minimization (Foret et al. 2021): in onBackwardEnd, with the batch's
 * gradient `g` at the weights `w`, the weights move to `w + rho * g / ||g||` (global L2
 * norm over every gradient, plus 1e-12), the same batch's loss and gradients are computed
 * there with {@linkcode lossGradients} (same input, target, loss function and dropout
 * masks; batch-norm statistics are not updated by this second pass), the weights are put
 * back bit for bit, and those gradients replace the batch's: the optimizer then steps
 * from `w` with them. Each training step costs two forward/backward passes. Runs first
 * among onBackwardEnd hooks (order -10) so that clipping applies to its gradients; not
 * with accumulateGradients (the second pass sees one batch, not the accumulated ones).
 *
 * @param options rho.
 * @returns The callback.
 * @throws {RangeError} If `rho` is not a positive number.
 *
 * @example One step on y = w x from w = 0, by hand
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeLearner, fit, learner, mse } from "@fitloop/fitloop";
 * import { sam } from "@fitloop/fitloop/callbacks";
 * import { sgd } from "@fitloop/fitloop/optim";
 * import { assertAlmostEquals } from "@std/assert";
 * const w = tf.variable(tf.scalar(0));
 * const model = { variables: [w], apply: (x: tf.Tensor | tf.Tensor[]) => tf.mul(x as tf.Tensor, w) };
 * const x = tf.ones([1]);
 * const learn = learner({ model, data: { train: [[x, x]] }, loss: mse, optimizer: sgd() });
 * await fit(learn, 1, { lr: 0.1, callbacks: [sam({ rho: 0.5 })] });
 * // g = 2 (w - 1) = -2 at w = 0; at w + 0.5 * g / |g| = -0.5, g = -3; w = 0 - 0.1 * -3
 * assertAlmostEquals((await w.data())[0]!, 0.3, 1e-6);
 * disposeLearner(learn);
 * tf.dispose([w, x]);
 * ```
 */
export function sam(options: SamOptions = {}): Callback {
  const { rho = 0.05 } = options;
  if (!(Number.isFinite(rho) && rho > 0)) {
    throw new RangeError(
      `Cannot create sam as 'rho' must be a positive number: current value is ${rho}`,
    );
  }
  return {
    name: "sam",
    order: -10,
    onBackwardEnd(s: TrainState, ctx): StateUpdate | void {
      const g = s.grads;
      if (!g || !ctx.learner) return;
      const learn = ctx.learner;
      const vars: Variable[] = trainableParams(learn).params
        .map((p) => p.variable)
        .filter((v) => g[v.name] !== undefined);
      const saved: Tensor[] = vars.map((v) => tf.clone(v));
      try {
        tf.tidy(() => {
          const norm = tf.sqrt(tf.addN(vars.map((v) => tf.sum(tf.square(g[v.name]!)))));
          const scale = tf.div(rho, tf.add(norm, 1e-12));
          for (const v of vars) v.assign(tf.add(v, tf.mul(g[v.name]!, scale)));
        });
        const at = lossGradients(learn, [s.lastInput!, s.lastTarget!], {
          loss: s.loss,
          updateStats: false,
        });
        at.loss.dispose();
        return { grads: at.grads };
      } finally {
        vars.forEach((v, i) => v.assign(saved[i]!));
        tf.dispose(saved);
      }
    },
  };
}
