/**
 * The training state: one immutable value that holds a whole run (counters, the batch in
 * hand, losses, metrics, hyper-parameters, control flags and every callback's memory),
 * with the pure transitions the fit loop applies between hook events. No tfjs at run
 * time: tensors appear only as opaque references.
 *
 * @module
 */
import { appendLog, emptyLog, type Log } from "./log.ts";
import type { Hypers } from "../optim/hypers.ts";
import type { Grads, Input, LossFn, Tensor } from "./types.ts";

export type { Hypers };

/** The debiased exponential moving average behind `smoothLoss` (fastai's SmoothenValue). */
export interface Smoother {
  /** The biased moving average. */
  readonly movAvg: number;
  /** Number of values added. */
  readonly n: number;
  /** The debiased value, `movAvg / (1 - beta ** n)`; NaN before the first value. */
  readonly value: number;
}

/**
 * The smoother before any value.
 *
 * @example
 * ```ts
 * import { EMPTY_SMOOTHER, smoothen } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals(smoothen(EMPTY_SMOOTHER, 3).value, 3);
 * ```
 */
export const EMPTY_SMOOTHER: Smoother = Object.freeze({ movAvg: 0, n: 0, value: NaN });

const NO_CAPTURES: Readonly<Record<string, Tensor>> = Object.freeze({});

/**
 * The immutable training state every hook reads. Field names follow the seed (camelCase).
 * Tensor fields belong to the loop and live for one batch; after the batch they are
 * `undefined`. States made by the loop and the handler are frozen, with the records inside
 * them (hyper-parameters, metrics, logs, callbacks' memory): a hook that assigns to one
 * throws a TypeError (modules run in strict mode).
 */
export interface TrainState {
  /** Number of epochs of this fit. */
  readonly nEpochs: number;
  /** Current epoch, 0-based. */
  readonly epoch: number;
  /** Training batches done since the start of the fit (the index of the batch in hand). */
  readonly iteration: number;
  /** Training batches done in this epoch (the index of the batch in hand). */
  readonly numBatch: number;
  /** Training batches per epoch, when the data source knows it. */
  readonly nBatches: number | undefined;
  /** True during training batches, false during validation. */
  readonly train: boolean;
  /** The batch's input (replaceable in onBatchBegin). */
  readonly lastInput: Input | undefined;
  /** The batch's target (replaceable in onBatchBegin). */
  readonly lastTarget: Tensor | undefined;
  /** The model's output (replaceable in onLossBegin). */
  readonly lastOutput: Tensor | undefined;
  /** The batch's loss tensor (replaceable in onBackwardBegin). */
  readonly lastLoss: Tensor | undefined;
  /**
   * Intermediate outputs of the batch's forward pass, by layer name: those that callbacks
   * asked for with `captures` (empty otherwise). Batch-scoped, as `lastOutput`.
   */
  readonly lastCaptures: Readonly<Record<string, Tensor>>;
  /** Debiased moving average (beta 0.98) of the training losses read so far. */
  readonly smoothLoss: number;
  /** The moving average behind `smoothLoss`. */
  readonly smoother: Smoother;
  /** `smoothLoss` after each training batch, in batch order, as far as losses were read. */
  readonly smoothLosses: Log<number>;
  /** Last validation loss and metrics: `[validLoss, ...metrics]` after an epoch. */
  readonly lastMetrics: readonly number[];
  /** Names of `lastMetrics`, in the same order (`"validLoss"` first). */
  readonly metricNames: readonly string[];
  /** Hyper-parameters, one record per layer group. */
  readonly hypers: readonly Hypers[];
  /** Gradients by variable name, between the backward pass and the end of the batch. */
  readonly grads: Grads | undefined;
  /** The loss function in use (a callback such as mixUp may wrap it). */
  readonly loss: LossFn;
  /** Set by onBatchEnd: end this epoch's loop over batches. */
  readonly stopEpoch: boolean;
  /** Set by onBatchEnd or onEpochEnd: end training after this epoch. */
  readonly stopTraining: boolean;
  /** Set by onBackwardBegin: compute no gradients for this batch. */
  readonly skipBackward: boolean;
  /** Set by onBackwardEnd: do not apply the optimizer step for this batch. */
  readonly skipStep: boolean;
  /** Set by onStepEnd: keep the gradients and add the next batch's to them. */
  readonly skipZero: boolean;
  /** Set from onTrainBegin on: skip validation for the rest of this fit. */
  readonly skipValidate: boolean;
  /** Each callback's memory, under the callback's name. */
  readonly memory: Readonly<Record<string, unknown>>;
  /** In onTrainEnd: the error that ended training, or undefined. */
  readonly error: unknown;
  /**
   * The run's random seed. Every random draw of the loop and of callbacks (shuffling,
   * dropout masks, mixUp) is a pure function of it and the counters, so a run resumed
   * from a snapshot draws exactly what the uninterrupted run would have.
   */
  readonly seed: number;
}

