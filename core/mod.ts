/**
 * The loop and its building blocks: the immutable training state and its transitions,
 * callback records and the events, the pure handler (reducer), `fit`, the learner, data,
 * losses, metrics, the recorder, append-only logs, model I/O, snapshots and `dryRun`.
 * For callback authors and tests; a training script needs only the root module.
 *
 * May import `optim/`, `schedules/` and `backend/`; never `callbacks/` or `sweep/`.
 *
 * @example A hook run by the handler, without a model
 * ```ts
 * import { handle, initialState, prepareCallbacks } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const set = prepareCallbacks([{ name: "stop", onEpochEnd: () => ({ stopTraining: true }) }]);
 * const s = initialState({ nEpochs: 3, hypers: [], loss: () => { throw 0; } });
 * const after = handle(s, "onEpochEnd", set, {});
 * assertEquals((after as typeof s).stopTraining, true);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./log.ts";
export * from "./state.ts";
export * from "./callback.ts";
export * from "./handler.ts";
export * from "./learner_core.ts";
export * from "./learner.ts";
export * from "./freeze.ts";
export * from "./data.ts";
export * from "./losses.ts";
export * from "./metrics.ts";
export * from "./recorder.ts";
export * from "./fit.ts";
export * from "./gradients.ts";
export * from "./model_io.ts";
export * from "./snapshot.ts";
export * from "./dry_run.ts";
