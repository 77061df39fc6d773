import type { Callback, StateUpdate } from "./callback.ts";
import { appendLog, emptyLog, type Log, logToArray } from "./log.ts";
import type { TrainState } from "./state.ts";

/** The recorder's memory (`state.memory.recorder`): append-only logs, shared structurally. */
export interface RecorderMemory {
  /** Learning rate of the last layer group for each training batch. */
  readonly lrs: Log<number>;
  /** Momentum of the last layer group for each training batch. */
  readonly moms: Log<number>;
  /** Validation loss per epoch (NaN where validation was skipped). */
  readonly valLosses: Log<number>;
  /** Metrics after the validation loss, per epoch. */
  readonly metrics: Log<readonly number[]>;
  /** Names of those metrics (of the last epoch). */
  readonly metricNames: readonly string[];
  /** Training batches run in each epoch. */
  readonly nBatches: Log<number>;
}

/** What a fit recorded, as plain arrays. */
export interface History {
  /** Smoothed training loss after each training batch. */
  readonly losses: number[];
  /** Learning rate (last layer group) of each training batch. */
  readonly lrs: number[];
  /** Momentum (last layer group) of each training batch. */
  readonly moms: number[];
  /** Validation loss per epoch. */
  readonly valLosses: number[];
  /** Metrics per epoch (`metricNames` order). */
  readonly metrics: number[][];
  /** Names of the metrics. */
  readonly metricNames: string[];
  /** Training batches per epoch. */
  readonly nBatches: number[];
}

const EMPTY: RecorderMemory = Object.freeze({
  lrs: emptyLog<number>(),
  moms: emptyLog<number>(),
  valLosses: emptyLog<number>(),
  metrics: emptyLog<readonly number[]>(),
  metricNames: [],
  nBatches: emptyLog<number>(),
});

function _mem(state: TrainState): RecorderMemory {
  return (state.memory.recorder as RecorderMemory | undefined) ?? EMPTY;
}

/**
 * The recorder (always on in `fit`): logs the lr and momentum each training batch used,
 * and the validation loss, metrics and batch count of each epoch. It runs last
 * (`order` 1000) so that it sees the hyper-parameters the step really used and the
 * metrics every callback added.
 *
 * @returns The callback.
 *
 * @example Recording one batch by hand
 * ```ts
 * import { historyOf } from "@fitloop/fitloop";
 * import { initialState, recorder } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const rec = recorder();
 * let s = initialState({
 *   nEpochs: 1,
 *   hypers: [{ lr: 0.1, mom: 0.9, sqrMom: 0, eps: 0, wd: 0 }],
 *   loss: () => { throw new Error(); },
 * });
 * const run = (hook: typeof rec.onTrainBegin): void => {
 *   const update = hook!(s, {}) as { memory: unknown };
 *   s = { ...s, memory: { recorder: update.memory } };
 * };
 * run(rec.onTrainBegin);
 * run(rec.onBackwardEnd);
 * assertEquals(historyOf(s).lrs, [0.1]);
 * ```
 */
export function recorder(): Callback {
  return {
    name: "recorder",
    order: 1000,
    onTrainBegin: (): StateUpdate => ({ memory: EMPTY }),
    onBackwardEnd(state: TrainState): StateUpdate {
      const m = _mem(state);
      const h = state.hypers[state.hypers.length - 1];
      return {
        memory: {
          ...m,
          lrs: appendLog(m.lrs, h?.lr ?? NaN),
          moms: appendLog(m.moms, h?.mom ?? NaN),
        },
      };
    },
    onEpochEnd(state: TrainState): StateUpdate {
      const m = _mem(state);
      return {
        memory: {
          ...m,
          valLosses: appendLog(m.valLosses, state.lastMetrics[0] ?? NaN),
          metrics: appendLog(m.metrics, state.lastMetrics.slice(1)),
          metricNames: state.metricNames.slice(1),
          nBatches: appendLog(m.nBatches, state.numBatch),
        },
      };
    },
  };
}

/**
 * The history of a run, from its state (the recorder's memory and the smoothed losses).
 *
 * @param state A state after (or during) a fit.
 * @returns The history as plain arrays.
 *
 * @example Empty before training
 * ```ts
 * import { historyOf } from "@fitloop/fitloop";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const s = initialState({ nEpochs: 1, hypers: [], loss: () => { throw new Error(); } });
 * assertEquals(historyOf(s).losses, []);
 * ```
 */
export function historyOf(state: TrainState): History {
  const m = _mem(state);
  return {
    losses: logToArray(state.smoothLosses),
    lrs: logToArray(m.lrs),
    moms: logToArray(m.moms),
    valLosses: logToArray(m.valLosses),
    metrics: logToArray(m.metrics).map((row) => row.slice()),
    metricNames: m.metricNames.slice(),
    nBatches: logToArray(m.nBatches),
  };
}
