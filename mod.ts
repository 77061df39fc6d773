/**
 * fitloop: fastai's callback system for TensorFlow.js on Deno. A fit loop whose every
 * intervention (LR finder, one-cycle, early stopping, clipping, logging, mixup…) is a
 * small plug-in: a plain record of hook functions that read an immutable training state
 * and return an update, folded in by a pure reducer.
 *
 * @example Train a tiny classifier with a callback that stops early
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { accuracy, batches, crossEntropy, disposeLearner, fit, learner } from "@fitloop/fitloop";
 * import { assertGreater } from "@std/assert";
 *
 * const x = tf.randomNormal([256, 2], 0, 1, "float32", 1);
 * const y = tf.cast(tf.greater(tf.sum(x, 1), 0), "int32");
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2] })] });
 * const learn = learner({
 *   model,
 *   data: { train: batches(x, y, { batchSize: 32, shuffle: true }), valid: batches(x, y) },
 *   loss: crossEntropy,
 *   metrics: [accuracy],
 * });
 * const stopAt90 = {
 *   name: "stopAt90",
 *   onEpochEnd: (s: { lastMetrics: readonly number[] }) =>
 *     s.lastMetrics[1]! > 0.9 ? { stopTraining: true } : undefined,
 * };
 * const { state } = await fit(learn, 30, { lr: 0.05, callbacks: [stopAt90] });
 * assertGreater(state.lastMetrics[1]!, 0.9);
 * disposeLearner(learn);
 * tf.dispose([x, y]);
 * model.dispose();
 * ```
 *
 * @module
 */
export type * from "./core/types.ts";
export * from "./core/log.ts";
export * from "./core/state.ts";
export * from "./core/callback.ts";
export * from "./core/handler.ts";
export {
  type Batch,
  type Batches,
  batches,
  type BatchesOptions,
  type DataBunch,
  type DatasetLike,
  type DataSource,
  type NumericArray,
} from "./core/data.ts";
export * from "./core/losses.ts";
export * from "./core/metrics.ts";
export {
  disposeLearner,
  type HandModel,
  type LayerGroups,
  type LayerSplit,
  type Learner,
  learner,
  type LearnerOptions,
  type Model,
} from "./core/learner.ts";
export { fit, type FitOptions, type FitResult } from "./core/fit.ts";
export * from "./backend/use_backend.ts";
export * from "./sweep/search_space.ts";
export * from "./sweep/journal.ts";
export {
  parseShard,
  type Shard,
  sweep,
  type SweepOptions,
  type SweepResult,
  type TrialContext,
  type TrialFunction,
  type TrialModule,
  type TrialResult,
} from "./sweep/sweep.ts";
export * from "./sweep/sweep_report.ts";
export {
  type Fork,
  fork,
  loadSnapshot,
  snapshot,
  SNAPSHOT_VERSION,
  type SnapshotManifest,
  type SnapshotOptions,
} from "./core/snapshot.ts";
export * from "./backend/wasm_kernels.ts";
export * from "./schedules/mod.ts";
export * from "./optim/mod.ts";
export * from "./callbacks/mod.ts";
