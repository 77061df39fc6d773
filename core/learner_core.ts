/**
 * What a learner is to the loop and to its hooks: the model, its data, loss, metrics and
 * optimizer, and the optimizer's state. A hook finds it as `ctx.learner`. The full
 * {@linkcode Learner} (in learner.ts) adds the learner's own callbacks; keeping them apart
 * is what lets callback records name the learner without an import cycle.
 *
 * @module
 */
import type { DataBunch } from "./data.ts";
import type { LearningRate } from "../optim/hypers.ts";
import type { Optimizer, OptimizerState } from "../optim/optimizer.ts";
import type { LayerGroups, LossFn, Metric, Model, Variable } from "./types.ts";

/** A learner without its callbacks: what a hook may touch (`ctx.learner`). */
export interface LearnerCore {
  /** The model. */
  readonly model: Model;
  /** Training and validation data. */
  readonly data: DataBunch;
  /** The loss function. */
  readonly loss: LossFn;
  /** Metrics computed on validation batches. */
  readonly metrics: readonly Metric[];
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
