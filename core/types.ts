/**
 * Local names for the tfjs types in fitloop's public signatures (so that JSR's docs and
 * `deno doc --lint` see documented types of ours), and the function types of losses and
 * metrics. Type-only: importing this file loads no tfjs.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

import type { Grads, Scalar, Tensor, Variable } from "../optim/types.ts";

export type { Grads, Scalar, Tensor, Variable };
/** A tfjs Layers model (`tf.sequential()` or `tf.model()`). */
export type LayersModel = tf.LayersModel;
/** A batch's input: one tensor, or one per model input. */
export type Input = Tensor | Tensor[];

/** A loss: from the model's output and the target to a scalar (the batch mean). */
export type LossFn = (output: Tensor, target: Tensor) => Scalar;

/**
 * A metric averaged over the validation set, weighted by batch size (the seed's
 * `AverageMetric`): `fn` gives the mean over one batch.
 */
export interface Metric {
  /** The name under which the value appears in `metricNames` and logs. */
  readonly name: string;
  /** The batch mean of the metric. */
  readonly fn: (output: Tensor, target: Tensor) => Scalar;
}

/** What the loop passes to a hand-written model's `apply`. */
export interface ApplyOptions {
  /** Training (dropout, batch statistics and the like) or inference. */
  readonly training: boolean;
  /**
   * Reports an intermediate output under a name, for callbacks that ask for it (see
   * `Callback.captures`); absent when none does. @default {undefined}
   */
  readonly capture?: (name: string, value: Tensor) => void;
}

/** A hand-written model: a forward function and its trainable variables. */
export interface HandModel {
  /** The forward pass; `training` switches dropout, batch statistics and the like. */
  apply(input: Input, options: ApplyOptions): Tensor;
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
