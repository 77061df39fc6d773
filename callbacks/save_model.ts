import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { memoryOf } from "../core/callback.ts";
import { type Mode, type Tracked, tracker } from "./tracker.ts";
import { loadWeightsInto, saveModelTo } from "../core/model_io.ts";
import { checkOptions, show } from "../core/_options.ts";

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

/** The memory of {@linkcode saveModel}: the tracker's record (`bestEpoch`: the saved one). */
export type SaveModelMemory = Tracked;

/**
 * Saves the model during training (fastai's SaveModelCallback) with
 * {@linkcode saveModelTo}; with `every: "improvement"` the best weights are put back into
 * the model when training ends, also after an error. Needs file permissions.
 *
 * @param options Directory, monitor and when to save.
 * @returns The callback.
 * @throws {TypeError} If an option is unknown or `dir` is not a path.
 * @throws {RangeError} If `every` or `mode` is not one of its values. When a fit starts,
 * `fit` refuses (with `every: "improvement"`) a monitor that is not one of its metrics,
 * and a validation metric in a fit without validation data.
 *
 * @example
 * ```ts
 * import { saveModel } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * assertEquals(saveModel({ dir: "runs/best" }).name, "saveModel");
 * ```
 */
export function saveModel(options: SaveModelOptions): Callback {
  checkOptions("create saveModel", options, ["dir", "monitor", "mode", "every", "name"], "{ dir }");
  const { dir, every = "improvement" } = options ?? {};
  if (typeof dir !== "string" || dir === "") {
    throw new TypeError(
      `Cannot create saveModel as 'dir' must be a directory path: current value is ${show(dir)}`,
    );
  }
  if (every !== "improvement" && every !== "epoch") {
    throw new RangeError(
      `Cannot create saveModel as 'every' must be "improvement" or "epoch": current value is ${
        show(every)
      }`,
    );
  }
  const name = options.name ?? "saveModel";
  const track = tracker({ ...options, minDelta: 0 }, "saveModel");
  const initial: SaveModelMemory = track.initial;
  return {
    name,
    ...(every === "improvement" ? { monitors: [track.monitor] } : {}),
    onTrainBegin: (): StateUpdate => ({ memory: initial }),
    async onEpochEnd(s: TrainState, ctx): Promise<StateUpdate | void> {
      const model = ctx.learner?.model;
      if (every === "epoch") {
        if (model) await saveModelTo(model, `${dir}/epoch_${s.epoch}`);
        return;
      }
      const { tracked, improved } = track.step(s, memoryOf(s, name, initial), name);
      if (improved && model) await saveModelTo(model, dir);
      return { memory: tracked };
    },
    async onTrainEnd(s: TrainState, ctx): Promise<void> {
      const model = ctx.learner?.model;
      if (every !== "improvement" || !model) return;
      if (memoryOf(s, name, initial).bestEpoch < 0) return;
      await loadWeightsInto(model, dir);
    },
  };
}