/** What {@linkcode initialState} needs. */
export interface InitialStateOptions {
  /** Number of epochs. */
  readonly nEpochs: number;
  /** Hyper-parameters, one record per layer group. */
  readonly hypers: readonly Hypers[];
  /** The loss function. */
  readonly loss: LossFn;
  /** Metric names after `"validLoss"`. @default {[]} */
  readonly metricNames?: readonly string[];
  /** Training batches per epoch, if known. @default {undefined} */
  readonly nBatches?: number;
  /** Callback memory to start from. @default {{}} */
  readonly memory?: Readonly<Record<string, unknown>>;
  /** The run's random seed. @default {0} */
  readonly seed?: number;
}

/**
 * The state at the start of a fit.
 *
 * @param options Epochs, hyper-parameters and loss.
 * @returns A fresh state.
 *
 * @example A state for a test
 * ```ts
 * import { initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s = initialState({
 *   nEpochs: 2,
 *   hypers: [{ lr: 0.1, mom: 0, sqrMom: 0, eps: 0, wd: 0 }],
 *   loss: () => { throw new Error("unused"); },
 * });
 * assertEquals([s.epoch, s.iteration, s.metricNames], [0, 0, ["validLoss"]]);
 * ```
 */
export function initialState(options: InitialStateOptions): TrainState {
  return Object.freeze<TrainState>({
    nEpochs: options.nEpochs,
    epoch: 0,
    iteration: 0,
    numBatch: 0,
    nBatches: options.nBatches,
    train: true,
    lastInput: undefined,
    lastTarget: undefined,
    lastOutput: undefined,
    lastLoss: undefined,
    lastCaptures: NO_CAPTURES,
    smoothLoss: NaN,
    smoother: EMPTY_SMOOTHER,
    smoothLosses: emptyLog<number>(),
    lastMetrics: Object.freeze([]),
    metricNames: Object.freeze(["validLoss", ...(options.metricNames ?? [])]),
    hypers: freezeHypers(options.hypers),
    grads: undefined,
    loss: options.loss,
    stopEpoch: false,
    stopTraining: false,
    skipBackward: false,
    skipStep: false,
    skipZero: false,
    skipValidate: false,
    memory: Object.freeze({ ...options.memory }),
    error: undefined,
    seed: options.seed ?? 0,
  });
}

/**
 * Hyper-parameters as the state holds them: the array and every record frozen (copies of
 * those not frozen yet, so the caller's own objects are left alone).
 *
 * @param hypers Hyper-parameters, one record per layer group.
 * @returns The frozen array.
 *
 * @example
 * ```ts
 * import { freezeHypers } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const h = freezeHypers([{ lr: 1, mom: 0, sqrMom: 0, eps: 0, wd: 0 }]);
 * assertEquals([Object.isFrozen(h), Object.isFrozen(h[0])], [true, true]);
 * ```
 */
export function freezeHypers(hypers: readonly Hypers[]): readonly Hypers[] {
  if (Object.isFrozen(hypers) && hypers.every((h) => Object.isFrozen(h))) return hypers;
  return Object.freeze(hypers.map((h) => (Object.isFrozen(h) ? h : Object.freeze({ ...h }))));
}

/**
 * Adds `value` to a debiased moving average (fastai's SmoothenValue):
 * `movAvg = beta * movAvg + (1 - beta) * value`, `value = movAvg / (1 - beta ** n)`.
 * A non-finite value is kept as it is (and so poisons the average, visibly).
 *
 * @param previous The smoother so far (`EMPTY_SMOOTHER` at first).
 * @param value The new value.
 * @param beta Weight of the past, in [0, 1). @default {0.98}
 * @returns The new smoother.
 *
 * @example The first value comes back unchanged (debiasing)
 * ```ts
 * import { EMPTY_SMOOTHER, smoothen } from "@fitloop/fitloop/core";
 * import { assertAlmostEquals } from "@std/assert";
 * const a = smoothen(EMPTY_SMOOTHER, 2);
 * assertAlmostEquals(a.value, 2);
 * const b = smoothen(a, 4);
 * assertAlmostEquals(b.value, (0.98 * 0.02 * 2 + 0.02 * 4) / (1 - 0.98 ** 2));
 * ```
 */
