/**
 * Freezing layer groups (fastai v1's `freeze`, `freeze_to`, `unfreeze`): the transfer
 * learning routine of training a new head on a frozen body, then the whole model with
 * discriminative learning rates. Frozen variables get no gradient and no optimizer step,
 * so they stay bit for bit as they are; their optimizer moments stay in the learner's
 * `optState` for when they are unfrozen. Normalisation layers stay trainable by default
 * (fastai's `train_bn`). A fit notices a freezing done during it (by a callback) at its
 * next training batch.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { LearnerCore } from "./learner_core.ts";
import { isLayersModel, layerGroupsOf, recordFreeze } from "./_params.ts";
import type { Variable } from "./types.ts";

/** Options of {@linkcode freezeTo} and {@linkcode freeze}. */
export interface FreezeOptions {
  /**
   * Keep normalisation layers (BatchNormalization, LayerNormalization…) trainable in frozen
   * groups, as fastai's `train_bn`. With `false` they are frozen too, and a frozen
   * BatchNormalization runs in inference mode (its moving statistics stay as they are, as
   * Keras does and fastai's `BnFreeze`). @default {true}
   */
  readonly trainBn?: boolean;
  /**
   * Which variables of a hand-written model are normalisation weights (kept trainable with
   * `trainBn`). LayersModels tell by the layer's class. @default {() => false}
   */
  readonly isNorm?: (variable: Variable) => boolean;
}

/** A weight of a tfjs layer (LayerVariable): its variable and its trainable flag. */
interface _Weight {
  trainable: boolean;
  read(): tf.Tensor;
}

type _Layer = tf.layers.Layer & { layers?: _Layer[]; _trainableWeights?: _Weight[] };

const _patched = new WeakSet<object>();

/** A frozen BatchNormalization normalises with its moving statistics and leaves them alone. */
function _inferenceMode(layer: _Layer, on: boolean): void {
  if (on && !_patched.has(layer)) {
    const call = Object.getPrototypeOf(layer).call;
    Object.defineProperty(layer, "call", {
      configurable: true,
      writable: true,
      value: (inputs: tf.Tensor, kwargs: Record<string, unknown>) =>
        call.call(layer, inputs, { ...kwargs, training: false }),
    });
    _patched.add(layer);
  } else if (!on && _patched.has(layer)) {
    delete (layer as { call?: unknown }).call;
    _patched.delete(layer);
  }
}

/**
 * Freezes the first `n` layer groups and unfreezes the others (fastai's `freeze_to`): a
 * negative `n` counts from the end (`-1`: all groups but the last). Layer groups are the
 * learner's `layerGroups` (one group when none are given). Variables in no group are left
 * as they are.
 *
 * @param learn The learner.
 * @param n Number of leading groups to freeze, from `-nGroups` to `nGroups`.
 * @param options Whether normalisation layers stay trainable.
 * @throws {RangeError} If `n` is not an integer from `-nGroups` to `nGroups`.
 *
 * @example Freeze the body, train the head
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { freezeTo, learner, mse } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [
 *   tf.layers.dense({ units: 4, inputShape: [2] }),
 *   tf.layers.dense({ units: 1 }),
 * ] });
 * const learn = learner({ model, data: { train: [] }, loss: mse, layerGroups: { splitAt: [1] } });
 * freezeTo(learn, 1);
 * assertEquals(model.trainableWeights.length, 2); // the head's kernel and bias
 * freezeTo(learn, 0);
 * assertEquals(model.trainableWeights.length, 4);
 * model.dispose();
 * ```
 */
export function freezeTo(learn: LearnerCore, n: number, options: FreezeOptions = {}): void {
  const { nGroups, groupOf } = layerGroupsOf(learn);
  if (!(Number.isInteger(n) && n >= -nGroups && n <= nGroups)) {
    throw new RangeError(
      `Cannot freeze as 'n' must be an integer from ${-nGroups} to ${nGroups} (the learner has ` +
        `${nGroups} layer groups): current value is ${n}`,
    );
  }
  const k = n < 0 ? nGroups + n : n;
  const trainBn = options.trainBn ?? true;
  const train = (v: Variable, norm: boolean, now: boolean): boolean => {
    const g = groupOf(v);
    return g === undefined ? now : g >= k || (trainBn && norm);
  };
  const model = learn.model;
  if (isLayersModel(model)) {
    const wanted = (layer: _Layer): boolean[] => {
      const norm = /Normalization/.test(layer.getClassName());
      return (layer._trainableWeights ?? []).map((w) =>
        train(w.read() as Variable, norm, w.trainable)
      );
    };
    const anyIn = (layer: _Layer): boolean =>
      layer.layers ? layer.layers.some(anyIn) : wanted(layer).some((t) => t);
    const visit = (layer: _Layer): void => {
      if (layer.layers) {
        if (anyIn(layer) && !layer.trainable) layer.trainable = true;
        layer.layers.forEach(visit);
        return;
      }
      const flags = wanted(layer);
      if (flags.length === 0) return; // no trainable weights (Dropout, Flatten…)
      const any = flags.some((t) => t);
      layer.trainable = any; // sets every weight's flag; then the exceptions
      (layer._trainableWeights ?? []).forEach((w, i) => (w.trainable = flags[i]!));
      if (layer.getClassName() === "BatchNormalization") _inferenceMode(layer, !any);
    };
    const top = model as unknown as _Layer;
    if (anyIn(top) && !top.trainable) top.trainable = true;
    top.layers!.forEach(visit);
  } else {
    const isNorm = options.isNorm ?? (() => false);
    for (const v of model.variables) v.trainable = train(v, isNorm(v), v.trainable);
  }
  recordFreeze(model, n, options as Readonly<Record<string, unknown>>);
}

/**
 * Freezes every layer group but the last (fastai's `freeze`): only the head trains.
 * Normalisation layers stay trainable unless `trainBn: false`. A learner without
 * `layerGroups` has one group, so nothing is frozen (as in fastai): give it groups first.
 *
 * @param learn The learner.
 * @param options Whether normalisation layers stay trainable.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { freeze, learner, mse, unfreeze } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const body = tf.variable(tf.ones([2, 2]));
 * const head = tf.variable(tf.ones([2, 1]));
 * const model = { variables: [body, head], apply: (x: tf.Tensor) => x.matMul(body).matMul(head) };
 * const learn = learner({ model, data: { train: [] }, loss: mse, layerGroups: [[body], [head]] });
 * freeze(learn);
 * assertEquals([body.trainable, head.trainable], [false, true]);
 * unfreeze(learn);
 * assertEquals([body.trainable, head.trainable], [true, true]);
 * tf.dispose([body, head]);
 * ```
 */
export function freeze(learn: LearnerCore, options: FreezeOptions = {}): void {
  freezeTo(learn, -1, options);
}

/**
 * Makes every layer group trainable again (fastai's `unfreeze`); the optimizer moments
 * kept for the frozen variables are used from their next step on.
 *
 * @param learn The learner.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { freeze, learner, mse, unfreeze } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [
 *   tf.layers.dense({ units: 3, inputShape: [2] }),
 *   tf.layers.dense({ units: 1 }),
 * ] });
 * const learn = learner({ model, data: { train: [] }, loss: mse, layerGroups: { splitAt: [1] } });
 * freeze(learn);
 * unfreeze(learn);
 * assertEquals(model.trainableWeights.length, 4);
 * model.dispose();
 * ```
 */
export function unfreeze(learn: LearnerCore): void {
  freezeTo(learn, 0);
}
