/**
 * fitloop: fastai's callback system for TensorFlow.js on Deno. A fit loop whose every
 * intervention (LR finder, one-cycle, early stopping, clipping, logging, mixup…) is a
 * small plug-in: a plain record of hook functions that read an immutable training state
 * and return an update, folded in by a pure reducer.
 *
 * The root holds what a training script needs. Building blocks live on subpaths:
 * `/core` (state, handler, events, dryRun, logs, model I/O — for callback authors and
 * tests), `/callbacks` (the whole callback library, plots, trackers), `/schedules`,
 * `/optim`, `/backend` and `/sweep`.
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
// learner and loop
export { disposeLearner, type Learner, learner, type LearnerOptions } from "./core/learner.ts";
export type { LearnerCore } from "./core/learner_core.ts";
export { fit, type FitOptions, type FitResult } from "./core/fit.ts";
export { freeze, type FreezeOptions, freezeTo, unfreeze } from "./core/freeze.ts";
export type {
  HandModel,
  Input,
  LayerGroups,
  LayerSplit,
  LossFn,
  Metric,
  Model,
  Tensor,
} from "./core/types.ts";
// data, losses, metrics
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
export { crossEntropy, mse } from "./core/losses.ts";
export { accuracy, averageMetric, errorRate } from "./core/metrics.ts";
// what a callback is, and what its hooks read and return
export {
  type Callback,
  type EventName,
  type FitContext,
  type Hook,
  memoryOf,
  type StateUpdate,
} from "./core/callback.ts";
export type { TrainState } from "./core/state.ts";
export type { Hypers } from "./optim/hypers.ts";
export { type History, historyOf } from "./core/recorder.ts";
// snapshots and forks
export { type Fork, fork, loadSnapshot, snapshot, type SnapshotOptions } from "./core/snapshot.ts";
// the callbacks a training script reaches for
export { fitOneCycle, type FitOneCycleOptions, oneCycle } from "./callbacks/one_cycle.ts";
export { lrFind, type LrFindOptions, type LrFindResult } from "./callbacks/lr_finder.ts";
export { earlyStopping } from "./callbacks/early_stopping.ts";
export { saveModel } from "./callbacks/save_model.ts";
export { reduceLROnPlateau } from "./callbacks/reduce_lr_on_plateau.ts";
export { terminateOnNaN } from "./callbacks/terminate_on_nan.ts";
export { gradientClipping } from "./callbacks/gradient_clipping.ts";
export { accumulateGradients } from "./callbacks/accumulate_gradients.ts";
export { mixUp } from "./callbacks/mix_up.ts";
export { csvLogger } from "./callbacks/csv_logger.ts";
export { progressBar } from "./callbacks/progress_bar.ts";
export { timeLimit } from "./callbacks/time_limit.ts";
export { paramScheduler } from "./callbacks/param_scheduler.ts";
export { snapshotEvery } from "./callbacks/snapshot_every.ts";
export { plotLosses, plotLrFind, plotMetrics } from "./callbacks/plots.ts";
export { interpret, plotConfusion, plotTopLosses } from "./callbacks/interpret.ts";
// optimizers and the backend
export { adam, sgd } from "./optim/mod.ts";
export { lrRange } from "./optim/hypers.ts";
export { type BackendInfo, useBackend } from "./backend/use_backend.ts";
