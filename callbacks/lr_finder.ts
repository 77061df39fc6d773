import * as tf from "@tensorflow/tfjs";
import type { Callback, StateUpdate } from "../core/callback.ts";
import { sourceLength } from "../core/_epoch.ts";
import { fit, FIT_OPTIONS, type FitOptions } from "../core/fit.ts";
import { assertIdle } from "../core/_busy.ts";
import type { Learner } from "../core/learner.ts";
import { appendLog, emptyLog, type Log, logToArray } from "../core/log.ts";
import type { Tensor } from "../core/types.ts";
import type { TrainState } from "../core/state.ts";
import { memoryOf } from "../core/callback.ts";
import { _restoreWeights, _snapshotWeights } from "../core/_weights.ts";
import { checkOptions } from "../core/_options.ts";

const LR_FINDER_OPTIONS = ["startLr", "endLr", "numIt", "stopDiv"];

/** Options of {@linkcode lrFinder}. */
export interface LrFinderOptions {
  /** Learning rate of the first batch. @default {1e-7} */
  readonly startLr?: number;
  /** Learning rate reached after `numIt` batches. @default {10} */
  readonly endLr?: number;
  /** Most batches to run. @default {100} */
  readonly numIt?: number;
  /** Stop when the smoothed loss exceeds 4x the best so far (or is NaN). @default {true} */
  readonly stopDiv?: boolean;
}

/** The memory of {@linkcode lrFinder}. */
export interface LrFinderMemory {
  /** Best smoothed loss so far. */
  readonly best: number;
  /** Learning rate of each batch run. */
  readonly lrs: Log<number>;
  /** Smoothed loss after each batch run. */
  readonly losses: Log<number>;
  /** Each layer group's lr relative to the last group's, kept through the test. */
  readonly ratios: readonly number[];
}

/**
 * The LR range test as a callback: the lr grows exponentially, `startLr *
 * (endLr / startLr) ** (i / numIt)` at training batch `i`; training stops after `numIt`
 * batches, or (with `stopDiv`) when the smoothed loss exceeds 4x the best smoothed loss so
 * far or is NaN; validation is skipped. Reads every loss (`needsLoss`). Use it through
 * {@linkcode lrFind}, which also puts the weights back.
 *
 * @param options Range, length and divergence test.
 * @returns The callback, named "lrFinder".
 * @throws {RangeError} If the lrs are not positive or `numIt` is not a positive integer.
 *
 * @example The lr grows exponentially for numIt batches
 * ```ts
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { lrFinder } from "@fitloop/fitloop/callbacks";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const run = await dryRun([lrFinder({ startLr: 1e-4, endLr: 1, numIt: 4 })], {
 *   epochs: 1,
 *   batchesPerEpoch: 7,
 * });
 * assertEquals(run.history.lrs.length, 4);
 * assertAlmostEquals(run.history.lrs[2]!, 1e-2, 1e-12);
 * ```
 */
export function lrFinder(options: LrFinderOptions = {}): Callback {
  checkOptions("create lrFinder", options, LR_FINDER_OPTIONS);
  const { startLr = 1e-7, endLr = 10, numIt = 100, stopDiv = true } = options;
  for (const [arg, v] of [["startLr", startLr], ["endLr", endLr]] as const) {
    if (!(v > 0 && Number.isFinite(v))) {
      throw new RangeError(
        `Cannot create lrFinder as '${arg}' must be a positive number: current value is ${v}`,
      );
    }
  }
  if (!(Number.isInteger(numIt) && numIt >= 1)) {
    throw new RangeError(
      `Cannot create lrFinder as 'numIt' must be a positive integer: current value is ${numIt}`,
    );
  }
  if (!(endLr > startLr)) {
    throw new RangeError(
      `Cannot create lrFinder as 'endLr' must be greater than 'startLr' (the test raises the ` +
        `lr): current values are startLr ${startLr} and endLr ${endLr}`,
    );
  }
  const name = "lrFinder";
  const initial: LrFinderMemory = {
    best: Infinity,
    lrs: emptyLog(),
    losses: emptyLog(),
    ratios: [],
  };
  const ratio = endLr / startLr;
  return {
    name,
    needsLoss: true,
    setsHypers: { onBatchBegin: ["lr"] },
    onTrainBegin(s: TrainState): StateUpdate {
      const last = s.hypers[s.hypers.length - 1]?.lr ?? 1;
      const ratios = s.hypers.map((h) => (last > 0 ? h.lr / last : 1));
      return { skipValidate: true, memory: { ...initial, ratios } };
    },
    onBatchBegin(s: TrainState): StateUpdate | void {
      if (!s.train) return;
      const lr = startLr * ratio ** (s.iteration / numIt);
      const ratios = memoryOf(s, name, initial).ratios;
      return { hypers: s.hypers.map((h, i) => ({ ...h, lr: lr * (ratios[i] ?? 1) })) };
    },
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (!s.train) return;
      const m = memoryOf(s, name, initial);
      const loss = s.smoothLoss;
      const best = s.iteration === 0 || loss < m.best ? loss : m.best;
      const memory: LrFinderMemory = {
        ...m,
        best,
        lrs: appendLog(m.lrs, s.hypers[s.hypers.length - 1]!.lr),
        losses: appendLog(m.losses, loss),
      };
      const diverged = stopDiv && (loss > 4 * best || Number.isNaN(loss));
      if (s.iteration + 1 >= numIt || diverged) {
        return { memory, stopEpoch: true, stopTraining: true };
      }
      return { memory };
    },
  };
}

