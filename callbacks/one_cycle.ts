import type { Callback, StateUpdate } from "../core/callback.ts";
import { fit, FIT_OPTIONS, type FitOptions, type FitResult } from "../core/fit.ts";
import type { Learner } from "../core/learner.ts";
import type { TrainState } from "../core/state.ts";
import { setHyper } from "../optim/hypers.ts";
import {
  type OneCycleOptions,
  oneCycleScheds,
  type OneCycleSteps,
  oneCycleSteps,
} from "../schedules/one_cycle_scheds.ts";
import { paramScheduler } from "./param_scheduler.ts";
import { _totalBatches } from "./_progress.ts";
import { checkOptions } from "../core/_options.ts";

const ONE_CYCLE_OPTIONS = ["lrMax", "divFactor", "pctStart", "finalDiv", "moms", "split"];

/**
 * Where the one-cycle rise ends: `"v1"` at `floor(n * pctStart)` whole batches (fastai
 * v1's `OneCycleScheduler`), `"continuous"` at the fraction `pctStart` of training (fastai
 * v2's `combine_scheds`).
 */
export type OneCycleSplit = "v1" | "continuous";

/** Options of {@linkcode oneCycle}: the cycle's shape and where the rise ends. */
export interface OneCycleCallbackOptions<L extends number | readonly number[] = number>
  extends OneCycleOptions<L> {
  /**
   * `"v1"`: as fastai v1, the rise takes `a1 = floor(n * pctStart)` whole batches of the
   * `n` of the fit and batch `a1` runs at exactly `lrMax` ({@linkcode oneCycleSteps}).
   * `"continuous"` (fastai v2): batch `i` takes {@linkcode oneCycleScheds} at `i / n`.
   * @default {"v1"}
   */
  readonly split?: OneCycleSplit;
}

/**
 * The one-cycle policy as a callback, by default exactly as fastai v1's
 * `OneCycleScheduler` (`fastai/callbacks/one_cycle.py`): over the `n` training batches of
 * the fit, lr and momentum of batch `i` come from {@linkcode oneCycleSteps}`(options, n)`
 * (the rise takes `floor(n * pctStart)` whole batches and ends at exactly `lrMax`). With
 * `split: "continuous"`, from {@linkcode oneCycleScheds} at `i / n` (fastai v2). The values
 * are set before each training batch (onBatchBegin). With Adam, momentum is beta1.
 *
 * @param options Peak lr (one, or one per layer group), the cycle's shape and `split`.
 * @returns The callback, named "oneCycle".
 * @throws {RangeError} As {@linkcode oneCycleScheds}; if `split` is not "v1" or
 * "continuous"; during a fit, if the number of batches per epoch is unknown.
 *
 * @example 3 epochs of 7 batches: batch 6 runs at exactly lrMax, momentum at its lowest
 * ```ts
 * import { oneCycle } from "@fitloop/fitloop/callbacks";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const run = await dryRun([oneCycle({ lrMax: 0.01 })], { epochs: 3, batchesPerEpoch: 7 });
 * assertEquals([run.history.lrs[6], run.history.moms[6]], [0.01, 0.85]);
 * assertAlmostEquals(run.history.lrs[1]!, 1.0430780618346930e-3, 1e-15);
 * ```
 */
export function oneCycle<L extends number | readonly number[]>(
  options: OneCycleCallbackOptions<L>,
): Callback {
  checkOptions("create oneCycle", options, ONE_CYCLE_OPTIONS, "{ lrMax }");
  const name = "oneCycle";
  const split = options.split ?? "v1";
  if (split !== "v1" && split !== "continuous") {
    throw new RangeError(
      `Cannot create oneCycle as 'split' must be "v1" or "continuous": current value is ${
        JSON.stringify(split)
      }`,
    );
  }
  const { split: _split, ...shape } = options;
  if (split === "continuous") {
    const { lr, mom } = oneCycleScheds(shape);
    return paramScheduler({ lr, mom }, { name });
  }
  oneCycleSteps(shape, 1); // validates the options now, not at the first batch
  let cached: { n: number; steps: OneCycleSteps<L> } | undefined;
  const stepsFor = (n: number): OneCycleSteps<L> => {
    if (cached?.n !== n) cached = { n, steps: oneCycleSteps(shape, n) };
    return cached.steps;
  };
  return {
    name,
    setsHypers: { onBatchBegin: ["lr", "mom"] },
    onTrainBegin(s: TrainState): void {
      _totalBatches(s, name);
    },
    onBatchBegin(s: TrainState): StateUpdate | void {
      if (!s.train) return;
      const { lr, mom } = stepsFor(_totalBatches(s, name));
      return {
        hypers: setHyper(setHyper(s.hypers, "lr", lr(s.iteration)), "mom", mom(s.iteration)),
      };
    },
  };
}

/** Options of {@linkcode fitOneCycle}: those of `fit`, plus the cycle's shape. */
export interface FitOneCycleOptions extends FitOptions, Omit<OneCycleCallbackOptions, "lrMax"> {
  /** Peak learning rate (one, or one per layer group). @default {options.lr, else learner's lr} */
  readonly lrMax?: number | readonly number[];
}

/**
 * Fits with the one-cycle policy (fastai's `fit_one_cycle`): `fit` with a
 * {@linkcode oneCycle} callback, by default split at whole batches as fastai v1.
 *
 * @param learn The learner.
 * @param epochs Number of epochs.
 * @param options `fit`'s options plus `lrMax`, `divFactor`, `pctStart`, `finalDiv`, `moms`,
 * `split`.
 * @returns The final state and history.
 * @throws {TypeError} If `lr` is an `lrRange` and no `lrMax` is given.
 * @throws {RangeError} As {@linkcode oneCycle} and `fit`.
 *
 * @example The peak batch runs at exactly lrMax
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, learner, mse } from "@fitloop/fitloop";
 * import { fitOneCycle } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const x = tf.ones([8, 1]);
 * const learn = learner({ model, data: { train: batches(x, x, { batchSize: 2 }) }, loss: mse });
 * const { history } = await fitOneCycle(learn, 2, { lrMax: 0.01 });
 * assertEquals(Math.max(...history.lrs), 0.01);
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
  const { lrMax, divFactor, pctStart, finalDiv, moms, split, ...rest } = options;
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
    ...(split === undefined ? {} : { split }),
  });
  return fit(learn, epochs, { ...rest, callbacks: [...(options.callbacks ?? []), cycle] });
}
