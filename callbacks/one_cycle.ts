import type { Callback } from "../core/callback.ts";
import { fit, FIT_OPTIONS, type FitOptions, type FitResult } from "../core/fit.ts";
import type { Learner } from "../core/learner.ts";
import { type OneCycleOptions, oneCycleScheds } from "../schedules/one_cycle_scheds.ts";
import { paramScheduler } from "./param_scheduler.ts";
import { checkOptions } from "../core/_options.ts";

const ONE_CYCLE_OPTIONS = ["lrMax", "divFactor", "pctStart", "finalDiv", "moms"];

/**
 * The one-cycle policy as a callback: before training batch `i` of `n` (over the whole
 * fit), lr and momentum come from {@linkcode oneCycleScheds} at `pct = i / n`. With Adam,
 * momentum is beta1.
 *
 * @param options Peak lr (one, or one per layer group) and the cycle's shape.
 * @returns The callback, named "oneCycle".
 * @throws {RangeError} As {@linkcode oneCycleScheds}.
 *
 * @example Momentum falls while the lr rises
 * ```ts
 * import { oneCycle } from "@fitloop/fitloop/callbacks";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertAlmostEquals } from "@std/assert";
 * const run = await dryRun([oneCycle({ lrMax: 0.01 })], { epochs: 1, batchesPerEpoch: 10 });
 * assertAlmostEquals(Math.max(...run.history.lrs), 0.01, 1e-12);
 * assertAlmostEquals(run.history.moms[3]!, 0.85);
 * ```
 */
export function oneCycle<L extends number | readonly number[]>(
  options: OneCycleOptions<L>,
): Callback {
  checkOptions("create oneCycle", options, ONE_CYCLE_OPTIONS, "{ lrMax }");
  const { lr, mom } = oneCycleScheds(options);
  return paramScheduler({ lr, mom }, { name: "oneCycle" });
}

/** Options of {@linkcode fitOneCycle}: those of `fit`, plus the cycle's shape. */
export interface FitOneCycleOptions extends FitOptions, Omit<OneCycleOptions, "lrMax"> {
  /** Peak learning rate (one, or one per layer group). @default {options.lr, else learner's lr} */
  readonly lrMax?: number | readonly number[];
}

/**
 * Fits with the one-cycle policy (fastai's `fit_one_cycle`).
 *
 * @param learn The learner.
 * @param epochs Number of epochs.
 * @param options `fit`'s options plus `lrMax`, `divFactor`, `pctStart`, `finalDiv`, `moms`.
 * @returns The final state and history.
 * @throws {TypeError} If `lr` is an `lrRange` and no `lrMax` is given.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, learner, mse } from "@fitloop/fitloop";
 * import { fitOneCycle } from "@fitloop/fitloop/callbacks";
 * import { assertAlmostEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const x = tf.ones([8, 1]);
 * const learn = learner({ model, data: { train: batches(x, x, { batchSize: 2 }) }, loss: mse });
 * const { history } = await fitOneCycle(learn, 2, { lrMax: 0.01 });
 * assertAlmostEquals(Math.max(...history.lrs), 0.0099, 1e-3);
 * disposeLearner(learn);
 * x.dispose();
 * model.dispose();
 * ```
 */
export function fitOneCycle(
  learn: Learner,
  epochs: number,
  options: FitOneCycleOptions = {},
): Promise<FitResult> {
  checkOptions("fitOneCycle", options, [...FIT_OPTIONS, ...ONE_CYCLE_OPTIONS]);
  const { lrMax, divFactor, pctStart, finalDiv, moms, ...rest } = options;
  const peak = lrMax ?? options.lr ?? learn.lr;
  if (typeof peak === "object" && !Array.isArray(peak)) {
    throw new TypeError(
      "Cannot fitOneCycle as 'lr' is an lrRange: give 'lrMax' as a number or one per layer group",
    );
  }
  const cycle: Callback = oneCycle({
    lrMax: peak as number | readonly number[],
    ...(divFactor === undefined ? {} : { divFactor }),
    ...(pctStart === undefined ? {} : { pctStart }),
    ...(finalDiv === undefined ? {} : { finalDiv }),
    ...(moms === undefined ? {} : { moms }),
  });
  return fit(learn, epochs, { ...rest, callbacks: [...(options.callbacks ?? []), cycle] });
}
