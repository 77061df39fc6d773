import * as tf from "@tensorflow/tfjs";
import { beta, mixSeed, mulberry32, permutation } from "../core/_rng.ts";
import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { Input, LossFn, Scalar, Tensor } from "../core/types.ts";
import { checkOptions } from "../core/_options.ts";

/** Options of {@linkcode mixUp}. */
export interface MixUpOptions {
  /** Beta(alpha, alpha) draws the mixing weight. @default {0.4} */
  readonly alpha?: number;
  /** Seed of the draws and pairings (per iteration, so a run replays exactly). @default {the fit's seed} */
  readonly seed?: number;
}

/** Packed mixed targets (`stack([y, y[perm]])`) and their mixing weight. */
const MIXED = new WeakMap<Tensor, number>();

/** The loss mixUp wraps around the learner's, and what it wraps. */
export interface MixUpLoss extends LossFn {
  /** The wrapped loss, put back when training ends. */
  readonly inner: LossFn;
}

function _wrap(inner: LossFn): MixUpLoss {
  const loss = (output: Tensor, target: Tensor): Scalar => {
    const lambda = MIXED.get(target);
    if (lambda === undefined) return inner(output, target);
    return tf.tidy(() => {
      const [a, b] = tf.unstack(target);
      return tf.add(
        tf.mul(inner(output, a!), lambda),
        tf.mul(inner(output, b!), 1 - lambda),
      ) as Scalar;
    });
  };
  return Object.assign(loss, { inner });
}

function _isMixUpLoss(loss: LossFn): loss is MixUpLoss {
  return typeof (loss as Partial<MixUpLoss>).inner === "function";
}

/**
 * mixup (Zhang et al.), the seed's example of a callback that changes the batch and the
 * loss: each training batch becomes `lambda * x + (1 - lambda) * x[perm]`, with
 * `lambda ~ Beta(alpha, alpha)` (folded to >= 0.5, as fastai) and a random pairing `perm`,
 * and the loss becomes `lambda * loss(out, y) + (1 - lambda) * loss(out, y[perm])`. The
 * loss is wrapped at onTrainBegin and put back at onTrainEnd, also after an error.
 * Validation is untouched. The target callbacks see during training is the packed pair
 * `stack([y, y[perm]])`.
 *
 * @param options alpha and seed.
 * @returns The callback (its memory holds the last batch's lambda).
 * @throws {RangeError} If `alpha` is not a positive number.
 *
 * @example The loss is wrapped and put back
 * ```ts
 * import { mixUp } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { mse } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const cb = mixUp();
 * const s = initialState({ nEpochs: 1, hypers: [], loss: mse });
 * const wrapped = (cb.onTrainBegin!(s, {}) as { loss: typeof mse }).loss;
 * assertEquals(wrapped === mse, false);
 * assertEquals((cb.onTrainEnd!({ ...s, loss: wrapped }, {}) as { loss: unknown }).loss, mse);
 * ```
 */
export function mixUp(options: MixUpOptions = {}): Callback {
  checkOptions("create mixUp", options, ["alpha", "seed"]);
  const { alpha = 0.4 } = options;
  if (!(alpha > 0 && Number.isFinite(alpha))) {
    throw new RangeError(
      `Cannot create mixUp as 'alpha' must be a positive number: current value is ${alpha}`,
    );
  }
  return {
    name: "mixUp",
    onTrainBegin: (s: TrainState): StateUpdate | void =>
      _isMixUpLoss(s.loss) ? undefined : { loss: _wrap(s.loss) },
    onBatchBegin(s: TrainState): StateUpdate | void {
      if (!s.train) return;
      const target = s.lastTarget!;
      const n = target.shape[0]!;
      const seed = options.seed ?? s.seed;
      const rand = mulberry32(mixSeed(seed, s.iteration));
      const draw = beta(rand, alpha, alpha);
      const lambda = Math.max(draw, 1 - draw);
      const order = permutation(n, seed ^ 0x5bd1e995, s.iteration);
      const [input, packed] = tf.tidy(() => {
        const idx = tf.tensor1d(order, "int32");
        const mix = (x: Tensor): Tensor =>
          tf.add(tf.mul(x, lambda), tf.mul(tf.gather(x, idx), 1 - lambda));
        const x = s.lastInput!;
        const mixed: Input = Array.isArray(x) ? x.map(mix) : mix(x);
        return [mixed, tf.stack([target, tf.gather(target, idx)])] as const;
      });
      MIXED.set(packed, lambda);
      // a resumed run did not run onTrainBegin: wrap the loss here if it is not yet
      const loss = _isMixUpLoss(s.loss) ? undefined : _wrap(s.loss);
      return {
        lastInput: input,
        lastTarget: packed,
        memory: { lambda },
        ...(loss ? { loss } : {}),
      };
    },
    onTrainEnd: (s: TrainState): StateUpdate | void =>
      _isMixUpLoss(s.loss) ? { loss: s.loss.inner } : undefined,
  };
}
