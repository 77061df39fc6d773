/**
 * The learner: what to train (a tfjs Layers model or a hand-written one), on what data,
 * with which loss, metrics, callbacks and optimizer. It is configuration plus the one
 * thing that must outlive a fit: the optimizer's state (moments), kept in `optState`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Callback } from "./callback.ts";
import type { DataBunch } from "./data.ts";
import { adam } from "../optim/adam.ts";
import type { LearningRate } from "../optim/hypers.ts";
import {
  disposeOptimizerState,
  type Optimizer,
  type OptimizerState,
  type Param,
} from "../optim/optimizer.ts";
import type { Input, LayersModel, LossFn, Metric, Scalar, Tensor, Variable } from "./types.ts";

/** A hand-written model: a forward function and its trainable variables. */
export interface HandModel {
  /** The forward pass; `training` switches dropout, batch statistics and the like. */
  apply(input: Input, options: { readonly training: boolean }): Tensor;
  /** The trainable variables. */
  readonly variables: readonly Variable[];
}

/** A model fitloop can train: a tfjs `LayersModel` (sequential or functional) or a {@linkcode HandModel}. */
export type Model = LayersModel | HandModel;

/** A split of a LayersModel's layers into groups: group `i` starts at layer `splitAt[i - 1]`. */
export interface LayerSplit {
  /** Increasing layer indices where a new group starts. */
  readonly splitAt: readonly number[];
}

/** Layer groups: arrays of variables, or a split of a LayersModel's layers. */
export type LayerGroups = readonly (readonly Variable[])[] | LayerSplit;

/** Options of {@linkcode learner}. */
export interface LearnerOptions {
  /** The model. */
  readonly model: Model;
  /** Training and validation data. */
  readonly data: DataBunch;
  /** The loss function. */
  readonly loss: LossFn;
  /** Metrics computed on validation batches. @default {[]} */
  readonly metrics?: readonly Metric[];
  /** Callbacks for every fit of this learner. @default {[]} */
  readonly callbacks?: readonly Callback[];
  /** The optimizer. @default {adam()} */
  readonly optimizer?: Optimizer;
  /** Default learning rate of a fit. @default {1e-3} */
  readonly lr?: LearningRate;
  /** Default weight decay of a fit (one per group, or one for all). @default {0} */
  readonly wd?: number | readonly number[];
  /** Decoupled weight decay (true) or L2 added to the gradient (false). @default {true} */
  readonly trueWd?: boolean;
  /** Decay biases and normalisation weights too. @default {true} */
  readonly bnWd?: boolean;
  /**
   * With `bnWd: false`, which variables of a hand-written model escape decay.
   * @default {(v) => v.rank <= 1}
   */
  readonly noDecay?: (variable: Variable) => boolean;
  /** Layer groups for discriminative hyper-parameters. @default {one group} */
  readonly layerGroups?: LayerGroups;
}

/** A learner, made by {@linkcode learner}. */
export interface Learner {
  /** The model. */
  readonly model: Model;
  /** Training and validation data. */
  readonly data: DataBunch;
  /** The loss function. */
  readonly loss: LossFn;
  /** Metrics computed on validation batches. */
  readonly metrics: readonly Metric[];
  /** Callbacks for every fit. */
  readonly callbacks: readonly Callback[];
  /** The optimizer. */
  readonly optimizer: Optimizer;
  /** Default learning rate. */
  readonly lr: LearningRate;
  /** Default weight decay. */
  readonly wd: number | readonly number[];
  /** Decoupled weight decay. */
  readonly trueWd: boolean;
  /** Decay biases and normalisation weights too. */
  readonly bnWd: boolean;
  /** Predicate for undecayed variables of a hand-written model. */
  readonly noDecay: (variable: Variable) => boolean;
  /** Layer groups, if given. */
  readonly layerGroups: LayerGroups | undefined;
  /** The optimizer's state, kept across fits (created by the first step). */
  optState: OptimizerState | undefined;
}

/**
 * Makes a learner.
 *
 * @param options Model, data, loss and the rest.
 * @returns The learner.
 * @throws {TypeError} If the model is neither a LayersModel nor `{ apply, variables }`, or
 * no training data or loss is given.
 *
 * @example A linear model on a toy problem
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, learner, mse } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * const data = { train: batches(tf.ones([8, 2]), tf.ones([8, 1]), { batchSize: 4 }) };
 * const learn = learner({ model, data, loss: mse });
 * assertEquals(learn.optimizer.name, "adam");
 * tf.dispose([data.train.x, data.train.y]);
 * model.dispose();
 * ```
 */
