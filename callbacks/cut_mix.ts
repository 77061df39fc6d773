import * as tf from "@tensorflow/tfjs";
import { beta, mixSeed, mulberry32, permutation } from "../core/_rng.ts";
import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { LossFn, Scalar, Tensor } from "../core/types.ts";

/** Options of {@linkcode cutMix}. */
export interface CutMixOptions {
  /** Beta(alpha, alpha) draws the share of the image kept. @default {1} */
  readonly alpha?: number;
  /** Seed of the draws and pairings (per iteration, so a run replays exactly). @default {the fit's seed} */
  readonly seed?: number;
}

/** The memory of {@linkcode cutMix}: the last training batch's box and weight. */
export interface CutMixMemory {
  /** The pasted box, `[top, left, bottom, right]` (bottom and right exclusive). */
  readonly box: readonly [number, number, number, number];
  /** The share of each image left as it was: `1 - box area / image area`. */
  readonly lambda: number;
}

/** The loss cutMix puts in the state for a training batch, and the one it wraps. */
export interface CutMixLoss extends LossFn {
  /** The wrapped loss, put back for validation and at the end of training. */
  readonly inner: LossFn;
  /** The batch's weight of the original targets. */
  readonly cutMixLambda: number;
}

function _isCutMixLoss(loss: LossFn): loss is CutMixLoss {
  return typeof (loss as Partial<CutMixLoss>).cutMixLambda === "number";
}

function _mixedLoss(inner: LossFn, lambda: number): CutMixLoss {
  const loss = (output: Tensor, packed: Tensor): Scalar =>
    tf.tidy(() => {
      const [a, b] = tf.unstack(packed);
      return tf.add(tf.mul(inner(output, a!), lambda), tf.mul(inner(output, b!), 1 - lambda));
    });
  return Object.assign(loss, { inner, cutMixLambda: lambda });
}

/**
 * CutMix (Yun et al. 2019): in each training batch of images `[B, H, W, ...]`, a box of
 * every image is replaced by the same box of a partner image (a seeded random pairing).
 * The box is centred on a uniform pixel with sides `floor(H sqrt(1 - l))` and
 * `floor(W sqrt(1 - l))`, `l ~ Beta(alpha, alpha)`, clipped to the image; the loss becomes
 * `lambda * loss(out, y) + (1 - lambda) * loss(out, y[perm])` with `lambda` the share of
 * pixels kept. Draws derive from the seed and the iteration, so a resumed run replays
 * them. During training the target is the packed pair `stack([y, y[perm]])` and the loss a
 * wrapper of the learner's; validation batches get the plain loss back, as does the end
 * of training (also after an error).
 *
 * @param options alpha and seed.
 * @returns The callback.
 * @throws {RangeError} If `alpha` is not a positive number; during a fit, if the input is
 * not one tensor of rank 3 or more.
 *
 * @example A ones image keeps the share lambda of its pixels when its partner is a zeros image
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { cutMix } from "@fitloop/fitloop/callbacks";
 * import { initialState, mse } from "@fitloop/fitloop/core";
 * import { assertAlmostEquals } from "@std/assert";
 * const x = tf.concat([tf.ones([1, 8, 8, 1]), tf.zeros([1, 8, 8, 1])]);
 * const y = tf.tensor1d([1, 0]);
 * const s = { ...initialState({ nEpochs: 1, hypers: [], loss: mse, seed: 2 }), lastInput: x, lastTarget: y };
 * const u = cutMix().onBatchBegin!(s, {}) as {
 *   lastInput: tf.Tensor; lastTarget: tf.Tensor; memory: { lambda: number };
 * };
 * const partnerOfOnes = (await u.lastTarget.data())[2]; // packed [y, y[perm]]: 0 with this seed
 * const ones = tf.sum(tf.slice(u.lastInput, [0], [1]));
 * const expected = partnerOfOnes === 0 ? 64 * u.memory.lambda : 64;
 * assertAlmostEquals((await ones.data())[0]!, expected, 1e-6);
 * tf.dispose([x, y, u.lastInput, u.lastTarget, ones]);
 * ```
 */
export function cutMix(options: CutMixOptions = {}): Callback {
  const { alpha = 1 } = options;
  if (!(alpha > 0 && Number.isFinite(alpha))) {
    throw new RangeError(
      `Cannot create cutMix as 'alpha' must be a positive number: current value is ${alpha}`,
    );
  }
  return {
    name: "cutMix",
    onBatchBegin(s: TrainState): StateUpdate | void {
      const inner = _isCutMixLoss(s.loss) ? s.loss.inner : s.loss;
      if (!s.train) return inner === s.loss ? undefined : { loss: inner };
      const x = s.lastInput!;
      if (Array.isArray(x) || x.rank < 3) {
        throw new RangeError(
          `Cannot cutMix a batch as the input must be one image tensor [B, H, W, ...]: current shape is ${
            Array.isArray(x) ? `${x.length} tensors` : `[${x.shape}]`
          }`,
        );
      }
      const [n, h, w] = x.shape as [number, number, number];
      const seed = (options.seed ?? s.seed) ^ 0x63757478;
      const rand = mulberry32(mixSeed(seed, s.iteration));
      const cut = Math.sqrt(1 - beta(rand, alpha, alpha));
      const [cy, cx] = [Math.floor(rand() * h), Math.floor(rand() * w)];
      const [hh, hw] = [Math.floor(Math.floor(h * cut) / 2), Math.floor(Math.floor(w * cut) / 2)];
      const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
      const box = [clip(cy - hh, h), clip(cx - hw, w), clip(cy + hh, h), clip(cx + hw, w)] as const;
      const lambda = 1 - ((box[2] - box[0]) * (box[3] - box[1])) / (h * w);
      const mask = new Float32Array(h * w);
      for (let i = box[0]; i < box[2]; i++) mask.fill(1, i * w + box[1], i * w + box[3]);
      const order = permutation(n, seed ^ 0x5bd1e995, s.iteration);
      const [input, packed] = tf.tidy(() => {
        const idx = tf.tensor1d(order, "int32");
        const inBox = tf.tensor(mask, [1, h, w, ...x.shape.slice(3).map(() => 1)]);
        // x (1 - m) + x[perm] m with m in {0, 1}: exact for finite pixels, and far cheaper
        // than tf.where on WASM
        const y = s.lastTarget!;
        const mixed = tf.add(tf.mul(x, tf.sub(1, inBox)), tf.mul(tf.gather(x, idx), inBox));
        return [mixed, tf.stack([y, tf.gather(y, idx)])];
      });
      const memory: CutMixMemory = { box, lambda };
      return { lastInput: input, lastTarget: packed, loss: _mixedLoss(inner, lambda), memory };
    },
    onTrainEnd: (s: TrainState): StateUpdate | void =>
      _isCutMixLoss(s.loss) ? { loss: s.loss.inner } : undefined,
  };
}