/** Suggested learning rates from an LR range test. */
export interface LrSuggestions {
  /** fastai v1: the lr where the loss falls fastest (minimum numerical gradient). */
  readonly steepest: number;
  /** fastai v1: the lr of the minimum loss, divided by 10. */
  readonly minLossDiv10: number;
  /** fastai v2: the lr two-fifths down the longest valley (decreasing run) of the loss. */
  readonly valley: number;
}

/** Options of {@linkcode lrSuggestions}. */
export interface LrSuggestionsOptions {
  /** Points left out at the start. @default {10} */
  readonly skipStart?: number;
  /** Points left out at the end. @default {5} */
  readonly skipEnd?: number;
}

/**
 * Suggestions from an LR range test's lrs and smoothed losses: fastai v1's steepest
 * descent and min-loss/10, and fastai v2's valley. Points from the first non-finite loss
 * on are dropped; `skipStart`/`skipEnd` apply when enough points remain.
 *
 * @param lrs Learning rates tried.
 * @param losses Smoothed loss at each.
 * @param options Points to skip at either end.
 * @returns The suggestions.
 * @throws {RangeError} If the arrays differ in length or hold no finite loss.
 *
 * @example
 * ```ts
 * import { lrSuggestions } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1];
 * const s = lrSuggestions(lrs, [1, 0.9, 0.5, 0.45, 2], { skipStart: 0, skipEnd: 0 });
 * assertEquals(s.minLossDiv10, 1e-2);
 * assertEquals(s.steepest, 1e-3);
 * ```
 */
export function lrSuggestions(
  lrs: readonly number[],
  losses: readonly number[],
  options: LrSuggestionsOptions = {},
): LrSuggestions {
  if (lrs.length !== losses.length) {
    throw new RangeError(
      `Cannot suggest learning rates as 'lrs' (${lrs.length}) and 'losses' (${losses.length}) differ in length`,
    );
  }
  let end = losses.findIndex((l) => !Number.isFinite(l));
  if (end < 0) end = losses.length;
  if (end === 0) {
    throw new RangeError("Cannot suggest learning rates as no loss is finite: current count is 0");
  }
  const { skipStart = 10, skipEnd = 5 } = options;
  let from = 0;
  let to = end;
  if (end - skipStart - skipEnd >= 3) {
    from = skipStart;
    to = end - skipEnd;
  }
  const lr = lrs.slice(from, to);
  const loss = losses.slice(from, to);
  const n = loss.length;
  let minAt = 0;
  for (let i = 1; i < n; i++) if (loss[i]! < loss[minAt]!) minAt = i;
  let steepAt = 0;
  if (n > 1) {
    let best = Infinity;
    for (let i = 0; i < n; i++) {
      const g = i === 0
        ? loss[1]! - loss[0]!
        : i === n - 1
        ? loss[n - 1]! - loss[n - 2]!
        : (loss[i + 1]! - loss[i - 1]!) / 2;
      if (g < best) {
        best = g;
        steepAt = i;
      }
    }
  }
  return { steepest: lr[steepAt]!, minLossDiv10: lr[minAt]! / 10, valley: lr[_valley(loss)]! };
}

