// Copies of a model's weights (trainable and not: batch-norm statistics too), for
// callbacks that put weights back (earlyStopping's restoreBest, lrFind).
import * as tf from "@tensorflow/tfjs";
import type { Model } from "./types.ts";
import type { Tensor, Variable } from "./types.ts";

/** Every weight variable of a model, in a stable order. */
export function _modelVariables(model: Model): Variable[] {
  if (model instanceof tf.LayersModel) return model.weights.map((w) => w.read() as Variable);
  return model.variables.slice();
}

/** Copies of the current weights (they share no storage with later assignments). */
export function _snapshotWeights(model: Model): Tensor[] {
  return _modelVariables(model).map((v) => tf.clone(v));
}

/** Puts copied weights back, bit for bit, and frees the copies. */
export function _restoreWeights(model: Model, saved: readonly Tensor[]): void {
  const vars = _modelVariables(model);
  if (vars.length !== saved.length) {
    throw new RangeError(
      `Cannot restore weights: the model has ${vars.length} variables and the copy ${saved.length}`,
    );
  }
  vars.forEach((v, i) => v.assign(saved[i]!));
  tf.dispose(saved.slice());
}
