/**
 * The callback library: every technique is one small callback record in its own file,
 * readable alone. Each keeps its memory in the training state under its name. Also the
 * functions built on the loop (`lrFind`, `fitOneCycle`), plots and the shared tracker.
 *
 * May import `core/`, `optim/`, `schedules/` and `backend/`; never `sweep/`.
 *
 * @example One-cycle training with early stopping, dry-run without a model
 * ```ts
 * import { earlyStopping, oneCycle } from "@fitloop/fitloop/callbacks";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const run = await dryRun([oneCycle({ lrMax: 1e-2 }), earlyStopping({ patience: 0 })], {
 *   epochs: 5,
 *   batchesPerEpoch: 4,
 *   validLosses: [1, 0.9, 0.95],
 * });
 * assertEquals(run.stoppedAt?.epoch, 2);
 * ```
 *
 * @module
 */
export * from "./one_cycle.ts";
export * from "./param_scheduler.ts";
export * from "./general_scheduler.ts";
export * from "./lr_finder.ts";
export * from "./tracker.ts";
export * from "./early_stopping.ts";
export * from "./save_model.ts";
export * from "./reduce_lr_on_plateau.ts";
export * from "./terminate_on_nan.ts";
export * from "./gradient_clipping.ts";
export * from "./accumulate_gradients.ts";
export * from "./mix_up.ts";
export * from "./label_smoothing.ts";
export * from "./ema.ts";
export * from "./swa.ts";
export * from "./sam.ts";
export * from "./cut_mix.ts";
export * from "./csv_logger.ts";
export * from "./progress_bar.ts";
export * from "./time_limit.ts";
export * from "./snapshot_every.ts";
export * from "./plots.ts";
export * from "./interpret.ts";
export * from "./activation_stats.ts";
export * from "./model_summary.ts";
export * from "./track_memory.ts";
export * from "./loss_metrics.ts";
export * from "./stop_after_batches.ts";
export * from "./show_graph.ts";
export * from "./tensorboard.ts";
export * from "./gradual_unfreeze.ts";
