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
  /** No group's lr goes below this. @default {0} */
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
 * Multiplies every layer group's lr by `factor` (ratios between groups kept, none below
 * `minLr`) after more than `patience` consecutive epochs without improvement, then starts
 * counting again (fastai v1 semantics). Pair it with a constant lr: a scheduler that sets
 * the lr every batch overrides it.
 *
 * @param options What to monitor, patience and factor.
 * @returns The callback.
 * @throws {RangeError} If `factor` is not in (0, 1) or `patience` is negative.
 *
 * @example The lr drops after a plateau
 * ```ts
 * import { reduceLROnPlateau } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { type TrainState } from "@fitloop/fitloop";
 * import { assertEquals } from "@std/assert";
 * const cb = reduceLROnPlateau({ factor: 0.5 });
 * const h = { lr: 1, mom: 0, sqrMom: 0, eps: 0, wd: 0 };
 * let s: TrainState = initialState({ nEpochs: 9, hypers: [h], loss: () => { throw 0; } });
 * for (const [epoch, v] of [1, 0.5, 0.6].entries()) {
 *   const u = cb.onEpochEnd!({ ...s, epoch, lastMetrics: [v] }, {}) as
 *     { memory: unknown; hypers?: TrainState["hypers"] };
 *   s = { ...s, memory: { reduceLROnPlateau: u.memory }, hypers: u.hypers ?? s.hypers };
 * }
 * assertEquals(s.hypers[0]!.lr, 0.5);
 * ```
 */
export function reduceLROnPlateau(options: ReduceLROnPlateauOptions = {}): Callback {
  checkOptions("create reduceLROnPlateau", options, REDUCE_LR_OPTIONS);
  const name = options.name ?? "reduceLROnPlateau";
  const { patience = 0, factor = 0.2, minLr = 0 } = options;
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
  const track = tracker(options);
  const initial: ReduceLROnPlateauMemory = { ...track.initial, reducedAt: [] };
  return {
    name,
    setsHypers: { onEpochEnd: ["lr"] },
    monitors: [track.monitor],
    onTrainBegin: (): StateUpdate => ({ memory: initial }),
    onEpochEnd(s: TrainState): StateUpdate {
      const m = memoryOf(s, name, initial);
      const { tracked } = track.step(s, m, name);
      if (tracked.wait <= patience) return { memory: { ...m, ...tracked } };
      return {
        hypers: s.hypers.map((h) => ({ ...h, lr: Math.max(h.lr * factor, minLr) })),
        memory: { ...m, ...tracked, wait: 0, reducedAt: [...m.reducedAt, s.epoch] },
      };
    },
  };
}
