import * as tf from "@tensorflow/tfjs";
import { beta, mixSeed, mulberry32, permutation } from "../core/_rng.ts";
import type { Callback, StateUpdate } from "../core/callback.ts";
import { crossEntropy, crossEntropyPerSample, mse, msePerSample } from "../core/losses.ts";
import type { TrainState } from "../core/state.ts";
import type { Input, LossFn, Scalar, Tensor } from "../core/types.ts";
import { checkOptions } from "../core/_options.ts";

/** A loss before the batch mean: from output and target `[B, ...]` to `[B]` losses. */
export type PerSampleLoss = (output: Tensor, target: Tensor) => Tensor;

/** Options of {@linkcode mixUp}. */
export interface MixUpOptions {
  /** Each sample's mixing weight is drawn from Beta(alpha, alpha). @default {0.4} */
  readonly alpha?: number;
  /** Seed of the draws and pairings (per iteration, so a run replays exactly). @default {the fit's seed} */
  readonly seed?: number;
  /**
   * The learner's loss per sample, `[B]` (its batch mean must be the loss). Needed because
   * each sample's loss is weighed by its own lambda.
   * @default {crossEntropyPerSample for crossEntropy, msePerSample for mse, else the loss applied to each sample alone (one call per sample)}
   */
  readonly lossPerSample?: PerSampleLoss;
}

/** The memory of {@linkcode mixUp}: the last training batch's draws. */
export interface MixUpMemory {
  /** Each sample's weight, `max(l, 1 - l)` of its Beta(alpha, alpha) draw `l`. */
  readonly lambdas: readonly number[];
  /** Each sample's partner: sample `i` is mixed with sample `partners[i]`. */
  readonly partners: readonly number[];
}

/** The loss mixUp wraps around the learner's, and what it wraps. */
export interface MixUpLoss extends LossFn {
  /** The wrapped loss, put back when training ends. */
  readonly inner: LossFn;
}

/** Packed mixed targets (`stack([y, y[partners]])`) and each sample's lambda. */
const MIXED = new WeakMap<Tensor, readonly number[]>();

/** Per-sample forms of fitloop's own losses. */
const PER_SAMPLE = new Map<LossFn, PerSampleLoss>([
  [crossEntropy, crossEntropyPerSample],
  [mse, msePerSample],
]);

/** Any loss per sample: the loss of each one-sample batch (the batch mean of one sample). */
function _eachSample(inner: LossFn): PerSampleLoss {
  return (output: Tensor, target: Tensor): Tensor =>
    tf.tidy(() => {
      const n = output.shape[0]!;
      const outputs = tf.split(output, n);
      const targets = tf.split(target, n);
      return tf.stack(outputs.map((o, i) => tf.reshape(inner(o, targets[i]!), [])));
    });
}

function _wrap(inner: LossFn, given: PerSampleLoss | undefined): MixUpLoss {
  const perSample = given ?? PER_SAMPLE.get(inner) ?? _eachSample(inner);
  const loss = (output: Tensor, target: Tensor): Scalar => {
    const lambdas = MIXED.get(target);
    if (lambdas === undefined) return inner(output, target);
    return tf.tidy(() => {
      const [y, partner] = tf.unstack(target);
      // fastai v1 MixUpLoss: (loss1 * lambda + loss2 * (1 - lambda)).mean(), per sample
      const lambda = tf.tensor1d(lambdas as number[]);
      const a = perSample(output, y!);
      const b = perSample(output, partner!);
      if (a.rank !== 1 || a.shape[0] !== lambdas.length) {
        throw new TypeError(
          `Cannot mix up the loss as the per-sample loss must have shape [${lambdas.length}]: ` +
            `it returned shape [${a.shape}]`,
        );
      }
      return tf.mean(tf.add(tf.mul(a, lambda), tf.mul(b, tf.sub(1, lambda)))) as Scalar;
    });
  };
  return Object.assign(loss, { inner });
}

