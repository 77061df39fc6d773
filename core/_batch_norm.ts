// The BatchNormalization layers of a model, whose `momentum` a caller may set for a while:
// 1 leaves the moving statistics alone during a training-mode pass (lossGradients'
// `updateStats: false`), (k - 1) / k makes them a running mean over k batches (swa).
import * as tf from "@tensorflow/tfjs";
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
