/**
 * The learner: what to train (a tfjs Layers model or a hand-written one), on what data,
 * with which loss, metrics, callbacks and optimizer. It is configuration plus the one
 * thing that must outlive a fit: the optimizer's state (moments), kept in `optState`.
 *
 * @module
 */
import type { Callback } from "./callback.ts";
import type { DataBunch } from "./data.ts";
import type { LearnerCore } from "./learner_core.ts";
import { isHandModel, isLayersModel } from "./_params.ts";
import { checkLr, checkOptions, checkWd, show, suggest } from "./_options.ts";
import { adam } from "../optim/adam.ts";
import type { LearningRate } from "../optim/hypers.ts";
import { disposeOptimizerState, type Optimizer } from "../optim/optimizer.ts";
import type { LayerGroups, LossFn, Metric, Model, Variable } from "./types.ts";

/** A learner, made by {@linkcode learner}: its core (what hooks see) and its own callbacks. */
export interface Learner extends LearnerCore {
  /** Callbacks for every fit. */
  readonly callbacks: readonly Callback[];
}

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

/**
 * Makes a learner.
 *
 * @param options Model, data, loss and the rest.
 * @returns The learner.
 * @throws {TypeError} If an option is unknown (with a "did you mean"), the model is neither
 * a LayersModel nor `{ apply, variables }`, no training data or loss is given, `data` has
 * a key other than `train` and `valid`, or metrics, callbacks, optimizer, lr or wd are of
 * the wrong kind.
 * @throws {RangeError} If `lr` or `wd` is negative or not finite.
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
  checkOptions("create learner", options, LEARNER_OPTIONS);
  if (options === undefined) {
    throw new TypeError(
      "Cannot create learner as its options must be given: { model, data, loss } at least",
    );
  }
  const { model, data, loss } = options;
  if (!isLayersModel(model) && !isHandModel(model)) {
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
  for (const key of Object.keys(data)) {
    if (key === "train" || key === "valid") continue;
    throw new TypeError(
      `Cannot create learner as 'data.${key}' is not a data field${
        suggest(key, ["train", "valid"], "fields")
      }`,
    );
  }
  if (typeof loss !== "function") {
    throw new TypeError(
      `Cannot create learner as 'loss' must be a function: current type is ${typeof loss}`,
    );
  }
  _checkMetrics(options.metrics);
  if (options.callbacks !== undefined && !Array.isArray(options.callbacks)) {
    throw new TypeError(
      `Cannot create learner as 'callbacks' must be an array of callbacks: current value is ${
        show(options.callbacks)
      }`,
    );
  }
  if (options.lr !== undefined) checkLr("create learner", "lr", options.lr);
  if (options.wd !== undefined) checkWd("create learner", "wd", options.wd);
  const opt = options.optimizer;
  if (
    opt !== undefined &&
    (opt === null || typeof opt !== "object" || typeof opt.update !== "function" ||
      typeof opt.defaults !== "object")
  ) {
    throw new TypeError(
      `Cannot create learner as 'optimizer' must be an optimizer such as adam() or sgd(): ` +
        `current value is ${show(opt)}${typeof opt === "function" ? " (call it: adam())" : ""}`,
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

const LEARNER_OPTIONS = [
  "model",
  "data",
  "loss",
  "metrics",
  "callbacks",
  "optimizer",
  "lr",
  "wd",
  "trueWd",
  "bnWd",
  "noDecay",
  "layerGroups",
];

function _checkMetrics(metrics: unknown): void {
  if (metrics === undefined) return;
  const ok = Array.isArray(metrics) &&
    metrics.every((m) =>
      m && typeof m === "object" && typeof m.name === "string" && m.name &&
      typeof m.fn === "function"
    );
  if (!ok) {
    throw new TypeError(
      `Cannot create learner as 'metrics' must be an array of metrics ({ name, fn }, such as ` +
        `accuracy): current value is ${show(metrics)}`,
    );
  }
  const names = (metrics as readonly Metric[]).map((m) => m.name);
  const clash = names.find((n, i) =>
    names.indexOf(n) !== i || n === "validLoss" || n === "trainLoss"
  );
  if (clash !== undefined) {
    throw new TypeError(
      `Cannot create learner as metric name '${clash}' is used twice (validLoss and trainLoss ` +
        `are taken): give each metric its own name`,
    );
  }
}

/**
 * Frees the learner's optimizer state (the model and data stay the caller's).
 *
 * @param learn The learner.
 *
 * @example The optimizer's moments are freed, the model's weights kept
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, fit, learner, mse } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const x = tf.ones([4, 1]);
 * const learn = learner({ model, data: { train: batches(x, x) }, loss: mse });
 * const before = tf.memory().numTensors;
 * await fit(learn, 1);
 * assertEquals(tf.memory().numTensors, before + 4); // Adam's two slots for kernel and bias
 * disposeLearner(learn);
 * assertEquals([tf.memory().numTensors, learn.optState], [before, undefined]);
 * x.dispose();
 * model.dispose();
 * ```
 */
export function disposeLearner(learn: LearnerCore): void {
  if (learn.optState) disposeOptimizerState(learn.optState);
  learn.optState = undefined;
}
