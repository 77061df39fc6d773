// The BatchNormalization layers of a model, whose `momentum` a caller may set for a while:
// 1 leaves the moving statistics alone during a training-mode pass (lossGradients'
// `updateStats: false`), (k - 1) / k for batch k makes them a running mean (swa).
import * as tf from "@tensorflow/tfjs";
import type { LearnerCore } from "./learner_core.ts";
import { epochBatches } from "./_epoch.ts";
import { forward } from "./_params.ts";
import type { Model } from "./types.ts";

/** A batch-normalisation layer as far as its moving-average momentum goes. */
export interface BatchNormLayer {
  momentum: number;
}

/** The BatchNormalization layers of a LayersModel, nested models included ([] otherwise). */
export function batchNormLayers(model: Model): BatchNormLayer[] {
  if (!(model instanceof tf.LayersModel)) return [];
  const found: BatchNormLayer[] = [];
  const visit = (layers: readonly tf.layers.Layer[]): void => {
    for (const layer of layers) {
      if (layer instanceof tf.LayersModel) visit(layer.layers);
      else if (/BatchNormalization/.test(layer.getClassName())) {
        found.push(layer as unknown as BatchNormLayer);
      }
    }
  };
  visit(model.layers);
  return found;
}

/** Runs `body` with every batch-normalisation layer's momentum set to `momentum`, then puts it back. */
export function withMomentum<T>(
  layers: readonly BatchNormLayer[],
  momentum: number,
  body: () => T,
): T {
  const saved = layers.map((l) => l.momentum);
  for (const l of layers) l.momentum = momentum;
  try {
    return body();
  } finally {
    layers.forEach((l, i) => (l.momentum = saved[i]!));
  }
}

/**
 * Recomputes the BatchNormalization statistics of the learner's model (PyTorch's
 * `update_bn`): one pass of training-mode forward passes over the training data, the
 * momentum of batch k set to (k - 1) / k so that the moving mean and variance become the
 * running mean of the batches' statistics; the momenta are put back. Nothing happens for a
 * model without such layers.
 */
export async function recomputeBatchNorm(learn: LearnerCore, seed: number): Promise<void> {
  const layers = batchNormLayers(learn.model);
  if (layers.length === 0) return;
  const saved = layers.map((l) => l.momentum);
  const it = epochBatches(learn.data.train, 0, seed);
  try {
    for (let k = 1;; k++) {
      const r = await it.next();
      if (r.done) break;
      for (const l of layers) l.momentum = (k - 1) / k;
      tf.tidy(() => void forward(learn, r.value.input, true));
      if (r.value.owned) tf.dispose([r.value.input, r.value.target].flat());
    }
  } finally {
    layers.forEach((l, i) => (l.momentum = saved[i]!));
  }
}