export function learner(options: LearnerOptions): Learner {
  const { model, data, loss } = options;
  if (!_isLayersModel(model) && !_isHandModel(model)) {
    throw new TypeError(
      "Cannot create learner as 'model' must be a tf.LayersModel or { apply, variables }: " +
        `current value is ${Object.prototype.toString.call(model)}`,
    );
  }
  if (!data || typeof data !== "object" || data.train === undefined) {
    throw new TypeError(
      "Cannot create learner as 'data.train' must be given: current value is undefined",
    );
  }
  if (typeof loss !== "function") {
    throw new TypeError(
      `Cannot create learner as 'loss' must be a function: current type is ${typeof loss}`,
    );
  }
  return {
    model,
    data,
    loss,
    metrics: options.metrics ?? [],
    callbacks: options.callbacks ?? [],
    optimizer: options.optimizer ?? adam(),
    lr: options.lr ?? 1e-3,
    wd: options.wd ?? 0,
    trueWd: options.trueWd ?? true,
    bnWd: options.bnWd ?? true,
    noDecay: options.noDecay ?? ((v: Variable): boolean => v.rank <= 1),
    layerGroups: options.layerGroups,
    optState: undefined,
  };
}

/**
 * Frees the learner's optimizer state (the model and data stay the caller's).
 *
 * @param learn The learner.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeLearner, learner, mse } from "@fitloop/fitloop";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const learn = learner({ model, data: { train: [] }, loss: mse });
 * disposeLearner(learn);
 * model.dispose();
 * ```
 */
export function disposeLearner(learn: Learner): void {
  if (learn.optState) disposeOptimizerState(learn.optState);
  learn.optState = undefined;
}

function _isLayersModel(model: unknown): model is LayersModel {
  return model instanceof tf.LayersModel;
}

function _isHandModel(model: unknown): model is HandModel {
  const m = model as HandModel | null;
  return !!m && typeof m.apply === "function" && Array.isArray(m.variables);
}

/** The model's forward pass. */
export function _forward(learn: Learner, input: Input, training: boolean): Tensor {
  const out = learn.model.apply(input as Tensor, { training });
  if (Array.isArray(out)) {
    throw new TypeError(
      `Cannot train a model with ${out.length} outputs: fitloop's loss takes one output tensor`,
    );
  }
  return out as Tensor;
}

/** The model's own regularisation losses (LayersModel kernel/bias regularizers), if any. */
export function _regularization(learn: Learner): Scalar | undefined {
  const model = learn.model;
  if (!_isLayersModel(model)) return undefined;
  const losses = (model as unknown as { calculateLosses(): Scalar[] }).calculateLosses();
  return losses.length === 0 ? undefined : tf.addN(losses) as Scalar;
}

function _layerOf(model: LayersModel): Map<string, { index: number; norm: boolean }> {
  const map = new Map<string, { index: number; norm: boolean }>();
  model.layers.forEach((layer, index) => {
    const norm = /Normalization/.test(layer.getClassName());
    for (const w of layer.trainableWeights) map.set((w.read() as Variable).name, { index, norm });
  });
  return map;
}

/** The trainable parameters now (freezing may change them between fits), with groups. */
export function _params(learn: Learner): { params: Param[]; nGroups: number } {
  const model = learn.model;
  const groups = learn.layerGroups;
  let variables: Variable[];
  let groupOf: (v: Variable) => number = () => 0;
  let nGroups = 1;
  let decays: (v: Variable) => boolean = () => true;
  if (_isLayersModel(model)) {
    variables = model.trainableWeights.map((w) => w.read() as Variable);
    const layers = _layerOf(model);
    if (!learn.bnWd) {
      decays = (v) => !(layers.get(v.name)?.norm ?? false) && !/bias$/.test(v.name);
    }
    if (groups && !Array.isArray(groups)) {
      const splitAt = (groups as LayerSplit).splitAt;
      nGroups = splitAt.length + 1;
      groupOf = (v) => {
        const index = layers.get(v.name)?.index ?? 0;
        let g = 0;
        while (g < splitAt.length && index >= splitAt[g]!) g++;
        return g;
      };
    }
  } else {
    variables = model.variables.filter((v) => v.trainable);
    if (!learn.bnWd) decays = (v) => !learn.noDecay(v);
  }
  if (groups && Array.isArray(groups)) {
    const lists = groups as readonly (readonly Variable[])[];
    const index = new Map<string, number>();
    lists.forEach((list, g) => list.forEach((v) => index.set(v.name, g)));
    nGroups = lists.length;
    variables = variables.filter((v) => index.has(v.name));
    groupOf = (v) => index.get(v.name)!;
  }
  if (variables.length === 0) {
    throw new RangeError("Cannot fit as the model has no trainable variables: current count is 0");
  }
  const params = variables.map((variable) => ({
    variable,
    group: groupOf(variable),
    decay: decays(variable),
  }));
  return { params, nGroups };
}
