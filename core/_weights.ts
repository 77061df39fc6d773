// Copies of a model's weights (trainable and not: batch-norm statistics too), for
// callbacks that put weights back (earlyStopping's restoreBest, lrFind), and the one
// stable order of a model's weights that saving, loading, snapshots and restores share.
import * as tf from "@tensorflow/tfjs";
import type { Model } from "./types.ts";
import type { Tensor, Variable } from "./types.ts";

/** A layer's weights, as tfjs-layers holds them (LayerVariable: `read()`, `id`, `originalName`). */
interface _LayerWeight {
  readonly id: number;
  readonly originalName: string;
  read(): Tensor;
}

/**
 * A LayersModel's weights in a stable order: layer by layer (nested models recursively),
 * each layer's in creation order. `model.weights` lists trainable weights first, so its
 * order changes when layers are frozen or unfrozen; this one does not.
 */
export function _layerWeights(model: tf.LayersModel): _LayerWeight[] {
  const out: _LayerWeight[] = [];
  const visit = (layer: tf.layers.Layer): void => {
    const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
    if (Array.isArray(inner)) {
      for (const l of inner) visit(l);
      return;
    }
    const ws = (layer.weights as unknown as _LayerWeight[]).slice().sort((a, b) => a.id - b.id);
    out.push(...ws);
  };
  for (const layer of model.layers) visit(layer);
  return out;
}

/** Every weight variable of a model, in a stable order (see {@linkcode _layerWeights}). */
export function _modelVariables(model: Model): Variable[] {
  if (model instanceof tf.LayersModel) {
    return _layerWeights(model).map((w) => w.read() as Variable);
  }
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

/**
 * Saved weight specs in the model's stable order: by name when every saved name is one of
 * the model's weights (files written in another order), else as they are (by position).
 */
export function _alignSpecs<S extends { readonly name: string }>(model: Model, specs: S[]): S[] {
  if (!(model instanceof tf.LayersModel)) return specs;
  const names = _layerWeights(model).map((w) => w.originalName);
  const byName = new Map(specs.map((s) => [s.name, s]));
  if (byName.size !== specs.length || names.length !== specs.length) return specs;
  const ordered = names.map((n) => byName.get(n));
  return ordered.every((s) => s !== undefined) ? ordered as S[] : specs;
}