export function smoothen(previous: Smoother, value: number, beta = 0.98): Smoother {
  const n = previous.n + 1;
  const movAvg = beta * previous.movAvg + (1 - beta) * value;
  return Object.freeze({ movAvg, n, value: movAvg / (1 - beta ** n) });
}

/**
 * The state with one more training loss read (smoothed and logged).
 *
 * @param state The state.
 * @param value The raw loss.
 * @param beta Weight of the past. @default {0.98}
 * @returns The new state.
 *
 * @example
 * ```ts
 * import { initialState, recordLoss } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s0 = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * const s1 = recordLoss(recordLoss(s0, 2), 2);
 * assertEquals([s1.smoothLosses.length, Math.round(s1.smoothLoss * 1e9) / 1e9], [2, 2]);
 * ```
 */
export function recordLoss(state: TrainState, value: number, beta = 0.98): TrainState {
  const smoother = smoothen(state.smoother, value, beta);
  return Object.freeze({
    ...state,
    smoother,
    smoothLoss: smoother.value,
    smoothLosses: appendLog(state.smoothLosses, smoother.value),
  });
}

/**
 * The state at the start of epoch `epoch`.
 *
 * @param state The state.
 * @param epoch The epoch starting.
 * @returns The new state (batch count and stopEpoch reset).
 *
 * @example
 * ```ts
 * import { beginEpoch, initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s0 = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * assertEquals(beginEpoch({ ...s0, numBatch: 5, stopEpoch: true }, 1).numBatch, 0);
 * ```
 */
export function beginEpoch(state: TrainState, epoch: number): TrainState {
  return Object.freeze({ ...state, epoch, numBatch: 0, stopEpoch: false, train: true });
}

/**
 * The state at the start of a batch: the batch in hand, per-batch flags cleared.
 *
 * @param state The state.
 * @param input The batch's input.
 * @param target The batch's target.
 * @param train Whether it is a training batch.
 * @returns The new state.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { beginBatch, initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s0 = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * const x = tf.zeros([2, 1]);
 * const s1 = beginBatch({ ...s0, skipStep: true }, x, x, true);
 * assertEquals([s1.skipStep, s1.lastInput === x], [false, true]);
 * x.dispose();
 * ```
 */
export function beginBatch(
  state: TrainState,
  input: Input,
  target: Tensor,
  train: boolean,
): TrainState {
  return Object.freeze({
    ...state,
    train,
    lastInput: input,
    lastTarget: target,
    lastOutput: undefined,
    lastLoss: undefined,
    lastCaptures: NO_CAPTURES,
    grads: undefined,
    skipBackward: false,
    skipStep: false,
    skipZero: false,
  });
}

/**
 * The state after a batch: tensors released; for a training batch, `iteration` and
 * `numBatch` advance.
 *
 * @param state The state.
 * @returns The new state.
 *
 * @example
 * ```ts
 * import { endBatch, initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s0 = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * const s1 = endBatch(s0);
 * assertEquals([s1.iteration, s1.numBatch], [1, 1]);
 * assertEquals(endBatch({ ...s0, train: false }).iteration, 0);
 * ```
 */
export function endBatch(state: TrainState): TrainState {
  return Object.freeze({
    ...state,
    lastInput: undefined,
    lastTarget: undefined,
    lastOutput: undefined,
    lastLoss: undefined,
    lastCaptures: NO_CAPTURES,
    grads: undefined,
    iteration: state.train ? state.iteration + 1 : state.iteration,
    numBatch: state.train ? state.numBatch + 1 : state.numBatch,
  });
}

/**
 * The state at the end of an epoch's batches, before the onEpochEnd hooks: `lastMetrics`
 * and `metricNames` hold the validation loss and metrics (callbacks may then add theirs).
 *
 * @param state The state.
 * @param lastMetrics Validation loss and metrics.
 * @param metricNames Their names.
 * @returns The new state.
 *
 * @example
 * ```ts
 * import { endEpochBatches, initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s0 = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * const s1 = endEpochBatches(s0, [0.3, 0.9], ["validLoss", "accuracy"]);
 * assertEquals([s1.train, s1.lastMetrics[1]], [false, 0.9]);
 * ```
 */
export function endEpochBatches(
  state: TrainState,
  lastMetrics: readonly number[],
  metricNames: readonly string[],
): TrainState {
  return Object.freeze({
    ...state,
    train: false,
    lastMetrics: Object.isFrozen(lastMetrics) ? lastMetrics : Object.freeze(lastMetrics.slice()),
    metricNames: Object.isFrozen(metricNames) ? metricNames : Object.freeze(metricNames.slice()),
  });
}
