/**
 * Local names for the tfjs types in the optimizers' signatures (so that JSR's docs and
 * `deno doc --lint` see documented types of ours). Type-only: importing this file loads
 * no tfjs. The loop (core/) re-exports them.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** A tfjs tensor. */
export type Tensor = tf.Tensor;
/** A rank-0 tfjs tensor. */
export type Scalar = tf.Scalar;
/** A tfjs variable (a trainable weight). */
export type Variable = tf.Variable;
/** Gradients keyed by variable name. */
export type Grads = Readonly<Record<string, Tensor>>;