function _isMixUpLoss(loss: LossFn): loss is MixUpLoss {
  return typeof (loss as Partial<MixUpLoss>).inner === "function";
}

/**
 * mixup (Zhang et al.) as fastai v1's `MixUpCallback` with its defaults (`stack_x=False,
 * stack_y=True`, `fastai/callbacks/mixup.py`): in each training batch, sample `i` draws
 * its own `l_i ~ Beta(alpha, alpha)`, takes `lambda_i = max(l_i, 1 - l_i)`, and is mixed
 * with a random partner `p_i` (a permutation of the batch):
 * `x_i' = lambda_i * x_i + (1 - lambda_i) * x_{p_i}`; the loss becomes
 * `mean_i(lambda_i * loss_i(y_i) + (1 - lambda_i) * loss_i(y_{p_i}))`. That needs the loss
 * per sample: `lossPerSample`, else the per-sample form of the built-in losses, else the
 * learner's loss applied to each sample alone (correct for any loss that is a batch mean,
 * one call per sample). Draws and pairings derive from the run's seed and the iteration,
 * so they differ between batches and epochs and a resumed run replays them. The loss is
 * wrapped at onTrainBegin and put back at onTrainEnd, also after an error. Validation is
 * untouched. The target callbacks see during training is the packed pair
 * `stack([y, y[partners]])`.
 *
 * @param options alpha, seed and the per-sample loss.
 * @returns The callback (its memory, a {@linkcode MixUpMemory}, holds the last batch's draws).
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
  checkOptions("create mixUp", options, ["alpha", "seed", "lossPerSample"]);
  const { alpha = 0.4, lossPerSample } = options;
  if (!(alpha > 0 && Number.isFinite(alpha))) {
    throw new RangeError(
      `Cannot create mixUp as 'alpha' must be a positive number: current value is ${alpha}`,
    );
  }
  if (lossPerSample !== undefined && typeof lossPerSample !== "function") {
    throw new TypeError(
      `Cannot create mixUp as 'lossPerSample' must be a function: current type is ${typeof lossPerSample}`,
    );
  }
  return {
    name: "mixUp",
    onTrainBegin: (s: TrainState): StateUpdate | void =>
      _isMixUpLoss(s.loss) ? undefined : { loss: _wrap(s.loss, lossPerSample) },
    onBatchBegin(s: TrainState): StateUpdate | void {
      if (!s.train) return;
      const target = s.lastTarget!;
      const n = target.shape[0]!;
      const seed = options.seed ?? s.seed;
      const rand = mulberry32(mixSeed(seed, s.iteration));
      const lambdas: number[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const l = beta(rand, alpha, alpha);
        lambdas[i] = Math.max(l, 1 - l);
      }
      const order = permutation(n, seed ^ 0x5bd1e995, s.iteration);
      const [input, packed] = tf.tidy(() => {
        const idx = tf.tensor1d(order, "int32");
        const lambda = tf.tensor1d(lambdas); // float32, as v1's last_input.new(lambd)
        const mix = (x: Tensor): Tensor => {
          const l = tf.reshape(lambda, [n, ...x.shape.slice(1).map(() => 1)]);
          return tf.add(tf.mul(x, l), tf.mul(tf.gather(x, idx), tf.sub(1, l)));
        };
        const x = s.lastInput!;
        const mixed: Input = Array.isArray(x) ? x.map(mix) : mix(x);
        return [mixed, tf.stack([target, tf.gather(target, idx)])] as const;
      });
      MIXED.set(packed, lambdas);
      // a resumed run did not run onTrainBegin: wrap the loss here if it is not yet
      const loss = _isMixUpLoss(s.loss) ? undefined : _wrap(s.loss, lossPerSample);
      const memory: MixUpMemory = { lambdas, partners: Array.from(order) };
      return { lastInput: input, lastTarget: packed, memory, ...(loss ? { loss } : {}) };
    },
    onTrainEnd: (s: TrainState): StateUpdate | void =>
      _isMixUpLoss(s.loss) ? { loss: s.loss.inner } : undefined,
  };
}