/** fastai v2's valley: the index two-fifths down the longest decreasing subsequence. */
function _valley(losses: readonly number[]): number {
  const n = losses.length;
  const lds = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i]! < losses[j]! && lds[i]! < lds[j]! + 1) lds[i] = lds[j]! + 1;
      if (lds[maxEnd]! < lds[i]!) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd]!;
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  return Math.min(n - 1, Math.max(0, maxStart + Math.trunc(sections) + Math.trunc(sections / 2)));
}

/**
 * Options of {@linkcode lrFind}: those of `fit` plus the range test's. The range test sets
 * the learning rate itself, so `lr` only sets the layer groups' ratios when it is an
 * array or an `lrRange` (each group's lr is then scaled by the same factor).
 */
export interface LrFindOptions extends FitOptions, LrFinderOptions {}

/** What {@linkcode lrFind} returns. */
export interface LrFindResult {
  /** Learning rate of each batch run. */
  readonly lrs: number[];
  /** Smoothed loss after each batch run. */
  readonly losses: number[];
  /** Suggested learning rates. */
  readonly suggestions: LrSuggestions;
}

/**
 * Runs the LR range test ({@linkcode lrFinder}) and then puts the model's weights (batch
 * statistics included) and the optimizer's state back exactly as they were, also after
 * an error.
 *
 * @param learn The learner.
 * @param options Range, length, weight decay and extra callbacks.
 * @returns Learning rates, smoothed losses and suggestions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, learner, mse } from "@fitloop/fitloop";
 * import { lrFind } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * const x = tf.randomNormal([64, 2], 0, 1, "float32", 1);
 * const learn = learner({ model, data: { train: batches(x, x.sum(1), { batchSize: 8 }) }, loss: mse });
 * const before = await model.getWeights()[0]!.data();
 * const found = await lrFind(learn, { numIt: 20 });
 * assertEquals(found.lrs.length <= 20, true);
 * assertEquals(await model.getWeights()[0]!.data(), before);
 * disposeLearner(learn);
 * x.dispose();
 * model.dispose();
 * ```
 */
export async function lrFind(learn: Learner, options: LrFindOptions = {}): Promise<LrFindResult> {
  checkOptions("run lrFind", options, [...FIT_OPTIONS, ...LR_FINDER_OPTIONS]);
  assertIdle(learn, "run lrFind");
  const { startLr, endLr, numIt = 100, stopDiv, ...fitOptions } = options;
  const finder = lrFinder({
    numIt,
    ...(startLr === undefined ? {} : { startLr }),
    ...(endLr === undefined ? {} : { endLr }),
    ...(stopDiv === undefined ? {} : { stopDiv }),
  });
  const perEpoch = sourceLength(learn.data.train);
  const epochs = perEpoch ? Math.ceil(numIt / perEpoch) : numIt;
  const weights = _snapshotWeights(learn.model);
  const optBefore = learn.optState;
  const slots: Tensor[] = [];
  for (const vars of Object.values(optBefore?.slots ?? {})) {
    for (const v of vars) slots.push(tf.clone(v));
  }
  let state: TrainState;
  try {
    ({ state } = await fit(learn, epochs, {
      ...fitOptions,
      callbacks: [...(fitOptions.callbacks ?? []), finder],
    }));
  } finally {
    _restoreWeights(learn.model, weights);
    const after = learn.optState;
    if (after && after !== optBefore) {
      for (const [name, vars] of Object.entries(after.slots)) {
        if (!optBefore?.slots[name]) tf.dispose(vars.slice());
      }
    }
    let i = 0;
    for (const vars of Object.values(optBefore?.slots ?? {})) {
      for (const v of vars) v.assign(slots[i++]!);
    }
    tf.dispose(slots);
    learn.optState = optBefore;
  }
  const m = memoryOf(state, "lrFinder", { lrs: emptyLog<number>(), losses: emptyLog<number>() });
  const lrs = logToArray(m.lrs);
  const losses = logToArray(m.losses);
  return { lrs, losses, suggestions: lrSuggestions(lrs, losses) };
}
