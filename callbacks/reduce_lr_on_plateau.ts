import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { memoryOf } from "../core/callback.ts";
import { type Mode, type Tracked, tracker } from "./tracker.ts";
import { checkOptions } from "../core/_options.ts";

const REDUCE_LR_OPTIONS = ["monitor", "mode", "patience", "factor", "minDelta", "minLr", "name"];

/** Options of {@linkcode reduceLROnPlateau}. */
export interface ReduceLROnPlateauOptions {
  /** Name in `metricNames` to watch. @default {"validLoss"} */
  readonly monitor?: string;
  /** Better is smaller or larger. @default {"min" for loss/error names, else "max"} */
  readonly mode?: Mode;
  /** Epochs without improvement tolerated before reducing. @default {0} */
  readonly patience?: number;
  /** Every group's lr is multiplied by this. @default {0.2} */
  readonly factor?: number;
  /** An epoch improves only if it beats the best by more than this. @default {0} */
  readonly minDelta?: number;
  /**
   * fastai v1's gate: the lr is reduced only while the last layer group's lr (v1's
   * `opt.lr`) is above this; it is not a floor (one reduction may go below it). @default {0.001}
   */
  readonly minLr?: number;
  /** Callback name. @default {"reduceLROnPlateau"} */
  readonly name?: string;
}

/**
 * The memory of {@linkcode reduceLROnPlateau}: the tracker's record (`wait` counts from the
 * last reduction) and the epochs of the reductions.
 */
export interface ReduceLROnPlateauMemory extends Tracked {
  /** Epochs at whose end the lr was reduced. */
  readonly reducedAt: readonly number[];
}

/**
 * fastai v1's `ReduceLROnPlateauCallback` (`fastai/callbacks/tracker.py`): after more than
 * `patience` consecutive epochs without improvement, and only while the lr is above
 * `minLr`, the lr is multiplied by `factor` and the count starts again; while the lr is
 * at or below `minLr` nothing changes and the count goes on. With defaults, 0.01 → 0.002
 * → 0.0004, then no more. An epoch without validation (validation loss NaN) is skipped,
 * as v1 skips one whose validation loss is None. One deliberate difference: every layer group's lr is multiplied
 * (their ratios kept), where v1 sets all groups to the last group's lr times `factor`;
 * the gate reads the last group, as v1's `opt.lr`. Pair it with a constant lr: a
 * scheduler that sets the lr every batch overrides it.
 *
 * @param options What to monitor, patience, factor and minLr.
 * @returns The callback.
 * @throws {RangeError} If `factor` is not in (0, 1), `patience` is negative or `minLr` is
 * negative or not a number.
 *
 * @example A flat validation loss: 0.01, then 0.002, 0.0004, and no more (minLr 0.001)
 * ```ts
 * import { reduceLROnPlateau } from "@fitloop/fitloop/callbacks";
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const run = await dryRun([reduceLROnPlateau()], {
 *   epochs: 5,
 *   batchesPerEpoch: 1,
 *   validLosses: [1, 1, 1, 1, 1],
 *   hypers: [{ lr: 0.01, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 }],
 * });
 * assertEquals(run.history.lrs, [0.01, 0.01, 0.01 * 0.2, 0.01 * 0.2 * 0.2, 0.01 * 0.2 * 0.2]);
 * ```
 */
export function reduceLROnPlateau(options: ReduceLROnPlateauOptions = {}): Callback {
  checkOptions("create reduceLROnPlateau", options, REDUCE_LR_OPTIONS);
  const name = options.name ?? "reduceLROnPlateau";
  const { patience = 0, factor = 0.2, minLr = 0.001 } = options;
  if (!(factor > 0 && factor < 1)) {
    throw new RangeError(
      `Cannot create reduceLROnPlateau as 'factor' must be in (0, 1): current value is ${factor}`,
    );
  }
  if (!(patience >= 0)) {
    throw new RangeError(
      `Cannot create reduceLROnPlateau as 'patience' must be >= 0: current value is ${patience}`,
    );
  }
  if (!(minLr >= 0 && minLr !== Infinity)) {
    throw new RangeError(
      `Cannot create reduceLROnPlateau as 'minLr' must be a finite number >= 0: current value is ${minLr}`,
    );
  }
  const track = tracker(options);
  const initial: ReduceLROnPlateauMemory = { ...track.initial, reducedAt: [] };
  return {
    name,
    setsHypers: { onEpochEnd: ["lr"] },
    monitors: [track.monitor],
    onTrainBegin: (): StateUpdate => ({ memory: initial }),
    onEpochEnd(s: TrainState): StateUpdate {
      const m = memoryOf(s, name, initial);
      const { tracked, skipped } = track.step(s, m, name);
      // v1: get_monitor_value() is None after an epoch without validation: nothing happens
      if (skipped) return { memory: m };
      // v1: `if self.wait > self.patience and self.opt.lr > self.min_lr` (opt.lr: last group)
      const lr = s.hypers[s.hypers.length - 1]?.lr ?? 0;
      if (tracked.wait <= patience || !(lr > minLr)) return { memory: { ...m, ...tracked } };
      return {
        hypers: s.hypers.map((h) => ({ ...h, lr: h.lr * factor })),
        memory: { ...m, ...tracked, wait: 0, reducedAt: [...m.reducedAt, s.epoch] },
      };
    },
  };
}
