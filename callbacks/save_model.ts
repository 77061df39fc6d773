import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { _improved, _memoryOf, _modeFor, _monitored, _worst, type Mode } from "./_tracker.ts";
import { loadWeightsInto, saveModelTo } from "../core/model_io.ts";

/** Options of {@linkcode saveModel}. */
export interface SaveModelOptions {
  /** Where to save. */
  readonly dir: string;
  /** Name in `metricNames` to watch (with `every: "improvement"`). @default {"validLoss"} */
  readonly monitor?: string;
  /** Better is smaller or larger. @default {"min" for loss/error names, else "max"} */
  readonly mode?: Mode;
  /**
   * "improvement": save to `dir` whenever the monitored value improves, and load the
   * best weights back when training ends (also after an error); "epoch": save every epoch
   * to `dir/epoch_<n>`. @default {"improvement"}
   */
  readonly every?: "improvement" | "epoch";
  /** Callback name. @default {"saveModel"} */
  readonly name?: string;
}

/** The memory of {@linkcode saveModel}. */
export interface SaveModelMemory {
  /** Best monitored value so far. */
  readonly best: number;
  /** Epoch of the saved best, or -1. */
  readonly bestEpoch: number;
}

/**
 * Saves the model during training (fastai's SaveModelCallback) with
 * {@linkcode saveModelTo}; with `every: "improvement"` the best weights are put back into
 * the model when training ends, also after an error. Needs file permissions.
 *
 * @param options Directory, monitor and when to save.
 * @returns The callback.
 *
 * @example
 * ```ts
 * import { saveModel } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * assertEquals(saveModel({ dir: "runs/best" }).name, "saveModel");
 * ```
 */
export function saveModel(options: SaveModelOptions): Callback {
  const { dir, every = "improvement" } = options;
  const name = options.name ?? "saveModel";
  const monitor = options.monitor ?? "validLoss";
  const mode = _modeFor(monitor, options.mode);
  const initial: SaveModelMemory = { best: _worst(mode), bestEpoch: -1 };
  return {
    name,
    onTrainBegin: (): StateUpdate => ({ memory: initial }),
    async onEpochEnd(s: TrainState, ctx): Promise<StateUpdate | void> {
      const model = ctx.learner?.model;
      if (every === "epoch") {
        if (model) await saveModelTo(model, `${dir}/epoch_${s.epoch}`);
        return;
      }
      const m = _memoryOf(s, name, initial);
      const value = _monitored(s, monitor, name);
      if (!_improved(value, m.best, mode, 0)) return;
      if (model) await saveModelTo(model, dir);
      return { memory: { best: value, bestEpoch: s.epoch } };
    },
    async onTrainEnd(s: TrainState, ctx): Promise<void> {
      const model = ctx.learner?.model;
      if (every !== "improvement" || !model) return;
      if (_memoryOf(s, name, initial).bestEpoch < 0) return;
      await loadWeightsInto(model, dir);
    },
  };
}
